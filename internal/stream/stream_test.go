package stream_test

import (
	"bytes"
	"testing"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/stream"
	"github.com/parleyim/parley/internal/xmlstream"
)

// RFC 6120 §4.7.5.
func TestCheckVersion(t *testing.T) {
	for _, tc := range []struct {
		v  string
		ok bool
	}{
		{"1.0", true}, {"1.1", true}, {"1.99", true}, {"01.0", true}, {"001.000", true},
		{"", false}, {"0.9", false}, {"2.0", false}, {"11.0", false}, {"1", false},
		{"1.", false}, {".1", false}, {"1.a", false}, {"a.0", false}, {"1.0.0", false},
		{"+1.0", false}, {"1.-0", false}, {" 1.0", false}, {"1,0", false},
	} {
		err := stream.CheckVersion(tc.v)
		if (err == nil) != tc.ok {
			t.Errorf("CheckVersion(%q) = %v, want ok=%v", tc.v, err, tc.ok)
		}
		if err != nil && err.Condition != stream.UnsupportedVersion {
			t.Errorf("CheckVersion(%q) condition %q", tc.v, err.Condition)
		}
	}
}

// parse reads b as the body of a client stream and returns its elements.
func parse(t *testing.T, b []byte) []*xmlstream.Element {
	t.Helper()
	doc := stream.Header{From: "localhost", ID: "x", Content: ns.Client}.Append(nil)
	doc = append(doc, b...)
	d := xmlstream.NewDecoder(bytes.NewReader(doc), xmlstream.Limits{})
	if _, err := d.ReadStreamStart(); err != nil {
		t.Fatalf("header: %v", err)
	}
	var out []*xmlstream.Element
	for {
		e, err := d.Next()
		if err != nil {
			return out
		}
		out = append(out, e)
	}
}

// The stream: prefixed forms parse back to what was written, with
// namespaces and the xml:lang attribute intact.
func TestAppendElement(t *testing.T) {
	f := xmlstream.New(ns.Stream, "features")
	f.Attrs = append(f.Attrs, xmlstream.Attr{Name: xmlstream.Name{Space: xmlstream.NSXML, Local: "lang"}, Value: "de"})
	f.AddChild(xmlstream.New(ns.Bind, "bind"))
	f.AddChild(xmlstream.New(ns.TLS, "starttls").AddChild(xmlstream.New(ns.TLS, "required")))
	odd := xmlstream.New(ns.Stream, "odd")
	odd.Attrs = append(odd.Attrs, xmlstream.Attr{Name: xmlstream.Name{Space: "urn:x", Local: "a"}, Value: "1"})
	msg := xmlstream.New(ns.Client, "message", "id", "m<1>")

	var b []byte
	for _, e := range []*xmlstream.Element{f, odd, msg} {
		b = stream.AppendElement(b, e, ns.Client)
	}
	b = stream.AppendError(b, &stream.Error{Condition: stream.Conflict, Text: "a & b"})
	got := parse(t, b)
	if len(got) != 4 {
		t.Fatalf("parsed %d elements from %s", len(got), b)
	}
	if g := got[0]; g.Name != f.Name || g.Lang() != "de" || g.Child(ns.Bind, "bind") == nil || g.Child(ns.TLS, "starttls").Child(ns.TLS, "required") == nil {
		t.Errorf("features came back as %s", g)
	}
	if g := got[1]; g.Name != odd.Name || g.AttrNS("urn:x", "a") != "1" {
		t.Errorf("namespaced attribute came back as %s", g)
	}
	if g := got[2]; g.Name != msg.Name || g.Attr("id") != "m<1>" {
		t.Errorf("message came back as %s", g)
	}
	g := got[3]
	if g.Name != (xmlstream.Name{Space: ns.Stream, Local: "error"}) || g.Child(ns.Streams, "conflict") == nil || g.ChildText(ns.Streams, "text") != "a & b" {
		t.Errorf("error came back as %s", g)
	}
}
