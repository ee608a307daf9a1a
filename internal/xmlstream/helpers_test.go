package xmlstream_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/xmlstream"
)

const (
	nsClient = "jabber:client"
	nsStream = "http://etherx.jabber.org/streams"

	// header is a client stream header as sent by real clients.
	header = `<?xml version='1.0'?>` +
		`<stream:stream to='example.com' version='1.0' xml:lang='en'` +
		` xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`
)

// condOf returns the stream error condition of err, or "" if err is not a
// *SyntaxError.
func condOf(err error) string {
	var se *xmlstream.SyntaxError
	if errors.As(err, &se) {
		return se.Cond
	}
	return ""
}

// decodeAll reads the stream header and then every stanza until Next
// fails, returning the stanzas and the error that stopped it.
func decodeAll(r io.Reader, lim xmlstream.Limits) ([]*xmlstream.Element, error) {
	d := xmlstream.NewDecoder(r, lim)
	if _, err := d.ReadStreamStart(); err != nil {
		return nil, err
	}
	var out []*xmlstream.Element
	for {
		el, err := d.Next()
		if err != nil {
			return out, err
		}
		out = append(out, el)
	}
}

// el builds an element in namespace space; attrs are name, value pairs
// without namespace; children are *Element or string (text).
func el(space, local string, attrs []string, children ...any) *xmlstream.Element {
	e := xmlstream.New(space, local, attrs...)
	for _, c := range children {
		switch c := c.(type) {
		case *xmlstream.Element:
			e.AddChild(c)
		case string:
			e.AddText(c)
		case xmlstream.Attr:
			e.Attrs = append(e.Attrs, c)
		default:
			panic("el: unexpected child type")
		}
	}
	return e
}

// attrs is a shorthand for the attrs argument of el.
func attrs(kv ...string) []string { return kv }

// equal reports whether a and b are the same XML: names and namespaces
// equal, attributes equal as a set, and the same children in order, with
// adjacent text nodes merged and empty ones ignored.
func equal(a, b *xmlstream.Element) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Name != b.Name || len(a.Attrs) != len(b.Attrs) {
		return false
	}
	for _, x := range a.Attrs {
		found := false
		for _, y := range b.Attrs {
			if x == y {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	an, bn := canonNodes(a.Nodes), canonNodes(b.Nodes)
	if len(an) != len(bn) {
		return false
	}
	for i := range an {
		if an[i].El == nil {
			if bn[i].El != nil || an[i].Text != bn[i].Text {
				return false
			}
			continue
		}
		if !equal(an[i].El, bn[i].El) {
			return false
		}
	}
	return true
}

func canonNodes(ns []xmlstream.Node) []xmlstream.Node {
	var out []xmlstream.Node
	for _, n := range ns {
		if n.El == nil {
			if n.Text == "" {
				continue
			}
			if k := len(out); k > 0 && out[k-1].El == nil {
				out[k-1].Text += n.Text
				continue
			}
		}
		out = append(out, n)
	}
	return out
}

// dump renders an element with its namespaces for failure messages.
func dump(e *xmlstream.Element) string {
	if e == nil {
		return "<nil>"
	}
	var b strings.Builder
	dumpTo(&b, e)
	return b.String()
}

func dumpTo(b *strings.Builder, e *xmlstream.Element) {
	b.WriteString("{" + e.Name.Space + "}" + e.Name.Local + "[")
	for i, a := range e.Attrs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("{" + a.Name.Space + "}" + a.Name.Local + "=" + quote(a.Value))
	}
	b.WriteString("](")
	for i, n := range e.Nodes {
		if i > 0 {
			b.WriteByte(',')
		}
		if n.El != nil {
			dumpTo(b, n.El)
		} else {
			b.WriteString(quote(n.Text))
		}
	}
	b.WriteString(")")
}

func quote(s string) string {
	return `"` + strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", `\t`, `"`, `\"`).Replace(s) + `"`
}

func mustEqual(t *testing.T, got, want *xmlstream.Element) {
	t.Helper()
	if !equal(got, want) {
		t.Errorf("element mismatch\n got: %s\nwant: %s", dump(got), dump(want))
	}
}
