package client

import (
	"errors"

	"github.com/parleyim/parley/internal/xmlstream"
)

// Namespaces used by the client. Kept local so the package depends only on
// xmlstream, sasl and jid.
const (
	nsClient   = "jabber:client"
	nsStream   = "http://etherx.jabber.org/streams"
	nsStreams  = "urn:ietf:params:xml:ns:xmpp-streams"
	nsTLS      = "urn:ietf:params:xml:ns:xmpp-tls"
	nsSASL     = "urn:ietf:params:xml:ns:xmpp-sasl"
	nsSASLCB   = "urn:xmpp:sasl-cb:0"
	nsBind     = "urn:ietf:params:xml:ns:xmpp-bind"
	nsSession  = "urn:ietf:params:xml:ns:xmpp-session"
	nsStanzas  = "urn:ietf:params:xml:ns:xmpp-stanzas"
	nsRegister = "jabber:iq:register"
)

// ErrClosed is returned by Send, Recv and IQ after the connection was closed
// locally with Close or Kill.
var ErrClosed = errors.New("client: connection closed")

// StreamError is a <stream:error/> sent by the server.
type StreamError struct {
	Condition, Text string
}

func (e *StreamError) Error() string {
	return condMsg("stream error", e.Condition, e.Text)
}

// SASLError is a SASL <failure/> sent by the server.
type SASLError struct {
	Condition, Text string
}

func (e *SASLError) Error() string {
	return condMsg("sasl failure", e.Condition, e.Text)
}

// StanzaError is the <error/> child of a stanza of type "error".
type StanzaError struct {
	Type, Condition, Text string
}

func (e *StanzaError) Error() string {
	s := "stanza error"
	if e.Type != "" {
		s += " (" + e.Type + ")"
	}
	return condMsg(s, e.Condition, e.Text)
}

func condMsg(what, cond, text string) string {
	s := "client: " + what
	if cond != "" {
		s += ": " + cond
	}
	if text != "" {
		s += ": " + text
	}
	return s
}

// defined condition and text from the children of an error element whose
// conditions live in namespace space.
func condition(e *xmlstream.Element, space string) (cond, text string) {
	for _, n := range e.Nodes {
		c := n.El
		if c == nil {
			continue
		}
		if c.Name.Local == "text" && (c.Name.Space == space || c.Name.Space == e.Name.Space) {
			if text == "" {
				text = c.Text()
			}
			continue
		}
		if cond == "" && (c.Name.Space == space || space == "") {
			cond = c.Name.Local
		}
	}
	return cond, text
}

// ParseStreamError returns the error carried by a <stream:error/> element,
// or nil if e is not one.
func ParseStreamError(e *xmlstream.Element) *StreamError {
	if e == nil || e.Name.Local != "error" || e.Name.Space != nsStream {
		return nil
	}
	c, t := condition(e, nsStreams)
	return &StreamError{Condition: c, Text: t}
}

// ParseSASLError returns the error carried by a SASL <failure/> element, or
// nil if e is not one.
func ParseSASLError(e *xmlstream.Element) *SASLError {
	if e == nil || e.Name.Local != "failure" || e.Name.Space != nsSASL {
		return nil
	}
	c, t := condition(e, nsSASL)
	return &SASLError{Condition: c, Text: t}
}

// ParseStanzaError returns the error carried by the <error/> child of a
// stanza, or nil if it has none.
func ParseStanzaError(st *xmlstream.Element) *StanzaError {
	if st == nil {
		return nil
	}
	e := st.Child(st.Name.Space, "error")
	if e == nil && st.Name.Space != nsClient {
		e = st.Child(nsClient, "error")
	}
	if e == nil {
		return nil
	}
	c, t := condition(e, nsStanzas)
	return &StanzaError{Type: e.Attr("type"), Condition: c, Text: t}
}
