package jid_test

import (
	"testing"

	"github.com/parleyim/parley/internal/jid"
)

// The benchmarks beside jid_test.go's BenchmarkParse: a full JID with
// a longer domain, as the 'to' and 'from' of routed stanzas are.

// BenchmarkParseFull parses a full JID in ASCII, the common case on the
// stanza path.
func BenchmarkParseFull(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := jid.Parse("juliet@capulet.example/balcony"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseFullUnicode parses a full JID that needs PRECIS mapping
// (upper case and non-ASCII letters).
func BenchmarkParseFullUnicode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := jid.Parse("Jülïet@Capulet.example/Balcón"); err != nil {
			b.Fatal(err)
		}
	}
}
