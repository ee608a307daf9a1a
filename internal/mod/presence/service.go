package presence

import (
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/stanza"
)

// NSCaps is the namespace of entity capabilities (XEP-0115).
const NSCaps = "http://jabber.org/protocol/caps"

// Service is presence as other modules see it (module.Use after
// declaring Requires("presence")): who of a local user is available, with
// what presence and what entity capabilities. PEP needs the capabilities
// to know which notifications a resource wants (XEP-0115 §1, XEP-0163).
type Service interface {
	// Resources returns the user's available local resources, sorted by
	// full JID.
	Resources(user jid.JID) []Resource
}

// Resource is one available resource.
type Resource struct {
	JID jid.JID
	// Presence is the last available presence the resource broadcast.
	Presence *stanza.Stanza
	// Caps are the entity capabilities it announced in that presence
	// (XEP-0115 §4); zero when it announced none.
	Caps Caps
}

// Caps is an XEP-0115 <c/> element: the client's software (node) and the
// verification string of its disco#info (ver, made with hash). The legacy
// form without 'hash' (XEP-0115 §1.4) keeps its 'ext'.
type Caps struct {
	Node, Ver, Hash, Ext string
}

// IsZero reports whether no capabilities were announced.
func (c Caps) IsZero() bool { return c == Caps{} }

// capsOf reads the <c/> element of a presence stanza.
func capsOf(st *stanza.Stanza) Caps {
	c := st.El.Child(NSCaps, "c")
	if c == nil {
		return Caps{}
	}
	return Caps{Node: c.Attr("node"), Ver: c.Attr("ver"), Hash: c.Attr("hash"), Ext: c.Attr("ext")}
}

// Resources implements Service.
func (p *presences) Resources(user jid.JID) []Resource {
	var out []Resource
	for _, st := range p.table.available(user.Bare()) {
		out = append(out, Resource{JID: st.From, Presence: st, Caps: capsOf(st)})
	}
	return out
}

var _ Service = (*presences)(nil)
