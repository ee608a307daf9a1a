package jid_test

import (
	"errors"
	"testing"

	"github.com/parleyim/parley/internal/jid"
)

// FuzzParse checks that Parse never panics, that every error wraps
// ErrMalformed, and that a parsed JID survives a round trip through String
// and New unchanged (preparation is idempotent). Further seeds live in
// testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"alice@localhost/phone",
		"juliet@example.com/foo bar",
		"Σ@example.com/foo",
		"fußball@example.com",
		"a.example.com/b@example.net",
		"[::1]",
		"例え。テスト",
		"ＪＵＬＩＥＴ@ｅｘａｍｐｌｅ．ｃｏｍ/\u3000x",
		"example.com.",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		j, err := jid.Parse(s)
		if err != nil {
			if !errors.Is(err, jid.ErrMalformed) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrMalformed", s, err)
			}
			if !j.IsZero() {
				t.Fatalf("Parse(%q) returned %q with error", s, j)
			}
			return
		}
		if j.IsZero() || j.Domain() == "" {
			t.Fatalf("Parse(%q) succeeded without domain", s)
		}
		for _, p := range []string{j.Local(), j.Domain(), j.Resource()} {
			if len(p) > jid.MaxPartLen {
				t.Fatalf("Parse(%q): part of %d bytes", s, len(p))
			}
		}
		str := j.String()
		j2, err := jid.Parse(str)
		if err != nil {
			t.Fatalf("Parse(%q) = %q, which does not parse: %v", s, str, err)
		}
		if j2 != j {
			t.Fatalf("Parse(%q) = %+q; reparsed as %+q", s, []string{j.Local(), j.Domain(), j.Resource()}, []string{j2.Local(), j2.Domain(), j2.Resource()})
		}
		if j2.String() != str {
			t.Fatalf("String not stable: %q vs %q", str, j2.String())
		}
		j3, err := jid.New(j.Local(), j.Domain(), j.Resource())
		if err != nil || j3 != j {
			t.Fatalf("New(parts of %q) = %q, %v", str, j3, err)
		}
		if b, err := jid.Parse(j.BareString()); err != nil || b != j.Bare() {
			t.Fatalf("BareString %q reparsed as %q, %v", j.BareString(), b, err)
		}
	})
}

// FuzzFastPath checks the ASCII fast paths against the full preparation on
// arbitrary input.
func FuzzFastPath(f *testing.F) {
	for _, s := range []string{"", "alice", "Alice", "a b", "a.b-c", "-a", "a..b", "\x7f", "[::1]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkFastPaths(t, s)
	})
}
