package xmlstream_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/xmlstream"
)

// stdElements decodes the children of the stream root with encoding/xml
// in strict mode, into our Element type, and returns them with the error
// that stopped it (nil when the whole input was read).
func stdElements(doc []byte) ([]*xmlstream.Element, error) {
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	var out []*xmlstream.Element
	var stack []*xmlstream.Element
	depth := 0
	for {
		tok, err := d.Token()
		if err != nil {
			if err == io.EOF {
				return out, nil
			}
			return out, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				continue // the stream root
			}
			e := &xmlstream.Element{Name: xmlstream.Name{Space: t.Name.Space, Local: t.Name.Local}}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue // namespace declarations are not attributes
				}
				space := a.Name.Space
				if space == "xml" {
					space = xmlstream.NSXML
				}
				e.Attrs = append(e.Attrs, xmlstream.Attr{Name: xmlstream.Name{Space: space, Local: a.Name.Local}, Value: a.Value})
			}
			if len(stack) > 0 {
				stack[len(stack)-1].AddChild(e)
			}
			stack = append(stack, e)
		case xml.EndElement:
			depth--
			if depth == 0 {
				return out, nil // end of the stream
			}
			e := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				out = append(out, e)
			}
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].AddText(string(t))
			}
		}
	}
}

// FuzzDecoder feeds arbitrary bytes after a valid stream header. The
// decoder must never panic; every stanza it accepts must survive a
// serialise/parse round trip unchanged; and, differentially, encoding/xml
// must accept the same stanzas and read them identically. The decoder is
// stricter than encoding/xml (no comments, PIs, DTDs; limits), so only
// that direction is checked.
func FuzzDecoder(f *testing.F) {
	seeds := []string{
		"<message to='a@b' type='chat'><body>hi &amp; &#x1F600;</body></message>",
		"<iq type='get' id='1'><query xmlns='jabber:iq:version'/></iq>",
		"<presence><show>away</show><x xmlns='urn:x' xmlns:p='urn:p' p:a='1'/></presence>",
		"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>",
		"<message xml:lang='de'><![CDATA[<not a tag>]]></message>",
		"<a><b><c><d/></c></b></a>  \n<e/>",
		"<message><!-- comment --></message>",
		"<message><?pi x?></message>",
		"<!DOCTYPE x><message/>",
		"<message attr='1' attr='2'/>",
		"<p:x xmlns:p=''/>",
		"<message>\x00</message>",
		"<message></presence>",
		"</stream:stream>",
		"<m>a]]>b</m>",
		"<m a='&lt;&quot;'>&#0;</m>",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	lim := xmlstream.Limits{MaxStanzaBytes: 64 << 10, MaxDepth: 32}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc := append([]byte(header), data...)
		got, err := decodeAll(bytes.NewReader(doc), lim)
		if err == nil {
			t.Fatal("decodeAll returned no error")
		}
		var se *xmlstream.SyntaxError
		if !errors.As(err, &se) && err != io.EOF && err != io.ErrUnexpectedEOF && !errors.Is(err, xmlstream.ErrStreamEnd) {
			t.Fatalf("unexpected error type %T: %v", err, err)
		}
		if len(got) == 0 {
			return
		}
		for i, e := range got {
			b := e.Append(nil, nsClient)
			back, perr := xmlstream.ParseFrame(b, nsClient, xmlstream.Limits{MaxStanzaBytes: 1 << 20, MaxDepth: 64})
			if perr != nil {
				t.Fatalf("stanza %d: re-parse of %q: %v", i, b, perr)
			}
			if !equal(back, e) {
				t.Fatalf("stanza %d: round trip changed it\n got: %s\nwant: %s", i, dump(back), dump(e))
			}
		}
		// Differential check: encoding/xml reads the accepted prefix the
		// same way. Stop the document after the last accepted stanza, so
		// that what we rejected later does not matter.
		var prefix strings.Builder
		prefix.WriteString(header)
		for _, e := range got {
			prefix.Write(e.Append(nil, nsClient))
		}
		prefix.WriteString("</stream:stream>")
		std, serr := stdElements([]byte(prefix.String()))
		if serr != nil && strings.Contains(serr.Error(), "invalid XML name") {
			// encoding/xml takes name characters from the tables of XML
			// 1.0 fourth edition; RFC 6120 (§11, [XML]) means the fifth,
			// whose NameStartChar ranges (e.g. #x37F-#x1FFF) the decoder
			// follows. Names outside the old tables are not a divergence.
			return
		}
		if serr != nil {
			t.Fatalf("encoding/xml rejects what we accepted (%v): %q", serr, prefix.String())
		}
		if len(std) != len(got) {
			t.Fatalf("encoding/xml read %d stanzas, we read %d", len(std), len(got))
		}
		for i := range got {
			if !equal(std[i], got[i]) {
				t.Fatalf("stanza %d differs\nencoding/xml: %s\n        ours: %s", i, dump(std[i]), dump(got[i]))
			}
		}
		// And on the raw input: where encoding/xml fails inside the first
		// stanza we accepted, we accepted something that is not XML.
		raw, rerr := stdElements(doc)
		if rerr != nil && len(raw) == 0 && !strings.Contains(rerr.Error(), "unexpected EOF") {
			first := got[0].Append(nil, nsClient)
			if !bytes.Contains(data, []byte("<!")) && !bytes.Contains(data, []byte("<?")) {
				t.Fatalf("encoding/xml rejects the input before our first stanza %q: %v", first, rerr)
			}
		}
	})
}
