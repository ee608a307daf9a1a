package xmlstream_test

import (
	"io"
	"testing"

	"github.com/parleyim/parley/internal/xmlstream"
)

// benchStanza is a typical one-to-one chat message as a server routes it
// (339 bytes): addresses, id, lang, a body, a thread, a chat-state
// notification and a receipt request.
const benchStanza = `<message xmlns='jabber:client' from='juliet@capulet.example/balcony' to='romeo@montague.example' type='chat' id='ktx72v49' xml:lang='en'>` +
	`<body>Art thou not Romeo, and a Montague? Wherefore art thou Romeo?</body><thread>e0ffe42b28</thread>` +
	`<active xmlns='http://jabber.org/protocol/chatstates'/><request xmlns='urn:xmpp:receipts'/></message>`

const benchHeader = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='capulet.example' version='1.0'>`

// repeatReader yields the stanza again and again, as a busy stream does.
type repeatReader struct {
	b   []byte
	off int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.b[r.off:])
		n += c
		r.off = (r.off + c) % len(r.b)
	}
	return n, nil
}

func newBenchDecoder(b *testing.B) *xmlstream.Decoder {
	b.Helper()
	r := io.MultiReader(stringReader(benchHeader), &repeatReader{b: []byte(benchStanza)})
	d := xmlstream.NewDecoder(r, xmlstream.Limits{})
	if _, err := d.ReadStreamStart(); err != nil {
		b.Fatal(err)
	}
	return d
}

type stringReaderT struct{ s string }

func stringReader(s string) io.Reader { return &stringReaderT{s} }

func (r *stringReaderT) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	n := copy(p, r.s)
	r.s = r.s[n:]
	return n, nil
}

// BenchmarkDecodeMessage tokenizes and builds one message stanza from a
// stream.
func BenchmarkDecodeMessage(b *testing.B) {
	d := newBenchDecoder(b)
	b.SetBytes(int64(len(benchStanza)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Next(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeMessage serialises the decoded message stanza into a
// reused buffer, as a session's writer does.
func BenchmarkEncodeMessage(b *testing.B) {
	el, err := newBenchDecoder(b).Next()
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 1024)
	b.SetBytes(int64(len(benchStanza)))
	b.ReportAllocs()
	for b.Loop() {
		buf = el.Append(buf[:0], "jabber:client")
	}
}

// BenchmarkDecodeEncodeMessage is the round trip a routed message costs a
// server: decode from one stream, serialise for another.
func BenchmarkDecodeEncodeMessage(b *testing.B) {
	d := newBenchDecoder(b)
	buf := make([]byte, 0, 1024)
	b.SetBytes(int64(len(benchStanza)))
	b.ReportAllocs()
	for b.Loop() {
		el, err := d.Next()
		if err != nil {
			b.Fatal(err)
		}
		buf = el.Append(buf[:0], "jabber:client")
	}
}
