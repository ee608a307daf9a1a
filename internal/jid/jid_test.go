package jid_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/jid"
)

type parts struct{ local, domain, resource string }

func partsOf(j jid.JID) parts { return parts{j.Local(), j.Domain(), j.Resource()} }

// TestParseRFC7622Examples covers the examples of RFC 7622 §3.5.
func TestParseRFC7622Examples(t *testing.T) {
	valid := []struct {
		name string
		in   string
		want parts
	}{
		{"bare", "juliet@example.com", parts{"juliet", "example.com", ""}},
		{"full", "juliet@example.com/foo", parts{"juliet", "example.com", "foo"}},
		{"resource with space", "juliet@example.com/foo bar", parts{"juliet", "example.com", "foo bar"}},
		{"resource with at", "juliet@example.com/foo@bar", parts{"juliet", "example.com", "foo@bar"}},
		{"escaped space in local", `foo\20bar@example.com`, parts{`foo\20bar`, "example.com", ""}},
		{"fussball", "fussball@example.com", parts{"fussball", "example.com", ""}},
		{"sharp s", "fußball@example.com", parts{"fußball", "example.com", ""}},
		{"pi", "π@example.com", parts{"π", "example.com", ""}},
		{"capital sigma", "Σ@example.com/foo", parts{"σ", "example.com", "foo"}},
		{"small sigma", "σ@example.com/foo", parts{"σ", "example.com", "foo"}},
		{"final sigma", "ς@example.com/foo", parts{"ς", "example.com", "foo"}},
		{"black king resource", "King@example.com/♚", parts{"king", "example.com", "♚"}},
		{"domain only", "example.com", parts{"", "example.com", ""}},
		{"domain with resource", "example.com/foobar", parts{"", "example.com", "foobar"}},
		{"resource looks like jid", "a.example.com/b@example.net", parts{"", "a.example.com", "b@example.net"}},
	}
	for _, tc := range valid {
		t.Run("valid/"+tc.name, func(t *testing.T) {
			j, err := jid.Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if got := partsOf(j); got != tc.want {
				t.Fatalf("Parse(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}

	invalid := []struct{ name, in string }{
		{"quoted local", `"juliet"@example.com`},
		{"space in local", "foo bar@example.com"},
		{"empty resource", "juliet@example.com/"},
		{"empty local and resource", "@example.com/"},
		{"roman numeral four", "henry\u2163@example.com"},
		{"black king local", "♚@example.com"},
		{"empty domain", "juliet@"},
		{"no domain", "/foobar"},
	}
	for _, tc := range invalid {
		t.Run("invalid/"+tc.name, func(t *testing.T) {
			j, err := jid.Parse(tc.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want error", tc.in, partsOf(j))
			}
			if !errors.Is(err, jid.ErrMalformed) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrMalformed", tc.in, err)
			}
			if !j.IsZero() {
				t.Fatalf("Parse(%q) returned non-zero JID %+v with error", tc.in, partsOf(j))
			}
		})
	}
}

func TestParse(t *testing.T) {
	valid := []struct {
		name string
		in   string
		want parts
	}{
		{"typical", "alice@localhost/phone", parts{"alice", "localhost", "phone"}},
		{"uppercase domain", "EXAMPLE.Com", parts{"", "example.com", ""}},
		{"uppercase everywhere", "JULIET@Example.COM/Foo", parts{"juliet", "example.com", "Foo"}},
		{"trailing dot", "example.com.", parts{"", "example.com", ""}},
		{"trailing dot with parts", "juliet@example.com./res", parts{"juliet", "example.com", "res"}},
		{"ipv4", "juliet@127.0.0.1/r", parts{"juliet", "127.0.0.1", "r"}},
		{"ipv6 loopback", "juliet@[::1]/r", parts{"juliet", "[::1]", "r"}},
		{"ipv6 canonicalised", "[0:0:0:0:0:0:0:1]", parts{"", "[::1]", ""}},
		{"ipv6 lower-cased", "[FE80::ABCD]", parts{"", "[fe80::abcd]", ""}},
		{"ipv6 v4-mapped", "[::ffff:192.0.2.1]", parts{"", "[::ffff:192.0.2.1]", ""}},
		{"ipv6 trailing dot", "[::1].", parts{"", "[::1]", ""}},
		{"hyphen inside label", "x-1.example-host.com", parts{"", "x-1.example-host.com", ""}},
		{"idn", "bücher.example", parts{"", "bücher.example", ""}},
		{"idn uppercase", "BÜCHER.example", parts{"", "bücher.example", ""}},
		{"idn decomposed", "bu\u0308cher.example", parts{"", "bücher.example", ""}},
		{"idn cjk", "例え.テスト", parts{"", "例え.テスト", ""}},
		{"ideographic full stop", "例え。テスト", parts{"", "例え.テスト", ""}},
		{"fullwidth domain", "ｅｘａｍｐｌｅ．ＣＯＭ", parts{"", "example.com", ""}},
		{"devanagari with marks", "हिन्दी.example", parts{"", "हिन्दी.example", ""}},
		{"fullwidth local", "ＪＵＬＩＥＴ@example.com", parts{"juliet", "example.com", ""}},
		{"local punctuation", "a!#$%*+=?^_`{|}~-.@example.com", parts{"a!#$%*+=?^_`{|}~-.", "example.com", ""}},
		{"resource slash", "example.com//a/b", parts{"", "example.com", "/a/b"}},
		{"resource nbsp mapped", "juliet@example.com/foo\u00a0bar", parts{"juliet", "example.com", "foo bar"}},
		{"resource keeps case", "juliet@example.com/ÄÖÜ", parts{"juliet", "example.com", "ÄÖÜ"}},
		{"resource leading space", "juliet@example.com/ foo", parts{"juliet", "example.com", " foo"}},
		{"resource decomposed", "juliet@example.com/e\u0301", parts{"juliet", "example.com", "é"}},
	}
	for _, tc := range valid {
		t.Run("valid/"+tc.name, func(t *testing.T) {
			j, err := jid.Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if got := partsOf(j); got != tc.want {
				t.Fatalf("Parse(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}

	invalid := []struct{ name, in string }{
		{"empty", ""},
		{"only at", "@"},
		{"only slash", "/"},
		{"dot", "."},
		{"two trailing dots", "example.com.."},
		{"empty label", "a..b"},
		{"leading dot", ".example.com"},
		{"leading hyphen", "-example.com"},
		{"trailing hyphen", "example-.com"},
		{"underscore in domain", "exam_ple.com"},
		{"space in domain", "exa mple.com"},
		{"bang in domain", "ex!ample.com"},
		{"nul in domain", "ex\x00ample.com"},
		{"second at", "a@b@example.com"},
		{"bare ipv6", "::1"},
		{"unclosed ipv6", "[::1"},
		{"empty brackets", "[]"},
		{"ipv4 in brackets", "[192.0.2.1]"},
		{"ipv6 zone", "[fe80::1%eth0]"},
		{"symbol in domain", "♚.example"},
		{"leading combining mark", "\u0308a.example"},
		{"invalid utf8 domain", "ex\xffample.com"},
		{"invalid utf8 local", "ju\xffliet@example.com"},
		{"invalid utf8 resource", "juliet@example.com/fo\xffo"},
		{"ampersand local", "a&b@example.com"},
		{"apostrophe local", "o'hara@example.com"},
		{"colon local", "a:b@example.com"},
		{"angle local", "<a>@example.com"},
		{"fullwidth at in local", "a\uff20b@example.com"},
		{"control in local", "a\x07b@example.com"},
		{"control in resource", "juliet@example.com/a\x07b"},
		{"del in resource", "juliet@example.com/a\x7fb"},
		{"empty local", "@example.com"},
	}
	for _, tc := range invalid {
		t.Run("invalid/"+tc.name, func(t *testing.T) {
			j, err := jid.Parse(tc.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want error", tc.in, partsOf(j))
			}
			if !errors.Is(err, jid.ErrMalformed) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrMalformed", tc.in, err)
			}
		})
	}
}

func TestLengthLimits(t *testing.T) {
	// domain builds a host name of exactly n bytes out of DNS-sized labels.
	domain := func(n int) string {
		s := strings.Repeat(strings.Repeat("a", 63)+".", n/64+1)[:n]
		if strings.HasSuffix(s, ".") {
			s = s[:n-1] + "b"
		}
		return s
	}
	max := jid.MaxPartLen
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"local max", strings.Repeat("a", max) + "@example.com", true},
		{"local too long", strings.Repeat("a", max+1) + "@example.com", false},
		{"local max non-ascii", strings.Repeat("π", max/2) + "@example.com", true},
		{"local too long non-ascii", strings.Repeat("π", max/2+1) + "@example.com", false},
		{"local max after width folding", strings.Repeat("Ａ", max) + "@example.com", true},
		{"local too long after width folding", strings.Repeat("Ａ", max+1) + "@example.com", false},
		{"local uppercase max", strings.Repeat("A", max) + "@example.com", true},
		{"domain max", domain(max), true},
		{"domain too long", domain(max + 1), false},
		{"domain max plus trailing dot", domain(max) + ".", true},
		{"domain too long non-ascii", strings.Repeat("ü", max/2) + "a.b", false},
		{"domain max after width folding", strings.Repeat("ａ", max), true},
		{"domain too long after width folding", strings.Repeat("ａ", max+1), false},
		{"resource max", "example.com/" + strings.Repeat("r", max), true},
		{"resource too long", "example.com/" + strings.Repeat("r", max+1), false},
		{"resource too long non-ascii", "example.com/" + strings.Repeat("é", max/2+1), false},
		{"resource way too long", "example.com/" + strings.Repeat("r", 1<<20), false},
		{"all parts max", strings.Repeat("l", max) + "@" + domain(max) + "/" + strings.Repeat("r", max), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j, err := jid.Parse(tc.in)
			if tc.ok && err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !tc.ok {
				if err == nil {
					t.Fatalf("Parse succeeded with parts of %d/%d/%d bytes", len(j.Local()), len(j.Domain()), len(j.Resource()))
				}
				if !errors.Is(err, jid.ErrMalformed) {
					t.Fatalf("error %v does not wrap ErrMalformed", err)
				}
				if !strings.Contains(err.Error(), "too long") {
					t.Fatalf("error %q does not mention the length", err)
				}
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	_, err := jid.Parse(strings.Repeat("a", 1024) + "@example.com")
	if got, want := err.Error(), "jid: localpart too long: malformed"; got != want {
		t.Fatalf("error = %q, want %q", got, want)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name                    string
		local, domain, resource string
		want                    string
		ok                      bool
	}{
		{"full", "Juliet", "Example.COM", "Balcony", "juliet@example.com/Balcony", true},
		{"domain only", "", "example.com", "", "example.com", true},
		{"no local", "", "example.com", "r", "example.com/r", true},
		{"resource with slash", "a", "example.com", "x/y@z", "a@example.com/x/y@z", true},
		{"at in local", "a@b", "example.com", "", "", false},
		{"slash in local", "a/b", "example.com", "", "", false},
		{"empty domain", "a", "", "r", "", false},
		{"all empty", "", "", "", "", false},
		{"slash in domain", "", "example.com/x", "", "", false},
		{"at in domain", "", "a@example.com", "", "", false},
		{"bad resource", "a", "example.com", "\x00", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j, err := jid.New(tc.local, tc.domain, tc.resource)
			if !tc.ok {
				if err == nil {
					t.Fatalf("New succeeded: %q", j)
				}
				if !errors.Is(err, jid.ErrMalformed) {
					t.Fatalf("error %v does not wrap ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if j.String() != tc.want {
				t.Fatalf("New = %q, want %q", j, tc.want)
			}
			if j != jid.MustParse(tc.want) {
				t.Fatalf("New result differs from MustParse(%q)", tc.want)
			}
		})
	}
}

func TestMethods(t *testing.T) {
	full := jid.MustParse("juliet@example.com/balcony")
	bare := jid.MustParse("juliet@example.com")
	dom := jid.MustParse("example.com")
	domRes := jid.MustParse("example.com/res")
	var zero jid.JID

	tests := []struct {
		name                     string
		j                        jid.JID
		str, bareStr             string
		isZero, isBare, isDomain bool
		wantBare, wantDomainJID  jid.JID
	}{
		{"full", full, "juliet@example.com/balcony", "juliet@example.com", false, false, false, bare, dom},
		{"bare", bare, "juliet@example.com", "juliet@example.com", false, true, false, bare, dom},
		{"domain", dom, "example.com", "example.com", false, true, true, dom, dom},
		{"domain with resource", domRes, "example.com/res", "example.com", false, false, false, dom, dom},
		{"zero", zero, "", "", true, false, false, zero, zero},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.j.String(); got != tc.str {
				t.Errorf("String = %q, want %q", got, tc.str)
			}
			if got := tc.j.BareString(); got != tc.bareStr {
				t.Errorf("BareString = %q, want %q", got, tc.bareStr)
			}
			if got := tc.j.IsZero(); got != tc.isZero {
				t.Errorf("IsZero = %v", got)
			}
			if got := tc.j.IsBare(); got != tc.isBare {
				t.Errorf("IsBare = %v", got)
			}
			if got := tc.j.IsDomain(); got != tc.isDomain {
				t.Errorf("IsDomain = %v", got)
			}
			if got := tc.j.Bare(); got != tc.wantBare {
				t.Errorf("Bare = %q, want %q", got, tc.wantBare)
			}
			if got := tc.j.DomainJID(); got != tc.wantDomainJID {
				t.Errorf("DomainJID = %q, want %q", got, tc.wantDomainJID)
			}
			if !tc.j.Equal(tc.j) {
				t.Errorf("Equal(self) = false")
			}
		})
	}

	t.Run("equal after normalisation", func(t *testing.T) {
		a := jid.MustParse("JULIET@EXAMPLE.COM./balcony")
		if a != full || !a.Equal(full) {
			t.Fatalf("%q != %q", a, full)
		}
		if full.Equal(bare) {
			t.Fatal("full JID equals bare JID")
		}
	})
}

func TestWithResource(t *testing.T) {
	base := jid.MustParse("juliet@example.com/old")
	tests := []struct {
		name string
		j    jid.JID
		r    string
		want string
		ok   bool
	}{
		{"replace", base, "new", "juliet@example.com/new", true},
		{"prepared", base, "a\u00a0b", "juliet@example.com/a b", true},
		{"empty gives bare", base, "", "juliet@example.com", true},
		{"on domain", jid.MustParse("example.com"), "r", "example.com/r", true},
		{"invalid", base, "a\x00", "", false},
		{"too long", base, strings.Repeat("r", 1024), "", false},
		{"on zero", jid.JID{}, "r", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j, err := tc.j.WithResource(tc.r)
			if !tc.ok {
				if err == nil || !errors.Is(err, jid.ErrMalformed) {
					t.Fatalf("WithResource(%q) = %q, %v; want ErrMalformed", tc.r, j, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("WithResource(%q): %v", tc.r, err)
			}
			if j.String() != tc.want {
				t.Fatalf("WithResource(%q) = %q, want %q", tc.r, j, tc.want)
			}
		})
	}
	if base.String() != "juliet@example.com/old" {
		t.Fatal("WithResource modified its receiver")
	}
}

func TestMustParsePanics(t *testing.T) {
	defer func() {
		r := recover()
		err, ok := r.(error)
		if !ok || !errors.Is(err, jid.ErrMalformed) {
			t.Fatalf("recovered %v, want an error wrapping ErrMalformed", r)
		}
	}()
	jid.MustParse("@")
}

func TestAllocations(t *testing.T) {
	tests := []struct {
		name string
		max  float64
		f    func()
	}{
		{"Parse fast path", 0, func() { _, _ = jid.Parse("alice@localhost/phone") }},
		{"String domain", 0, func() { _ = jid.MustParse("example.com").String() }},
		{"String full", 1, func() { _ = jid.MustParse("alice@localhost/phone").String() }},
		{"BareString", 1, func() { _ = jid.MustParse("alice@localhost/phone").BareString() }},
		{"Bare", 0, func() { _ = jid.MustParse("alice@localhost/phone").Bare() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, tc.f); n > tc.max {
				t.Fatalf("%v allocations, want at most %v", n, tc.max)
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := jid.Parse("alice@localhost/phone"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseNonASCII(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := jid.Parse("Σtéphane@bücher.example/Téléphone"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkString(b *testing.B) {
	j := jid.MustParse("alice@localhost/phone")
	b.ReportAllocs()
	for b.Loop() {
		_ = j.String()
	}
}
