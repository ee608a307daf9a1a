// Package stream implements the XML stream layer of RFC 6120 §4: stream
// headers, stream errors and the elements of stream negotiation. It sits
// on the xmlstream tokenizer and knows nothing about who is talking.
package stream

import (
	"crypto/rand"
	"encoding/base32"
	"strings"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/xmlstream"
)

// Stream error conditions of RFC 6120 §4.9.3.
const (
	BadFormat              = "bad-format"
	BadNamespacePrefix     = "bad-namespace-prefix"
	Conflict               = "conflict"
	ConnectionTimeout      = "connection-timeout"
	HostGone               = "host-gone"
	HostUnknown            = "host-unknown"
	ImproperAddressing     = "improper-addressing"
	InternalServerError    = "internal-server-error"
	InvalidFrom            = "invalid-from"
	InvalidNamespace       = "invalid-namespace"
	InvalidXML             = "invalid-xml"
	NotAuthorized          = "not-authorized"
	NotWellFormed          = "not-well-formed"
	PolicyViolation        = "policy-violation"
	RemoteConnectionFailed = "remote-connection-failed"
	Reset                  = "reset"
	ResourceConstraint     = "resource-constraint"
	RestrictedXML          = "restricted-xml"
	SeeOtherHost           = "see-other-host"
	SystemShutdown         = "system-shutdown"
	UndefinedCondition     = "undefined-condition"
	UnsupportedEncoding    = "unsupported-encoding"
	UnsupportedFeature     = "unsupported-feature"
	UnsupportedStanzaType  = "unsupported-stanza-type"
	UnsupportedVersion     = "unsupported-version"
)

// Error is a stream error: fatal to the stream.
type Error struct {
	Condition string
	Text      string
}

func (e *Error) Error() string {
	if e.Text != "" {
		return "stream: " + e.Condition + ": " + e.Text
	}
	return "stream: " + e.Condition
}

// Is compares stream errors by condition.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Condition == e.Condition
}

// Element renders <stream:error/>.
func (e *Error) Element() *xmlstream.Element {
	el := xmlstream.New(ns.Stream, "error")
	el.AddChild(xmlstream.New(ns.Streams, e.Condition))
	if e.Text != "" {
		t := xmlstream.New(ns.Streams, "text")
		t.Attrs = append(t.Attrs, xmlstream.Attr{Name: xmlstream.Name{Space: xmlstream.NSXML, Local: "lang"}, Value: "en"})
		t.AddText(e.Text)
		el.AddChild(t)
	}
	return el
}

// AppendError appends a stream error in the stream: prefix form clients
// expect, followed by the closing tag.
func AppendError(buf []byte, e *Error) []byte {
	buf = append(buf, `<stream:error><`...)
	buf = append(buf, e.Condition...)
	buf = append(buf, ` xmlns="`+ns.Streams+`"/>`...)
	if e.Text != "" {
		buf = append(buf, `<text xmlns="`+ns.Streams+`" xml:lang="en">`...)
		buf = xmlstream.AppendEscapedText(buf, e.Text)
		buf = append(buf, `</text>`...)
	}
	buf = append(buf, `</stream:error>`...)
	return append(buf, Close...)
}

// Close is the closing tag of a stream.
const Close = "</stream:stream>"

// Header is what the server writes to open (or re-open) its stream.
type Header struct {
	From    string // our domain
	To      string // the peer's 'from', echoed when it gave one
	ID      string
	Lang    string
	Content string // default namespace: jabber:client
}

// Append writes the XML declaration and the <stream:stream> start tag.
func (h Header) Append(buf []byte) []byte {
	buf = append(buf, `<?xml version='1.0'?><stream:stream xmlns='`...)
	buf = append(buf, h.Content...)
	buf = append(buf, `' xmlns:stream='`+ns.Stream+`'`...)
	if h.ID != "" {
		buf = appendAttr(buf, "id", h.ID)
	}
	if h.From != "" {
		buf = appendAttr(buf, "from", h.From)
	}
	if h.To != "" {
		buf = appendAttr(buf, "to", h.To)
	}
	buf = append(buf, ` version='1.0'`...)
	lang := h.Lang
	if lang == "" {
		lang = "en"
	}
	buf = appendAttr(buf, "xml:lang", lang)
	return append(buf, '>')
}

func appendAttr(buf []byte, name, value string) []byte {
	buf = append(buf, ' ')
	buf = append(buf, name...)
	buf = append(buf, `='`...)
	buf = xmlstream.AppendEscapedAttr(buf, value)
	return append(buf, '\'')
}

// AppendElement writes a top-level element of the stream; elements in the
// stream namespace (features, error) get the stream: prefix clients expect.
func AppendElement(buf []byte, e *xmlstream.Element, content string) []byte {
	if e.Name.Space != ns.Stream {
		return e.Append(buf, content)
	}
	for _, a := range e.Attrs {
		if a.Name.Space != "" && a.Name.Space != xmlstream.NSXML {
			// A namespaced attribute needs a declaration the prefixed
			// form below cannot give; the generic serializer declares it.
			return e.Append(buf, content)
		}
	}
	buf = append(buf, "<stream:"...)
	buf = append(buf, e.Name.Local...)
	for _, a := range e.Attrs {
		name := a.Name.Local
		if a.Name.Space == xmlstream.NSXML {
			name = "xml:" + name
		}
		buf = appendAttr(buf, name, a.Value)
	}
	if len(e.Nodes) == 0 {
		return append(buf, "/>"...)
	}
	buf = append(buf, '>')
	for _, n := range e.Nodes {
		if n.El != nil {
			buf = n.El.Append(buf, content)
		} else {
			buf = xmlstream.AppendEscapedText(buf, n.Text)
		}
	}
	buf = append(buf, "</stream:"...)
	buf = append(buf, e.Name.Local...)
	return append(buf, '>')
}

// NewID returns a fresh unguessable stream id.
func NewID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// CheckVersion applies RFC 6120 §4.7.5 to the version of a peer's header.
// A missing version means a pre-1.0 peer, which this server does not
// speak. The version is "major.minor", two non-negative integers in which
// leading zeros are ignored; major 1 with any minor is accepted (we answer
// 1.0), anything else, malformed values included, is unsupported.
func CheckVersion(v string) *Error {
	major, minor, ok := strings.Cut(v, ".")
	if !ok || !isDigits(major) || !isDigits(minor) {
		return &Error{Condition: UnsupportedVersion, Text: "version 1.0 required"}
	}
	if strings.TrimLeft(major, "0") != "1" {
		return &Error{Condition: UnsupportedVersion, Text: "version 1.0 required"}
	}
	return nil
}

// isDigits reports whether s is a non-empty run of ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
