package xmlstream_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/parleyim/parley/internal/xmlstream"
)

func TestReadStreamStart(t *testing.T) {
	const srvHeader = `<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams'` +
		` xmlns:db='jabber:server:dialback' from='a.example' to='b.example' version='1.0'>`
	cases := []struct {
		name      string
		in        string
		want      *xmlstream.Element // nil when an error is expected
		wantDefNS string
		wantLang  string
		wantCond  string // SyntaxError condition
		wantErr   error  // other error, compared with errors.Is
	}{
		{
			name: "client header with declaration",
			in:   header,
			want: el(nsStream, "stream", attrs("to", "example.com", "version", "1.0"),
				xmlstream.Attr{Name: xmlstream.Name{Space: xmlstream.NSXML, Local: "lang"}, Value: "en"}),
			wantDefNS: nsClient,
			wantLang:  "en",
		},
		{
			name: "no declaration, double quotes",
			in:   `<stream:stream xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams" to="example.com">`,
			want: el(nsStream, "stream", attrs("to", "example.com")), wantDefNS: nsClient,
		},
		{
			name:      "server header with dialback prefix",
			in:        srvHeader,
			want:      el(nsStream, "stream", attrs("from", "a.example", "to", "b.example", "version", "1.0")),
			wantDefNS: "jabber:server",
		},
		{
			name: "declaration with encoding and standalone",
			in:   `<?xml version="1.0" encoding="UTF-8" standalone='yes' ?>` + "\n" + `<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>`,
			want: el(nsStream, "stream", nil),
		},
		{
			name: "lower-case utf-8 encoding",
			in:   `<?xml version='1.0' encoding='utf-8'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>`,
			want: el(nsStream, "stream", nil),
		},
		{
			name: "UTF-8 byte order mark",
			in:   "\xEF\xBB\xBF" + `<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>`,
			want: el(nsStream, "stream", nil),
		},
		{
			name: "leading whitespace without declaration",
			in:   "\r\n  " + `<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>`,
			want: el(nsStream, "stream", nil),
		},
		{
			name:     "ISO-8859-1 encoding",
			in:       `<?xml version='1.0' encoding='ISO-8859-1'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>`,
			wantCond: "unsupported-encoding",
		},
		{
			name:     "UTF-16 encoding",
			in:       `<?xml version='1.0' encoding='UTF-16'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>`,
			wantCond: "unsupported-encoding",
		},
		{
			name:     "UTF-16 byte order mark",
			in:       "\xFF\xFE<\x00s\x00",
			wantCond: "unsupported-encoding",
		},
		{
			name:     "malformed encoding name",
			in:       `<?xml version='1.0' encoding='8bit'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>`,
			wantCond: "not-well-formed",
		},
		{
			name:     "XML 1.1",
			in:       `<?xml version='1.1'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>`,
			wantCond: "not-well-formed",
		},
		{
			name:     "declaration without version",
			in:       `<?xml encoding='UTF-8'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>`,
			wantCond: "not-well-formed",
		},
		{
			name:     "declaration after whitespace",
			in:       ` <?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>`,
			wantCond: "not-well-formed",
		},
		{
			name:     "two declarations",
			in:       `<?xml version='1.0'?><?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>`,
			wantCond: "not-well-formed",
		},
		{
			name:     "processing instruction",
			in:       `<?xml-stylesheet href='a'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>`,
			wantCond: "restricted-xml",
		},
		{
			name:     "document type declaration",
			in:       `<?xml version='1.0'?><!DOCTYPE stream:stream [<!ENTITY x 'y'>]><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>`,
			wantCond: "restricted-xml",
		},
		{
			name:     "comment",
			in:       `<!-- hi --><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>`,
			wantCond: "restricted-xml",
		},
		{
			name:     "text before the header",
			in:       `hello<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>`,
			wantCond: "not-well-formed",
		},
		{
			name:     "unbound stream prefix",
			in:       `<stream:stream xmlns='jabber:client'>`,
			wantCond: "not-well-formed",
		},
		{
			name:     "duplicate attribute",
			in:       `<stream:stream xmlns:stream='http://etherx.jabber.org/streams' to='a' to='b'>`,
			wantCond: "not-well-formed",
		},
		{
			name:    "empty input",
			in:      "",
			wantErr: io.EOF,
		},
		{
			name:    "truncated header",
			in:      `<stream:stream xmlns:stream='http://etherx.jab`,
			wantErr: io.ErrUnexpectedEOF,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := xmlstream.NewDecoder(strings.NewReader(tc.in), xmlstream.Limits{})
			got, err := d.ReadStreamStart()
			if tc.want == nil {
				if got != nil {
					t.Errorf("got element %s, want error", dump(got))
				}
				if tc.wantCond != "" && condOf(err) != tc.wantCond {
					t.Fatalf("err = %v, want condition %s", err, tc.wantCond)
				}
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				// Errors are final.
				if _, err2 := d.ReadStreamStart(); err2 != err {
					t.Errorf("second ReadStreamStart = %v, want %v", err2, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadStreamStart: %v", err)
			}
			mustEqual(t, got, tc.want)
			if got := d.DefaultNS(); got != tc.wantDefNS {
				t.Errorf("DefaultNS = %q, want %q", got, tc.wantDefNS)
			}
			if got := got.Lang(); got != tc.wantLang {
				t.Errorf("Lang = %q, want %q", got, tc.wantLang)
			}
			if len(got.Nodes) != 0 {
				t.Errorf("stream root has %d children, want 0", len(got.Nodes))
			}
		})
	}
}

func TestReadStreamStartTwice(t *testing.T) {
	d := xmlstream.NewDecoder(strings.NewReader(header), xmlstream.Limits{})
	if _, err := d.ReadStreamStart(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ReadStreamStart(); err == nil {
		t.Fatal("second ReadStreamStart succeeded")
	}
}

func TestNextBeforeStart(t *testing.T) {
	d := xmlstream.NewDecoder(strings.NewReader(header+"<presence/>"), xmlstream.Limits{})
	if el, err := d.Next(); err == nil || el != nil {
		t.Fatalf("Next before ReadStreamStart = %v, %v; want an error", el, err)
	}
}

// stanzaCase is one input after the standard header and the elements the
// decoder must return before failing with the given error.
type stanzaCase struct {
	name     string
	in       string
	want     []*xmlstream.Element
	wantCond string // "" when the input ends with EOF (or wantErr)
	wantErr  error  // checked when wantCond is ""; nil means io.EOF
}

var xmlLang = xmlstream.Name{Space: xmlstream.NSXML, Local: "lang"}

var validStanzas = []stanzaCase{
	{
		name: "message with body",
		in: `<message to='juliet@example.com' type='chat' id='m1'>` +
			`<body>Art thou not Romeo?</body></message>`,
		want: []*xmlstream.Element{
			el(nsClient, "message", attrs("to", "juliet@example.com", "type", "chat", "id", "m1"),
				el(nsClient, "body", nil, "Art thou not Romeo?")),
		},
	},
	{
		name: "nested children and mixed text",
		in:   `<message><x>a<y>b<z/>c</y>d</x>e</message>`,
		want: []*xmlstream.Element{
			el(nsClient, "message", nil,
				el(nsClient, "x", nil, "a", el(nsClient, "y", nil, "b", el(nsClient, "z", nil), "c"), "d"),
				"e"),
		},
	},
	{
		name: "several stanzas with whitespace keepalives",
		in:   " \n<presence/>\n\n \t<presence type='unavailable'/>   \r\n<iq type='get' id='1'/> ",
		want: []*xmlstream.Element{
			el(nsClient, "presence", nil),
			el(nsClient, "presence", attrs("type", "unavailable")),
			el(nsClient, "iq", attrs("type", "get", "id", "1")),
		},
	},
	{
		name: "default namespace redeclared on a child",
		in:   `<iq type='result' id='r'><query xmlns='jabber:iq:roster' ver='v1'><item jid='a@b'/></query></iq><message><body/></message>`,
		want: []*xmlstream.Element{
			el(nsClient, "iq", attrs("type", "result", "id", "r"),
				el("jabber:iq:roster", "query", attrs("ver", "v1"),
					el("jabber:iq:roster", "item", attrs("jid", "a@b")))),
			el(nsClient, "message", nil, el(nsClient, "body", nil)),
		},
	},
	{
		name: "prefixed children",
		in:   `<iq type='set' id='2'><r:query xmlns:r='jabber:iq:roster'><r:item jid='a@b'><group>G</group></r:item></r:query></iq>`,
		want: []*xmlstream.Element{
			el(nsClient, "iq", attrs("type", "set", "id", "2"),
				el("jabber:iq:roster", "query", nil,
					el("jabber:iq:roster", "item", attrs("jid", "a@b"),
						el(nsClient, "group", nil, "G")))),
		},
	},
	{
		name: "prefix rebound in a nested scope",
		in:   `<message xmlns:p='urn:a'><p:x><p:y xmlns:p='urn:b'><p:z/></p:y><p:w/></p:x></message>`,
		want: []*xmlstream.Element{
			el(nsClient, "message", nil,
				el("urn:a", "x", nil,
					el("urn:b", "y", nil, el("urn:b", "z", nil)),
					el("urn:a", "w", nil))),
		},
	},
	{
		name: "prefix declared after its use in the same tag",
		in:   `<p:message p:a='1' xmlns:p='urn:p'/>`,
		want: []*xmlstream.Element{
			el("urn:p", "message", nil, xmlstream.Attr{Name: xmlstream.Name{Space: "urn:p", Local: "a"}, Value: "1"}),
		},
	},
	{
		name: "prefix declared on the stream root",
		in:   `<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>`,
		want: []*xmlstream.Element{
			el(nsStream, "error", nil, el("urn:ietf:params:xml:ns:xmpp-streams", "conflict", nil)),
		},
	},
	{
		name: "default namespace undeclared",
		in:   `<message><x xmlns=''><y/></x></message>`,
		want: []*xmlstream.Element{
			el(nsClient, "message", nil, el("", "x", nil, el("", "y", nil))),
		},
	},
	{
		name: "xml:lang and namespaced attributes",
		in:   `<message xml:lang='de' xmlns:a='urn:a' xmlns:b='urn:b' a:v='1' b:v='2' v='3'/>`,
		want: []*xmlstream.Element{
			el(nsClient, "message", attrs("v", "3"),
				xmlstream.Attr{Name: xmlLang, Value: "de"},
				xmlstream.Attr{Name: xmlstream.Name{Space: "urn:a", Local: "v"}, Value: "1"},
				xmlstream.Attr{Name: xmlstream.Name{Space: "urn:b", Local: "v"}, Value: "2"}),
		},
	},
	{
		name: "xml prefix declared with its own namespace",
		in:   `<message xmlns:xml='http://www.w3.org/XML/1998/namespace' xml:lang='fr'/>`,
		want: []*xmlstream.Element{
			el(nsClient, "message", nil, xmlstream.Attr{Name: xmlLang, Value: "fr"}),
		},
	},
	{
		name: "predefined entities",
		in:   `<message id='&lt;&gt;&amp;&quot;&apos;'><body>&lt;b&gt; &amp; &quot;q&quot; &apos;a&apos;</body></message>`,
		want: []*xmlstream.Element{
			el(nsClient, "message", attrs("id", `<>&"'`),
				el(nsClient, "body", nil, `<b> & "q" 'a'`)),
		},
	},
	{
		name:     "character references",
		in:       `<message id='&#65;&#x42;&#X;'/>`,
		wantCond: "not-well-formed", // &#X is not a character reference
	},
	{
		name: "decimal and hex character references",
		in:   `<message id='&#65;&#x42;&#x00043;'><body>&#x1F600;&#233;&#xe9;&#10;&#13;</body></message>`,
		want: []*xmlstream.Element{
			el(nsClient, "message", attrs("id", "ABC"),
				el(nsClient, "body", nil, "\U0001F600éé\n\r")),
		},
	},
	{
		name: "attribute value normalization",
		in:   "<message id='a\tb\nc\r\nd\re' to=\"x&#9;y&#10;z\"/>",
		want: []*xmlstream.Element{
			el(nsClient, "message", attrs("id", "a b c d e", "to", "x\ty\nz")),
		},
	},
	{
		name: "quotes inside attribute values",
		in:   `<message id="it's" to='say "hi"'/>`,
		want: []*xmlstream.Element{
			el(nsClient, "message", attrs("id", "it's", "to", `say "hi"`)),
		},
	},
	{
		name: "line endings in text",
		in:   "<message><body>a\r\nb\rc\nd</body></message>",
		want: []*xmlstream.Element{
			el(nsClient, "message", nil, el(nsClient, "body", nil, "a\nb\nc\nd")),
		},
	},
	{
		name: "greater-than and brackets in text",
		in:   `<message><body>a > b ]] ] ]>]]&gt;</body></message>`,
		want: []*xmlstream.Element{
			el(nsClient, "message", nil, el(nsClient, "body", nil, "a > b ]] ] ]>]]>")),
		},
	},
	{
		name: "CDATA section",
		in:   `<message><body><![CDATA[<b>&amp; ]] ]]]></body></message>`,
		want: []*xmlstream.Element{
			el(nsClient, "message", nil, el(nsClient, "body", nil, "<b>&amp; ]] ]")),
		},
	},
	{
		name: "CDATA merged with surrounding text",
		in:   "<message><body>a<![CDATA[b\r\n]]><![CDATA[]]>c</body></message>",
		want: []*xmlstream.Element{
			el(nsClient, "message", nil, el(nsClient, "body", nil, "ab\nc")),
		},
	},
	{
		name: "non-ASCII names and text",
		in:   `<message><café xmlns='urn:x' ñ='ü'>日本語</café></message>`,
		want: []*xmlstream.Element{
			el(nsClient, "message", nil, el("urn:x", "café", attrs("ñ", "ü"), "日本語")),
		},
	},
	{
		name: "whitespace inside tags",
		in:   "<message\n\tto = 'a'\r\n  id=\"b\" ><body\n>x</body\t></message \n>",
		want: []*xmlstream.Element{
			el(nsClient, "message", attrs("to", "a", "id", "b"), el(nsClient, "body", nil, "x")),
		},
	},
	{
		name:    "stream end",
		in:      "<presence/> </stream:stream><presence/>",
		want:    []*xmlstream.Element{el(nsClient, "presence", nil)},
		wantErr: xmlstream.ErrStreamEnd,
	},
	{
		name:    "stream end with whitespace in the end tag",
		in:      "</stream:stream \n>",
		wantErr: xmlstream.ErrStreamEnd,
	},
	{
		name:    "end of input inside a stanza",
		in:      "<presence/><message><body>hi</bo",
		want:    []*xmlstream.Element{el(nsClient, "presence", nil)},
		wantErr: io.ErrUnexpectedEOF,
	},
	{
		name:    "end of input inside a tag",
		in:      "<presence",
		wantErr: io.ErrUnexpectedEOF,
	},
}

var invalidStanzas = []stanzaCase{
	// Restricted XML (RFC 6120 §11.1).
	{name: "comment at the top level", in: "<!-- x -->", wantCond: "restricted-xml"},
	{name: "comment in a stanza", in: "<message><!-- x --></message>", wantCond: "restricted-xml"},
	{name: "processing instruction at the top level", in: "<?foo bar?>", wantCond: "restricted-xml"},
	{name: "processing instruction in a stanza", in: "<message><?foo bar?></message>", wantCond: "restricted-xml"},
	{name: "DOCTYPE in the stream", in: "<!DOCTYPE message>", wantCond: "restricted-xml"},
	{name: "DOCTYPE in a stanza", in: "<message><!DOCTYPE x></message>", wantCond: "restricted-xml"},
	{name: "entity declaration in the stream", in: "<!ENTITY a 'b'>", wantCond: "restricted-xml"},
	{name: "element declaration in a stanza", in: "<message><!ELEMENT a ANY></message>", wantCond: "restricted-xml"},
	{name: "attribute-list declaration", in: "<!ATTLIST a b CDATA #IMPLIED>", wantCond: "restricted-xml"},
	{name: "notation declaration", in: "<!NOTATION a SYSTEM 'b'>", wantCond: "restricted-xml"},
	{name: "not a declaration", in: "<!EXAMPLE>", wantCond: "not-well-formed"},
	{name: "lowercase declaration", in: "<!entity a 'b'>", wantCond: "not-well-formed"},
	{name: "undefined entity", in: "<message><body>&foo;</body></message>", wantCond: "restricted-xml"},
	{name: "undefined entity in an attribute", in: "<message id='&nbsp;'/>", wantCond: "restricted-xml"},
	{name: "XML declaration inside the stream", in: "<?xml version='1.0'?><presence/>", wantCond: "not-well-formed"},

	// Character and entity references.
	{name: "reference to NUL", in: "<message><body>&#0;</body></message>", wantCond: "not-well-formed"},
	{name: "reference to a control character", in: "<message id='&#x1;'/>", wantCond: "not-well-formed"},
	{name: "reference to a surrogate", in: "<message><body>&#xD800;</body></message>", wantCond: "not-well-formed"},
	{name: "reference to U+FFFE", in: "<message><body>&#xFFFE;</body></message>", wantCond: "not-well-formed"},
	{name: "reference beyond Unicode", in: "<message><body>&#x110000;</body></message>", wantCond: "not-well-formed"},
	{name: "huge reference", in: "<message><body>&#99999999999999999999999;</body></message>", wantCond: "not-well-formed"},
	{name: "empty character reference", in: "<message><body>&#;</body></message>", wantCond: "not-well-formed"},
	{name: "empty hex reference", in: "<message><body>&#x;</body></message>", wantCond: "not-well-formed"},
	{name: "reference without semicolon", in: "<message><body>&#65 </body></message>", wantCond: "not-well-formed"},
	{name: "entity without semicolon", in: "<message><body>&amp </body></message>", wantCond: "not-well-formed"},
	{name: "empty entity", in: "<message><body>&;</body></message>", wantCond: "not-well-formed"},
	{name: "bare ampersand", in: "<message><body>a & b</body></message>", wantCond: "not-well-formed"},

	// Structure.
	{name: "mismatched end tag", in: "<message></presence>", wantCond: "not-well-formed"},
	{name: "overlapping elements", in: "<message><a><b></a></b></message>", wantCond: "not-well-formed"},
	{name: "end tag with another prefix", in: "<p:a xmlns:p='urn:x' xmlns:q='urn:x'></q:a>", wantCond: "not-well-formed"},
	{name: "wrong stream end tag", in: "</stream>", wantCond: "not-well-formed"},
	{name: "end tag at the top level of a stanza", in: "<message/></message>", want: []*xmlstream.Element{el(nsClient, "message", nil)}, wantCond: "not-well-formed"},
	{name: "text at the top level", in: "hello", wantCond: "bad-format"},
	{name: "CDATA at the top level", in: "<![CDATA[x]]>", wantCond: "bad-format"},
	{name: "]]> in text", in: "<message><body>a]]>b</body></message>", wantCond: "not-well-formed"},
	{name: "unterminated CDATA markup", in: "<message><![CDAT[x]]></message>", wantCond: "not-well-formed"},
	{name: "space after <", in: "< message/>", wantCond: "not-well-formed"},
	{name: "digit starting a name", in: "<1message/>", wantCond: "not-well-formed"},
	{name: "two colons in a name", in: "<a:b:c xmlns:a='urn:a'/>", wantCond: "not-well-formed"},
	{name: "empty prefix", in: "<:a/>", wantCond: "not-well-formed"},
	{name: "empty local name", in: "<a: xmlns:a='urn:a'/>", wantCond: "not-well-formed"},
	{name: "junk after /", in: "<message/ >", wantCond: "not-well-formed"},

	// Attributes.
	{name: "duplicate attribute", in: "<message id='a' id='b'/>", wantCond: "not-well-formed"},
	{name: "duplicate expanded attribute", in: "<message xmlns:a='urn:x' xmlns:b='urn:x' a:id='1' b:id='2'/>", wantCond: "not-well-formed"},
	{name: "duplicate namespace declaration", in: "<message xmlns='urn:a' xmlns='urn:b'/>", wantCond: "not-well-formed"},
	{name: "duplicate prefix declaration", in: "<message xmlns:p='urn:a' xmlns:p='urn:a'/>", wantCond: "not-well-formed"},
	{name: "unquoted attribute", in: "<message id=a/>", wantCond: "not-well-formed"},
	{name: "attribute without value", in: "<message id/>", wantCond: "not-well-formed"},
	{name: "attributes without whitespace", in: "<message id='a'to='b'/>", wantCond: "not-well-formed"},
	{name: "< in an attribute value", in: "<message id='a<b'/>", wantCond: "not-well-formed"},

	// Namespaces.
	{name: "unbound element prefix", in: "<foo:message/>", wantCond: "not-well-formed"},
	{name: "unbound attribute prefix", in: "<message foo:id='1'/>", wantCond: "not-well-formed"},
	{name: "prefix out of scope", in: "<message><p:a xmlns:p='urn:a'/><p:b/></message>", wantCond: "not-well-formed"},
	{name: "undeclared prefix", in: "<message xmlns:p=''/>", wantCond: "not-well-formed"},
	{name: "xml prefix rebound", in: "<message xmlns:xml='urn:x'/>", wantCond: "not-well-formed"},
	{name: "xmlns prefix declared", in: "<message xmlns:xmlns='urn:x'/>", wantCond: "not-well-formed"},
	{name: "xmlns prefix used", in: "<xmlns:message/>", wantCond: "not-well-formed"},
	{name: "xml namespace bound to another prefix", in: "<message xmlns:x='http://www.w3.org/XML/1998/namespace'/>", wantCond: "not-well-formed"},
	{name: "xml namespace as default", in: "<message xmlns='http://www.w3.org/XML/1998/namespace'/>", wantCond: "not-well-formed"},
	{name: "xmlns namespace bound", in: "<message xmlns:x='http://www.w3.org/2000/xmlns/'/>", wantCond: "not-well-formed"},

	// Characters.
	{name: "invalid UTF-8 in text", in: "<message><body>a\xffb</body></message>", wantCond: "not-well-formed"},
	{name: "invalid UTF-8 in an attribute", in: "<message id='\xc3\x28'/>", wantCond: "not-well-formed"},
	{name: "invalid UTF-8 in a name", in: "<message\xc3\x28/>", wantCond: "not-well-formed"},
	{name: "overlong UTF-8", in: "<message><body>\xc0\xbc</body></message>", wantCond: "not-well-formed"},
	{name: "UTF-8 encoded surrogate", in: "<message><body>\xed\xa0\x80</body></message>", wantCond: "not-well-formed"},
	{name: "NUL in text", in: "<message><body>a\x00b</body></message>", wantCond: "not-well-formed"},
	{name: "control character in text", in: "<message><body>\x0c</body></message>", wantCond: "not-well-formed"},
	{name: "control character in an attribute", in: "<message id='\x1b'/>", wantCond: "not-well-formed"},
	{name: "control character in CDATA", in: "<message><![CDATA[\x01]]></message>", wantCond: "not-well-formed"},
	{name: "U+FFFF in text", in: "<message><body>\xef\xbf\xbf</body></message>", wantCond: "not-well-formed"},
	{name: "U+FFFE in an attribute", in: "<message id='\xef\xbf\xbe'/>", wantCond: "not-well-formed"},
	{name: "non-name character in a name", in: "<mess\u00d7age/>", wantCond: "not-well-formed"},
}

func TestNext(t *testing.T) {
	for _, group := range [][]stanzaCase{validStanzas, invalidStanzas} {
		for _, tc := range group {
			t.Run(tc.name, func(t *testing.T) {
				got, err := decodeAll(strings.NewReader(header+tc.in), xmlstream.Limits{})
				checkStanzas(t, got, err, tc)
			})
		}
	}
}

func checkStanzas(t *testing.T, got []*xmlstream.Element, err error, tc stanzaCase) {
	t.Helper()
	if len(got) != len(tc.want) {
		for _, g := range got {
			t.Logf("got %s", dump(g))
		}
		t.Fatalf("got %d elements, want %d (err %v)", len(got), len(tc.want), err)
	}
	for i := range got {
		mustEqual(t, got[i], tc.want[i])
	}
	switch {
	case tc.wantCond != "":
		if condOf(err) != tc.wantCond {
			t.Errorf("err = %v, want condition %s", err, tc.wantCond)
		}
	case tc.wantErr != nil:
		if !errors.Is(err, tc.wantErr) {
			t.Errorf("err = %v, want %v", err, tc.wantErr)
		}
	default:
		if err != io.EOF {
			t.Errorf("err = %v, want io.EOF", err)
		}
	}
}

// TestSplitReads feeds every case through readers that return the input in
// pieces; the decoder must not depend on how the bytes arrive.
func TestSplitReads(t *testing.T) {
	readers := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"one byte", iotest.OneByteReader},
		{"half", iotest.HalfReader},
		{"data with EOF", iotest.DataErrReader},
		{"one byte with EOF", func(r io.Reader) io.Reader { return iotest.DataErrReader(iotest.OneByteReader(r)) }},
	}
	for _, rd := range readers {
		for _, group := range [][]stanzaCase{validStanzas, invalidStanzas} {
			for _, tc := range group {
				t.Run(rd.name+"/"+tc.name, func(t *testing.T) {
					got, err := decodeAll(rd.wrap(strings.NewReader(header+tc.in)), xmlstream.Limits{})
					checkStanzas(t, got, err, tc)
				})
			}
		}
	}
}

// TestReadErrorNotFinal checks that a Read error in the middle of a stanza
// (a read deadline) is returned and that the next call carries on.
func TestReadErrorNotFinal(t *testing.T) {
	in := header + `<message to='a@b'><body>hello</body></message><presence/>`
	// TimeoutReader fails its second Read; OneByteReader makes that
	// happen right after the first byte.
	d := xmlstream.NewDecoder(iotest.TimeoutReader(iotest.OneByteReader(strings.NewReader(in))), xmlstream.Limits{})
	_, err := d.ReadStreamStart()
	if err != iotest.ErrTimeout {
		t.Fatalf("ReadStreamStart = %v, want %v", err, iotest.ErrTimeout)
	}
	if _, err := d.ReadStreamStart(); err != nil {
		t.Fatalf("ReadStreamStart after timeout: %v", err)
	}
	m, err := d.Next()
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	mustEqual(t, m, el(nsClient, "message", attrs("to", "a@b"), el(nsClient, "body", nil, "hello")))

	// A timeout in the middle of a stanza.
	r := &errOnceReader{data: []byte(header + `<message><body>hel`), rest: []byte(`lo</body></message>`)}
	d = xmlstream.NewDecoder(r, xmlstream.Limits{})
	if _, err := d.ReadStreamStart(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Next(); err != errTimeout {
		t.Fatalf("Next = %v, want %v", err, errTimeout)
	}
	m, err = d.Next()
	if err != nil {
		t.Fatalf("Next after timeout: %v", err)
	}
	mustEqual(t, m, el(nsClient, "message", nil, el(nsClient, "body", nil, "hello")))
}

var errTimeout = errors.New("timeout")

// errOnceReader returns data, then errTimeout once, then rest.
type errOnceReader struct {
	data, rest []byte
	failed     bool
}

func (r *errOnceReader) Read(p []byte) (int, error) {
	if len(r.data) > 0 {
		n := copy(p, r.data)
		r.data = r.data[n:]
		return n, nil
	}
	if !r.failed {
		r.failed = true
		return 0, errTimeout
	}
	if len(r.rest) > 0 {
		n := copy(p, r.rest)
		r.rest = r.rest[n:]
		return n, nil
	}
	return 0, io.EOF
}

func TestErrorsAreFinal(t *testing.T) {
	d := xmlstream.NewDecoder(strings.NewReader(header+"<message><!-- --></message><presence/>"), xmlstream.Limits{})
	if _, err := d.ReadStreamStart(); err != nil {
		t.Fatal(err)
	}
	_, err := d.Next()
	if condOf(err) != "restricted-xml" {
		t.Fatalf("Next = %v, want restricted-xml", err)
	}
	if el, err2 := d.Next(); el != nil || err2 != err {
		t.Fatalf("Next after error = %v, %v; want nil, %v", el, err2, err)
	}
}

func TestSelfClosingStream(t *testing.T) {
	d := xmlstream.NewDecoder(strings.NewReader(`<stream:stream xmlns:stream='http://etherx.jabber.org/streams'/><presence/>`), xmlstream.Limits{})
	if _, err := d.ReadStreamStart(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Next(); err != xmlstream.ErrStreamEnd {
		t.Fatalf("Next = %v, want ErrStreamEnd", err)
	}
}

// TestReset reuses one decoder across a stream restart (as after STARTTLS
// or SASL) and after a failed stream.
func TestReset(t *testing.T) {
	d := xmlstream.NewDecoder(strings.NewReader(header+"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><!-- -->"), xmlstream.Limits{})
	if _, err := d.ReadStreamStart(); err != nil {
		t.Fatal(err)
	}
	m, err := d.Next()
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, m, el("urn:ietf:params:xml:ns:xmpp-tls", "starttls", nil))
	if _, err := d.Next(); condOf(err) != "restricted-xml" {
		t.Fatalf("Next = %v, want restricted-xml", err)
	}

	// The restarted stream has another default namespace and another
	// prefix for the streams namespace.
	d.Reset(strings.NewReader(`<s:stream xmlns='jabber:server' xmlns:s='http://etherx.jabber.org/streams'>` +
		`<message><s:error/></message><stream:features/></s:stream>`))
	root, err := d.ReadStreamStart()
	if err != nil {
		t.Fatalf("ReadStreamStart after Reset: %v", err)
	}
	mustEqual(t, root, el(nsStream, "stream", nil))
	if got := d.DefaultNS(); got != "jabber:server" {
		t.Errorf("DefaultNS = %q, want jabber:server", got)
	}
	m, err = d.Next()
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, m, el("jabber:server", "message", nil, el(nsStream, "error", nil)))
	// The old stream's "stream" prefix is no longer bound.
	if _, err := d.Next(); condOf(err) != "not-well-formed" {
		t.Fatalf("Next = %v, want not-well-formed for the old prefix", err)
	}

	d.Reset(strings.NewReader(`<s:stream xmlns:s='http://etherx.jabber.org/streams'><presence/></s:stream>`))
	if _, err := d.ReadStreamStart(); err != nil {
		t.Fatal(err)
	}
	if got := d.DefaultNS(); got != "" {
		t.Errorf("DefaultNS = %q, want empty", got)
	}
	m, err = d.Next()
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, m, el("", "presence", nil))
	if _, err := d.Next(); err != xmlstream.ErrStreamEnd {
		t.Fatalf("Next = %v, want ErrStreamEnd", err)
	}
}

// TestElementsIndependent checks that elements returned by Next do not
// share memory with later ones and that appending to one element's slices
// does not change another.
func TestElementsIndependent(t *testing.T) {
	d := xmlstream.NewDecoder(strings.NewReader(header+
		"<message id='1'><a x='1'/><b y='2'>t</b></message><message id='2'><c/></message>"), xmlstream.Limits{})
	if _, err := d.ReadStreamStart(); err != nil {
		t.Fatal(err)
	}
	m1, err := d.Next()
	if err != nil {
		t.Fatal(err)
	}
	want1 := m1.Copy()
	a := m1.Child(nsClient, "a")
	a.Attrs = append(a.Attrs, xmlstream.Attr{Name: xmlstream.Name{Local: "z"}, Value: "9"})
	a.Nodes = append(a.Nodes, xmlstream.Node{Text: "added"})
	mustEqual(t, m1.Child(nsClient, "b"), el(nsClient, "b", attrs("y", "2"), "t"))
	m2, err := d.Next()
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, m2, el(nsClient, "message", attrs("id", "2"), el(nsClient, "c", nil)))
	m1.Nodes[0].El = want1.Nodes[0].El
	mustEqual(t, m1, want1)
}

func TestLimits(t *testing.T) {
	const stanza = `<message to='a@b' id='x'><body>0123456789</body></message>`
	n := len(stanza)
	nested := func(depth int) string {
		return strings.Repeat("<x>", depth-1) + "<x/>" + strings.Repeat("</x>", depth-1)
	}
	withAttrs := func(k int) string {
		var b strings.Builder
		b.WriteString("<message xmlns:p='urn:p'")
		for i := 1; i < k; i++ {
			b.WriteString(" a" + strconv.Itoa(i) + "='v'")
		}
		b.WriteString("/>")
		return b.String()
	}
	name := func(k int) string { return strings.Repeat("n", k) }
	cases := []struct {
		name   string
		lim    xmlstream.Limits
		in     string
		wantOK bool
	}{
		{"stanza bytes at the limit", xmlstream.Limits{MaxStanzaBytes: n}, stanza, true},
		{"stanza bytes over the limit", xmlstream.Limits{MaxStanzaBytes: n - 1}, stanza, false},
		{"keepalives do not count", xmlstream.Limits{MaxStanzaBytes: n}, strings.Repeat(" ", 3*n) + stanza + strings.Repeat("\n", 3*n) + stanza, true},
		{"limit is per stanza", xmlstream.Limits{MaxStanzaBytes: n}, strings.Repeat(stanza, 20), true},
		{"large stanza at the limit", xmlstream.Limits{MaxStanzaBytes: 100015}, "<m>" + strings.Repeat("x", 100008) + "</m>", true},
		{"large stanza over the limit", xmlstream.Limits{MaxStanzaBytes: 100014}, "<m>" + strings.Repeat("x", 100008) + "</m>", false},

		{"depth at the limit", xmlstream.Limits{MaxDepth: 5}, nested(5), true},
		{"depth over the limit", xmlstream.Limits{MaxDepth: 5}, nested(6), false},
		{"depth at the default limit", xmlstream.Limits{}, nested(64), true},
		{"depth over the default limit", xmlstream.Limits{}, nested(65), false},
		{"depth of one", xmlstream.Limits{MaxDepth: 1}, "<presence/>", true},
		{"depth of one exceeded", xmlstream.Limits{MaxDepth: 1}, "<presence><show/></presence>", false},

		{"attributes at the limit", xmlstream.Limits{MaxAttrs: 5}, withAttrs(5), true},
		{"attributes over the limit", xmlstream.Limits{MaxAttrs: 5}, withAttrs(6), false},
		{"attributes at the default limit", xmlstream.Limits{}, withAttrs(64), true},
		{"attributes over the default limit", xmlstream.Limits{}, withAttrs(65), false},

		{"element name at the limit", xmlstream.Limits{MaxNameLen: 10}, "<" + name(10) + "/>", true},
		{"element name over the limit", xmlstream.Limits{MaxNameLen: 10}, "<" + name(11) + "/>", false},
		{"prefixed name at the limit", xmlstream.Limits{MaxNameLen: 10}, "<p:" + name(8) + " xmlns:p='u'/>", true},
		{"prefixed name over the limit", xmlstream.Limits{MaxNameLen: 10}, "<p:" + name(9) + " xmlns:p='u'/>", false},
		{"attribute name at the limit", xmlstream.Limits{MaxNameLen: 10}, "<m " + name(10) + "='1'/>", true},
		{"attribute name over the limit", xmlstream.Limits{MaxNameLen: 10}, "<m " + name(11) + "='1'/>", false},
		{"non-ASCII name at the limit", xmlstream.Limits{MaxNameLen: 10}, "<" + strings.Repeat("é", 5) + "/>", true},
		{"non-ASCII name over the limit", xmlstream.Limits{MaxNameLen: 10}, "<" + strings.Repeat("é", 5) + "n/>", false},
		{"name at the default limit", xmlstream.Limits{}, "<" + name(256) + "/>", true},
		{"name over the default limit", xmlstream.Limits{}, "<" + name(257) + "/>", false},
		{"entity name over the limit", xmlstream.Limits{MaxNameLen: 4}, "<m>&" + name(5) + ";</m>", false},
	}
	for _, tc := range cases {
		for _, rd := range []struct {
			name string
			wrap func(io.Reader) io.Reader
		}{{"whole", func(r io.Reader) io.Reader { return r }}, {"one byte", iotest.OneByteReader}} {
			t.Run(tc.name+"/"+rd.name, func(t *testing.T) {
				// The header is sized to fit the smallest limit.
				hdr := `<s:stream xmlns:s='` + nsStream + `'>`
				got, err := decodeAll(rd.wrap(strings.NewReader(hdr+tc.in)), tc.lim)
				if tc.wantOK {
					if err != io.EOF || len(got) == 0 {
						t.Fatalf("got %d elements, err %v; want success", len(got), err)
					}
					return
				}
				if len(got) != 0 || condOf(err) != "policy-violation" {
					t.Fatalf("got %d elements, err %v; want policy-violation", len(got), err)
				}
			})
		}
	}
}

func TestLimitsOnStreamHeader(t *testing.T) {
	hdr := `<s:stream xmlns:s='` + nsStream + `' to='example.com'>`
	cases := []struct {
		name string
		lim  xmlstream.Limits
		ok   bool
	}{
		{"bytes at the limit", xmlstream.Limits{MaxStanzaBytes: len(hdr)}, true},
		{"bytes over the limit", xmlstream.Limits{MaxStanzaBytes: len(hdr) - 1}, false},
		{"attributes at the limit", xmlstream.Limits{MaxAttrs: 2}, true},
		{"attributes over the limit", xmlstream.Limits{MaxAttrs: 1}, false},
		{"name at the limit", xmlstream.Limits{MaxNameLen: len("s:stream")}, true},
		{"name over the limit", xmlstream.Limits{MaxNameLen: len("s:stream") - 1}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := xmlstream.NewDecoder(strings.NewReader(hdr), tc.lim)
			_, err := d.ReadStreamStart()
			if tc.ok && err != nil || !tc.ok && condOf(err) != "policy-violation" {
				t.Fatalf("ReadStreamStart = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// endlessReader produces prefix and then an endless run of fill bytes,
// counting what it handed out.
type endlessReader struct {
	prefix []byte
	fill   byte
	n      int
}

func (r *endlessReader) Read(p []byte) (int, error) {
	k := copy(p, r.prefix)
	r.prefix = r.prefix[k:]
	for i := k; i < len(p); i++ {
		p[i] = r.fill
	}
	r.n += len(p)
	return len(p), nil
}

// TestLimitsBoundReads checks that the stanza limit bounds the bytes the
// decoder reads and buffers, whatever the peer sends.
func TestLimitsBoundReads(t *testing.T) {
	const limit = 10000
	cases := []struct {
		name   string
		prefix string
		fill   byte
	}{
		{"endless text", "<message><body>", 'x'},
		{"endless attribute value", "<message id='", 'x'},
		{"endless name", "<message", 'x'},
		{"endless whitespace in a tag", "<message", ' '},
		{"endless CDATA", "<message><![CDATA[", 'x'},
		{"endless nesting", "", '<'},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &endlessReader{prefix: []byte(header + tc.prefix), fill: tc.fill}
			if tc.fill == '<' {
				r = &endlessReader{prefix: []byte(header + strings.Repeat("<a>", 20000))}
			}
			_, err := decodeAll(r, xmlstream.Limits{MaxStanzaBytes: limit, MaxNameLen: 1 << 20, MaxDepth: 1 << 20})
			if condOf(err) != "policy-violation" {
				t.Fatalf("err = %v, want policy-violation", err)
			}
			if max := len(header) + limit + 4096; r.n > max {
				t.Errorf("read %d bytes, want at most %d", r.n, max)
			}
		})
	}
}

func TestParseFrame(t *testing.T) {
	const framing = "urn:ietf:params:xml:ns:xmpp-framing"
	cases := []struct {
		name     string
		in       string
		ns       string
		lim      xmlstream.Limits
		want     *xmlstream.Element
		wantCond string
	}{
		{
			name: "open",
			in:   `<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="example.com" version="1.0"/>`,
			want: el(framing, "open", attrs("to", "example.com", "version", "1.0")),
		},
		{
			name: "stanza in the default namespace with surrounding whitespace",
			in:   "\n <message to='a@b'><body>hi</body></message>\r\n",
			ns:   nsClient,
			want: el(nsClient, "message", attrs("to", "a@b"), el(nsClient, "body", nil, "hi")),
		},
		{
			name: "no default namespace",
			in:   `<presence/>`,
			want: el("", "presence", nil),
		},
		{name: "empty", in: "", wantCond: "not-well-formed"},
		{name: "only whitespace", in: " \n", wantCond: "not-well-formed"},
		{name: "two elements", in: "<a/><b/>", wantCond: "not-well-formed"},
		{name: "text after the element", in: "<a/>x", wantCond: "not-well-formed"},
		{name: "incomplete", in: "<a><b/>", wantCond: "not-well-formed"},
		{name: "text", in: "hello", wantCond: "bad-format"},
		{name: "comment", in: "<!-- x --><a/>", wantCond: "restricted-xml"},
		{name: "XML declaration", in: "<?xml version='1.0'?><a/>", wantCond: "not-well-formed"},
		{name: "unbound prefix", in: "<stream:features/>", ns: nsClient, wantCond: "not-well-formed"},
		{name: "size at the limit", in: "<a>xyz</a>", lim: xmlstream.Limits{MaxStanzaBytes: 10}, want: el("", "a", nil, "xyz")},
		{name: "size over the limit", in: "<a>xyzw</a>", lim: xmlstream.Limits{MaxStanzaBytes: 10}, wantCond: "policy-violation"},
		{name: "leading whitespace does not count", in: strings.Repeat(" ", 20) + "<a>xyz</a>", lim: xmlstream.Limits{MaxStanzaBytes: 10}, want: el("", "a", nil, "xyz")},
		{name: "depth over the limit", in: "<a><b/></a>", lim: xmlstream.Limits{MaxDepth: 1}, wantCond: "policy-violation"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := []byte(tc.in)
			got, err := xmlstream.ParseFrame(b, tc.ns, tc.lim)
			if string(b) != tc.in {
				t.Errorf("ParseFrame modified its input: %q", b)
			}
			if tc.want == nil {
				if condOf(err) != tc.wantCond {
					t.Fatalf("err = %v, want condition %s", err, tc.wantCond)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFrame: %v", err)
			}
			mustEqual(t, got, tc.want)
		})
	}
}

// TestParseFrameMatchesStream checks that ParseFrame accepts and rejects
// what the stream decoder does, with the same results.
func TestParseFrameMatchesStream(t *testing.T) {
	for _, group := range [][]stanzaCase{validStanzas, invalidStanzas} {
		for _, tc := range group {
			// A frame holds one element and nothing else; the stream
			// prefix is the stream root's, which a frame does not have.
			if len(tc.want) != 1 || tc.wantErr != nil || tc.wantCond != "" || strings.HasPrefix(tc.in, "<stream:") {
				continue
			}
			t.Run(tc.name, func(t *testing.T) {
				got, err := xmlstream.ParseFrame([]byte(tc.in), nsClient, xmlstream.Limits{})
				if tc.wantCond != "" {
					if condOf(err) != tc.wantCond {
						t.Fatalf("err = %v, want %s", err, tc.wantCond)
					}
					return
				}
				if err != nil {
					t.Fatalf("ParseFrame: %v", err)
				}
				mustEqual(t, got, tc.want[0])
			})
		}
	}
}

// TestRoundTrip serializes decoded and constructed elements and parses
// them again.
func TestRoundTrip(t *testing.T) {
	var all []*xmlstream.Element
	for _, tc := range validStanzas {
		all = append(all, tc.want...)
	}
	all = append(all,
		el("", "x", nil, el("urn:a", "y", nil, el("", "z", nil))),
		el(nsClient, "message", attrs("id", "a\tb\nc\rd \"'<>&"),
			xmlstream.Attr{Name: xmlstream.Name{Space: "urn:a", Local: "v"}, Value: "1"},
			xmlstream.Attr{Name: xmlstream.Name{Space: "urn:b", Local: "v"}, Value: "2"},
			xmlstream.Attr{Name: xmlLang, Value: "en"},
			el(nsClient, "body", nil, "a\r\nb]]>c<&>"),
			el("urn:c", "x", nil,
				xmlstream.Attr{Name: xmlstream.Name{Space: "urn:a", Local: "v"}, Value: "3"},
				el("urn:c", "y", nil, xmlstream.Attr{Name: xmlstream.Name{Space: "urn:d", Local: "w"}, Value: "4"}))),
	)
	for i, want := range all {
		for _, parentNS := range []string{"", nsClient} {
			b := want.Append(nil, parentNS)
			got, err := xmlstream.ParseFrame(b, parentNS, xmlstream.Limits{})
			if err != nil {
				t.Fatalf("%d: ParseFrame(%s): %v", i, b, err)
			}
			if !equal(got, want) {
				t.Errorf("%d: round trip through %s\n got: %s\nwant: %s", i, b, dump(got), dump(want))
			}
		}
		// And through a stream.
		s := string(want.Append(nil, nsClient))
		got, err := decodeAll(strings.NewReader(header+s), xmlstream.Limits{})
		if err != io.EOF || len(got) != 1 || !equal(got[0], want) {
			t.Errorf("%d: stream round trip of %s: %d elements, %v", i, s, len(got), err)
		}
	}
}

func TestElementString(t *testing.T) {
	cases := []struct {
		name string
		el   *xmlstream.Element
		ns   string
		want string
	}{
		{
			name: "empty element in the parent namespace",
			el:   el(nsClient, "presence", nil), ns: nsClient,
			want: `<presence/>`,
		},
		{
			name: "namespace declared where it changes",
			el:   el(nsClient, "iq", attrs("type", "get"), el("urn:xmpp:ping", "ping", nil)), ns: nsClient,
			want: `<iq type="get"><ping xmlns="urn:xmpp:ping"/></iq>`,
		},
		{
			name: "namespace declared at the root without a parent",
			el:   el(nsClient, "message", nil, el(nsClient, "body", nil, "hi")),
			want: `<message xmlns="jabber:client"><body>hi</body></message>`,
		},
		{
			name: "empty namespace under a namespaced parent",
			el:   el("urn:a", "a", nil, el("", "b", nil)),
			want: `<a xmlns="urn:a"><b xmlns=""/></a>`,
		},
		{
			name: "escaping",
			el:   el("", "a", attrs("v", "<&>\"'\t\n\r"), "<&>\r\n\"'"),
			want: `<a v="&lt;&amp;&gt;&quot;&apos;&#x9;&#xA;&#xD;">&lt;&amp;&gt;&#xD;` + "\n" + `"'</a>`,
		},
		{
			name: "xml:lang and namespaced attributes",
			el: el("", "a", nil,
				xmlstream.Attr{Name: xmlLang, Value: "en"},
				xmlstream.Attr{Name: xmlstream.Name{Space: "urn:x", Local: "v"}, Value: "1"}),
			want: `<a xmlns:ns1="urn:x" xml:lang="en" ns1:v="1"/>`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(tc.el.Append(nil, tc.ns)); got != tc.want {
				t.Errorf("Append = %s\nwant     %s", got, tc.want)
			}
			if tc.ns == "" {
				if got := tc.el.String(); got != tc.want {
					t.Errorf("String = %s\nwant     %s", got, tc.want)
				}
			}
		})
	}
}

// TestStreamEndNotFinalForData checks the values around the stream end:
// data after </stream:stream> is never parsed.
func TestStreamEndIgnoresTrailingData(t *testing.T) {
	got, err := decodeAll(strings.NewReader(header+"<presence/></stream:stream><<<garbage"), xmlstream.Limits{})
	if err != xmlstream.ErrStreamEnd || len(got) != 1 {
		t.Fatalf("got %d elements, %v; want 1, ErrStreamEnd", len(got), err)
	}
}

func TestManyStanzasLargeBuffer(t *testing.T) {
	// Stanzas of growing size make the buffer grow, move and shrink.
	var b bytes.Buffer
	b.WriteString(header)
	var want []*xmlstream.Element
	for i := 0; i < 40; i++ {
		body := strings.Repeat(string(rune('a'+i%26)), i*i*60)
		b.WriteString("<message id='" + strconv.Itoa(i) + "'><body>" + body + "</body></message> ")
		want = append(want, el(nsClient, "message", attrs("id", strconv.Itoa(i)), el(nsClient, "body", nil, body)))
	}
	for i := 39; i >= 0; i-- {
		b.WriteString("<presence id='" + strconv.Itoa(i) + "'/>")
		want = append(want, el(nsClient, "presence", attrs("id", strconv.Itoa(i))))
	}
	for _, wrap := range []func(io.Reader) io.Reader{
		func(r io.Reader) io.Reader { return r }, iotest.HalfReader,
	} {
		got, err := decodeAll(wrap(bytes.NewReader(b.Bytes())), xmlstream.Limits{})
		checkStanzas(t, got, err, stanzaCase{want: want})
	}
}

// TestParseStored: whatever the stream limits accept, Append writes in a
// form ParseStored reads back — also when the attribute namespaces were
// declared on an ancestor, so that Append adds a declaration per namespace.
func TestParseStored(t *testing.T) {
	var decls, uses, same strings.Builder
	for i := range 63 {
		fmt.Fprintf(&decls, " xmlns:p%d='urn:n%d'", i, i)
		fmt.Fprintf(&uses, " p%d:a='%d'", i, i)
		fmt.Fprintf(&same, " q:a%d='%d'", i, i)
	}
	longName := strings.Repeat("n", 254)
	for _, stanza := range []string{
		// 63 attributes in 63 namespaces declared on the parent: written
		// again as 63 declarations and 63 attributes, plus the default
		// namespace.
		"<message" + decls.String() + "><x xmlns='urn:x'" + uses.String() + "/></message>",
		// 63 attributes in one namespace: one declaration.
		"<message xmlns:q='urn:q'><x" + same.String() + "/></message>",
		// A name at the limit with a one-letter prefix.
		"<message xmlns:q='urn:q'><x q:" + longName[:252] + "='v'/></message>",
	} {
		els, err := decodeAll(strings.NewReader(header+stanza), xmlstream.Limits{})
		if err != io.EOF || len(els) != 1 {
			t.Fatalf("the stream limits refuse %.60s...: %v", stanza, err)
		}
		b := els[0].Append(nil, nsClient)
		got, err := xmlstream.ParseStored(b, nsClient)
		if err != nil {
			t.Fatalf("ParseStored(%.80s...): %v", b, err)
		}
		if !equal(got, els[0]) {
			t.Errorf("round trip changed %.60s...", stanza)
		}
	}
	// One declaration per namespace, however many attributes use it.
	els, _ := decodeAll(strings.NewReader(header+"<message xmlns:q='urn:q'><x"+same.String()+"/></message>"), xmlstream.Limits{})
	if b := string(els[0].Append(nil, nsClient)); strings.Count(b, "xmlns:") != 1 {
		t.Errorf("%d declarations in %.120s...", strings.Count(b, "xmlns:"), b)
	}
}

// TestIdleWaits: between stanzas the decoder waits with a small read and
// parks its buffers; stanzas longer than that read, arriving in pieces
// after a wait, still come out whole and in order.
func TestIdleWaits(t *testing.T) {
	pr, pw := io.Pipe()
	d := xmlstream.NewDecoder(pr, xmlstream.Limits{})
	go func() {
		defer pw.Close()
		_, _ = pw.Write([]byte(header))
		for i := range 5 {
			body := strings.Repeat(strconv.Itoa(i), 300*(i+1))
			st := "<message id='" + strconv.Itoa(i) + "'><body>" + body + "</body></message> "
			for _, n := range []int{1, 511, 700, len(st)} {
				if n > len(st) {
					n = len(st)
				}
				_, _ = pw.Write([]byte(st[:n]))
				st = st[n:]
			}
		}
	}()
	if _, err := d.ReadStreamStart(); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		el, err := d.Next()
		if err != nil {
			t.Fatalf("stanza %d: %v", i, err)
		}
		if el.Attr("id") != strconv.Itoa(i) || el.ChildText(nsClient, "body") != strings.Repeat(strconv.Itoa(i), 300*(i+1)) {
			t.Fatalf("stanza %d came out as %.80s", i, el)
		}
	}
}

// TestAppendHoists: attribute namespaces used below are declared once on
// the element written, so a stanza the stream accepted comes out within
// the same limits (here 40 namespaces declared on the message and used on
// its body).
func TestAppendHoists(t *testing.T) {
	var decls, uses strings.Builder
	for i := range 40 {
		fmt.Fprintf(&decls, " xmlns:p%d='urn:n%d'", i, i)
		fmt.Fprintf(&uses, " p%d:a='%d'", i, i)
	}
	in := "<message" + decls.String() + "><body" + uses.String() + ">hi</body><x xmlns='urn:x' p0:b='1'/></message>"
	els, err := decodeAll(strings.NewReader(header+in), xmlstream.Limits{})
	if err != io.EOF || len(els) != 1 {
		t.Fatalf("decode: %v", err)
	}
	b := els[0].Append(nil, nsClient)
	got, err := xmlstream.ParseFrame(b, nsClient, xmlstream.Limits{})
	if err != nil {
		t.Fatalf("ParseFrame(%.100s...): %v", b, err)
	}
	if !equal(got, els[0]) {
		t.Errorf("round trip changed the stanza")
	}
	if n := strings.Count(string(b), "xmlns:"); n != 40 {
		t.Errorf("%d namespace declarations, want 40", n)
	}
}
