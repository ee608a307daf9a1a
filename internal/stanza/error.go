package stanza

import (
	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/xmlstream"
)

// Error types of RFC 6120 §8.3.2.
const (
	Auth     = "auth"
	Cancel   = "cancel"
	Continue = "continue"
	Modify   = "modify"
	Wait     = "wait"
)

// Error is a stanza error (RFC 6120 §8.3): a value that modules return and
// the core turns into an error reply. errors.Is compares by condition.
type Error struct {
	Type      string // auth, cancel, continue, modify, wait
	Condition string // e.g. "service-unavailable"
	Text      string // optional human-readable text
	App       *xmlstream.Element
}

func (e *Error) Error() string {
	if e.Text != "" {
		return "stanza: " + e.Condition + ": " + e.Text
	}
	return "stanza: " + e.Condition
}

// Is reports whether target is a stanza error with the same condition.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Condition == e.Condition
}

// WithText returns a copy of e with a text.
func (e *Error) WithText(text string) *Error {
	c := *e
	c.Text = text
	return &c
}

// The defined conditions of RFC 6120 §8.3.3 with their usual types.
var (
	ErrBadRequest            = &Error{Type: Modify, Condition: "bad-request"}
	ErrConflict              = &Error{Type: Cancel, Condition: "conflict"}
	ErrFeatureNotImplemented = &Error{Type: Cancel, Condition: "feature-not-implemented"}
	ErrForbidden             = &Error{Type: Auth, Condition: "forbidden"}
	ErrGone                  = &Error{Type: Cancel, Condition: "gone"}
	ErrInternalServerError   = &Error{Type: Cancel, Condition: "internal-server-error"}
	ErrItemNotFound          = &Error{Type: Cancel, Condition: "item-not-found"}
	ErrJIDMalformed          = &Error{Type: Modify, Condition: "jid-malformed"}
	ErrNotAcceptable         = &Error{Type: Modify, Condition: "not-acceptable"}
	ErrNotAllowed            = &Error{Type: Cancel, Condition: "not-allowed"}
	ErrNotAuthorized         = &Error{Type: Auth, Condition: "not-authorized"}
	ErrPolicyViolation       = &Error{Type: Modify, Condition: "policy-violation"}
	ErrRecipientUnavailable  = &Error{Type: Wait, Condition: "recipient-unavailable"}
	ErrRedirect              = &Error{Type: Modify, Condition: "redirect"}
	ErrRegistrationRequired  = &Error{Type: Auth, Condition: "registration-required"}
	ErrRemoteServerNotFound  = &Error{Type: Cancel, Condition: "remote-server-not-found"}
	ErrRemoteServerTimeout   = &Error{Type: Wait, Condition: "remote-server-timeout"}
	ErrResourceConstraint    = &Error{Type: Wait, Condition: "resource-constraint"}
	ErrServiceUnavailable    = &Error{Type: Cancel, Condition: "service-unavailable"}
	ErrSubscriptionRequired  = &Error{Type: Auth, Condition: "subscription-required"}
	ErrUndefinedCondition    = &Error{Type: Cancel, Condition: "undefined-condition"}
	ErrUnexpectedRequest     = &Error{Type: Wait, Condition: "unexpected-request"}
)

// ErrTemporaryFailure is internal-server-error of type wait (RFC 6120
// §8.3.2, §8.3.3.8): the server could not process the stanza because a
// part of it is down for now (its database), and the sender may retry
// later. It is what a request that needs an unavailable store gets; a
// fault that retrying will not fix is ErrInternalServerError (cancel).
var ErrTemporaryFailure = &Error{Type: Wait, Condition: "internal-server-error"}

// Element renders the <error/> child.
func (e *Error) Element() *xmlstream.Element {
	el := xmlstream.New(ns.Client, "error", "type", e.Type)
	el.AddChild(xmlstream.New(ns.Stanzas, e.Condition))
	if e.Text != "" {
		t := xmlstream.New(ns.Stanzas, "text")
		t.Attrs = append(t.Attrs, xmlstream.Attr{Name: xmlstream.Name{Space: xmlstream.NSXML, Local: "lang"}, Value: "en"})
		t.AddText(e.Text)
		el.AddChild(t)
	}
	if e.App != nil {
		el.AddChild(e.App)
	}
	return el
}

// ErrorReply builds the error reply to s (RFC 6120 §8.3.1): same kind and
// id, type error, from and to swapped, the original payload kept, and the
// error element appended.
func ErrorReply(s *Stanza, e *Error) *Stanza {
	el := &xmlstream.Element{Name: s.El.Name}
	for _, a := range s.El.Attrs {
		switch {
		case a.Name.Space == "" && (a.Name.Local == "to" || a.Name.Local == "from" || a.Name.Local == "type"):
		default:
			el.Attrs = append(el.Attrs, a)
		}
	}
	el.SetAttr("type", "error")
	for _, n := range s.El.Nodes {
		if n.El != nil && n.El.Name.Local == "error" && n.El.Name.Space == s.El.Name.Space {
			continue
		}
		el.Nodes = append(el.Nodes, n)
	}
	el.AddChild(e.Element())
	return New(el, s.To, s.From)
}

// ParseError extracts the stanza error from an error stanza, or nil.
func ParseError(el *xmlstream.Element) *Error {
	er := el.Child(el.Name.Space, "error")
	if er == nil {
		return nil
	}
	e := &Error{Type: er.Attr("type")}
	for _, c := range er.Elements() {
		if c.Name.Space != ns.Stanzas {
			e.App = c
			continue
		}
		if c.Name.Local == "text" {
			e.Text = c.Text()
		} else if e.Condition == "" {
			e.Condition = c.Name.Local
		}
	}
	return e
}
