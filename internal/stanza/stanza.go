// Package stanza gives typed views of XMPP stanzas (RFC 6120 §8) over
// xmlstream elements, the stanza error values of RFC 6120 §8.3 and the
// builders for replies.
package stanza

import (
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/xmlstream"
)

// Kinds of stanza, the top-level element names of jabber:client.
const (
	Message  = "message"
	Presence = "presence"
	IQ       = "iq"
)

// Stanza is a routed stanza: the element plus its parsed addresses. The
// session that accepted it has checked and stamped From and To, and the
// element's attributes agree with them. A Stanza is immutable once routed:
// code that changes it works on a copy (see WithTo).
type Stanza struct {
	El   *xmlstream.Element
	From jid.JID
	To   jid.JID
}

// Name returns the stanza kind: message, presence or iq.
func (s *Stanza) Name() string { return s.El.Name.Local }

// Type returns the type attribute.
func (s *Stanza) Type() string { return s.El.Attr("type") }

// ID returns the id attribute.
func (s *Stanza) ID() string { return s.El.Attr("id") }

// IsIQ, IsMessage and IsPresence report the stanza kind.
func (s *Stanza) IsIQ() bool       { return s.El.Name.Local == IQ }
func (s *Stanza) IsMessage() bool  { return s.El.Name.Local == Message }
func (s *Stanza) IsPresence() bool { return s.El.Name.Local == Presence }

// IsRequest reports whether s is an IQ get or set, which must be answered
// exactly once (RFC 6120 §8.2.3).
func (s *Stanza) IsRequest() bool {
	if !s.IsIQ() {
		return false
	}
	t := s.Type()
	return t == "get" || t == "set"
}

// Payload returns the first child element (the IQ payload), or nil.
func (s *Stanza) Payload() *xmlstream.Element { return s.El.FirstChild() }

// New builds a stanza from an element and addresses, setting the element's
// to and from attributes to match.
func New(el *xmlstream.Element, from, to jid.JID) *Stanza {
	if from.IsZero() {
		el.RemoveAttr("from")
	} else {
		el.SetAttr("from", from.String())
	}
	if to.IsZero() {
		el.RemoveAttr("to")
	} else {
		el.SetAttr("to", to.String())
	}
	return &Stanza{El: el, From: from, To: to}
}

// WithTo returns a copy of s addressed to another JID (used when a server
// rewrites delivery, e.g. bare-JID fan-out). Children are shared.
func (s *Stanza) WithTo(to jid.JID) *Stanza {
	el := s.El.ShallowCopy()
	el.SetAttr("to", to.String())
	return &Stanza{El: el, From: s.From, To: to}
}

// Result builds the IQ result for the request s, with from and to swapped
// and the given payload (may be nil).
func Result(s *Stanza, payload *xmlstream.Element) *Stanza {
	el := xmlstream.New(ns.Client, IQ, "type", "result", "id", s.ID())
	if payload != nil {
		el.AddChild(payload)
	}
	return New(el, s.To, s.From)
}

// NewIQ builds an IQ request of the given type with one payload.
func NewIQ(typ, id string, from, to jid.JID, payload *xmlstream.Element) *Stanza {
	el := xmlstream.New(ns.Client, IQ, "type", typ, "id", id)
	if payload != nil {
		el.AddChild(payload)
	}
	return New(el, from, to)
}
