package jid_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"golang.org/x/text/secure/precis"

	"github.com/parleyim/parley/internal/jid"
)

// checkFastPaths verifies that, wherever an ASCII fast path accepts s, its
// result is exactly what the full preparation produces: PRECIS itself for the
// local- and resourcepart, the general domain mapping for the domainpart.
// It also checks that the fast paths cover every ASCII input the full
// preparation accepts unchanged or merely lower-cased, so the fast paths are
// actually taken for ordinary addresses.
func checkFastPaths(t *testing.T, s string) {
	t.Helper()
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
		}
	}

	if out, ok := jid.FastLocal(s); ok {
		want, err := precis.UsernameCaseMapped.String(s)
		if err != nil || out != want {
			t.Fatalf("local %q: fast path %q, precis %q, %v", s, out, want, err)
		}
	} else if ascii {
		if want, err := precis.UsernameCaseMapped.String(s); err == nil && !strings.ContainsAny(want, `"&'/:<>@`) {
			t.Fatalf("local %q: fast path declined, precis accepts as %q", s, want)
		}
	}

	if out, ok := jid.FastResource(s); ok {
		want, err := precis.OpaqueString.String(s)
		if s == "" {
			// OpaqueString rejects the empty string; prepResource
			// rejects it before consulting the fast path.
			if err == nil {
				t.Fatalf("resource %q: precis accepted empty string", s)
			}
		} else if err != nil || out != want {
			t.Fatalf("resource %q: fast path %q, precis %q, %v", s, out, want, err)
		}
	} else if ascii {
		if want, err := precis.OpaqueString.String(s); err == nil {
			t.Fatalf("resource %q: fast path declined, precis accepts as %q", s, want)
		}
	}

	if s != "" && !strings.HasSuffix(s, ".") { // prepDomain strips the dot first
		if out, ok := jid.FastDomain(s); ok {
			want, err := jid.SlowDomain(s)
			if err != nil || out != want {
				t.Fatalf("domain %q: fast path %q, slow path %q, %v", s, out, want, err)
			}
		} else if ascii && s[0] != '[' {
			if want, err := jid.SlowDomain(s); err == nil {
				t.Fatalf("domain %q: fast path declined, slow path accepts as %q", s, want)
			}
		}
	}
}

// TestFastPathEquivalence enumerates all ASCII strings of up to two bytes,
// all three-byte strings over a set of interesting bytes, and a large number
// of random ASCII strings.
func TestFastPathEquivalence(t *testing.T) {
	t.Run("exhaustive up to 2 bytes", func(t *testing.T) {
		checkFastPaths(t, "")
		for a := 0; a < 0x80; a++ {
			checkFastPaths(t, string(rune(a)))
			for b := 0; b < 0x80; b++ {
				checkFastPaths(t, string([]byte{byte(a), byte(b)}))
			}
		}
	})

	interesting := []byte("aZ09-. @/\\\"&'<>:!~_\x00\x1f\x7f\t")
	t.Run("exhaustive 3 bytes over interesting set", func(t *testing.T) {
		for _, a := range interesting {
			for _, b := range interesting {
				for _, c := range interesting {
					checkFastPaths(t, string([]byte{a, b, c}))
				}
			}
		}
	})

	t.Run("random", func(t *testing.T) {
		n := 200000
		if testing.Short() {
			n = 20000
		}
		rng := rand.New(rand.NewPCG(1, 2))
		buf := make([]byte, 0, 40)
		for range n {
			buf = buf[:0]
			l := rng.IntN(40)
			for range l {
				if rng.IntN(4) == 0 {
					buf = append(buf, interesting[rng.IntN(len(interesting))])
				} else {
					buf = append(buf, byte(rng.IntN(0x80)))
				}
			}
			checkFastPaths(t, string(buf))
		}
	})
}
