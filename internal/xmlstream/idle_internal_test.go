package xmlstream

import (
	"errors"
	"testing"
)

// scripted returns its chunks one per Read, then errWait.
type scripted struct{ chunks []string }

var errWait = errors.New("would wait")

func (s *scripted) Read(p []byte) (int, error) {
	if len(s.chunks) == 0 {
		return 0, errWait
	}
	n := copy(p, s.chunks[0])
	s.chunks[0] = s.chunks[0][n:]
	if s.chunks[0] == "" {
		s.chunks = s.chunks[1:]
	}
	return n, nil
}

// A decoder waiting between stanzas holds no read buffer, also after a
// whitespace keepalive broke its wait, and says it is idle; a Read error
// then leaves it ready to go on.
func TestIdleAfterKeepalive(t *testing.T) {
	r := &scripted{chunks: []string{"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>", "<message/>"}}
	d := NewDecoder(r, Limits{})
	if _, err := d.ReadStreamStart(); err != nil {
		t.Fatal(err)
	}
	if el, err := d.Next(); err != nil || el.Name.Local != "message" {
		t.Fatalf("first stanza: %v %v", el, err)
	}
	for i, more := range []string{"", " \n ", "\t"} {
		if more != "" {
			r.chunks = append(r.chunks, more)
		}
		if _, err := d.Next(); !errors.Is(err, errWait) {
			t.Fatalf("round %d: %v, want the reader's error", i, err)
		}
		if !d.Idle() || d.buf != nil {
			t.Fatalf("round %d: idle %v, holding a buffer of %d bytes", i, d.Idle(), len(d.buf))
		}
	}
	r.chunks = append(r.chunks, "<iq type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>")
	if el, err := d.Next(); err != nil || el.Name.Local != "iq" {
		t.Fatalf("after the waits: %v %v", el, err)
	}
	if d.Idle() {
		t.Fatal("idle right after a stanza, before waiting")
	}
}
