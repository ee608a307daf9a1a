package disco

import (
	"cmp"
	"context"
	"slices"

	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/stanza"
	"github.com/parleyim/parley/internal/xmlstream"
)

type disco struct {
	reg *module.Registry
}

// info answers disco#info (XEP-0030 §3) at target t.
func (d *disco) info(t module.Target) module.IQHandler {
	return func(_ context.Context, iq *stanza.Stanza) (*stanza.Stanza, error) {
		if t == module.Account && !self(iq) {
			// XEP-0030 §8 rule 1.2: a requester not allowed to see the
			// account's presence gets service-unavailable.
			return nil, stanza.ErrServiceUnavailable
		}
		if err := checkNode(iq.Payload()); err != nil {
			return nil, err
		}
		q := xmlstream.New(NSInfo, "query")
		// XEP-0030 §3.1: at least one identity, and the disco#info
		// feature, which this module declared at setup.
		for _, id := range identities(d.reg.Identities(t)) {
			e := xmlstream.New(NSInfo, "identity", "category", id.Category, "type", id.Type)
			if id.Name != "" {
				e.SetAttr("name", id.Name)
			}
			q.AddChild(e)
		}
		for _, f := range d.reg.Features(t) { // sorted and unique
			q.AddChild(xmlstream.New(NSInfo, "feature", "var", f))
		}
		return stanza.Result(iq, q), nil
	}
}

// items answers disco#items (XEP-0030 §4). No module declares items yet,
// so the list is empty; XEP-0030 §4.1 and §7 require an empty query rather
// than an error. For accounts, §8 rule 2 asks for an empty result towards
// requesters who may not see the account's resources; the owner gets the
// same, which §4.2's SHOULD leaves room for.
func (d *disco) items(t module.Target) module.IQHandler {
	return func(_ context.Context, iq *stanza.Stanza) (*stanza.Stanza, error) {
		if t == module.Account && !self(iq) {
			return stanza.Result(iq, xmlstream.New(NSItems, "query")), nil
		}
		if err := checkNode(iq.Payload()); err != nil {
			return nil, err
		}
		return stanza.Result(iq, xmlstream.New(NSItems, "query")), nil
	}
}

// self reports whether an IQ to an account comes from that account.
func self(iq *stanza.Stanza) bool {
	return iq.From.Bare() == iq.To.Bare()
}

// checkNode rejects queries with a node: no module offers any yet.
func checkNode(q *xmlstream.Element) *stanza.Error {
	if !q.HasAttr("node") {
		return nil
	}
	if q.Attr("node") == "" {
		// XEP-0030 §5: the value of 'node' MUST NOT be null.
		return stanza.ErrBadRequest.WithText("empty node")
	}
	// XEP-0030 §3.2: an unknown JID+node is item-not-found.
	return stanza.ErrItemNotFound
}

// identities returns ids sorted by category, type and name, without
// duplicates (two modules may declare the same identity).
func identities(ids []module.Identity) []module.Identity {
	slices.SortFunc(ids, func(a, b module.Identity) int {
		return cmp.Or(cmp.Compare(a.Category, b.Category), cmp.Compare(a.Type, b.Type), cmp.Compare(a.Name, b.Name))
	})
	return slices.Compact(ids)
}
