package roster

import (
	"cmp"
	"context"
	"errors"
	"net/netip"
	"slices"

	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/stanza"
	"github.com/parleyim/parley/internal/xmlstream"
)

// owner returns the user whose roster an IQ is about. RFC 6121 §2.1.5
// (Security Warning) and §2.3.3: the entity that processes a roster set
// verifies that the sender may change the roster, which here means the
// account itself; a roster get is held to the same rule.
func (r *rosters) owner(iq *stanza.Stanza) (jid.JID, error) {
	from := iq.From
	if from.Local() == "" || !r.h.Router().IsLocal(from.Domain()) || iq.To.Bare() != from.Bare() {
		return jid.JID{}, errForbidden
	}
	return from.Bare(), nil
}

// itemChildren returns the <item/> children of a query.
func itemChildren(q *xmlstream.Element) []*xmlstream.Element {
	var out []*xmlstream.Element
	for _, e := range q.Elements() {
		if e.Name == (xmlstream.Name{Space: NS, Local: "item"}) {
			out = append(out, e)
		}
	}
	return out
}

// get answers a roster get (RFC 6121 §2.1.3, §2.2) and makes the sending
// resource an interested one. With 'ver' (§2.6.2) it may answer with an
// empty result and then push what changed since (§2.6.3).
func (r *rosters) get(ctx context.Context, iq *stanza.Stanza) (*stanza.Stanza, error) {
	user, err := r.owner(iq)
	if err != nil {
		return nil, err
	}
	q := iq.Payload()
	if len(itemChildren(q)) > 0 {
		return nil, errGetItems
	}
	var addr netip.AddrPort // the session's, to tell it from a successor
	if o := module.OriginFrom(ctx); o != nil {
		addr = o.Addr
	}
	unlock := r.locks.lock(user)
	defer unlock()
	v, all, err := r.store.Roster(ctx, user)
	if err != nil {
		return nil, err
	}
	var interim []Item
	whole := true
	if q.HasAttr("ver") {
		if n, ok := since(q.Attr("ver"), v); ok {
			for _, it := range all {
				if it.Version > n {
					interim = append(interim, it)
				}
			}
			// §2.6.3: pushes, unless the whole roster is no longer than
			// the pushes would be.
			whole = len(interim) > 0 && len(interim) == len(all)
		}
	}
	var reply *stanza.Stanza
	if whole {
		interim = nil
		res := xmlstream.New(NS, "query", "ver", v.String())
		for _, it := range all {
			res.AddChild(itemElement(it, false))
		}
		reply = stanza.Result(iq, res)
	} else {
		// §2.6.3: an empty IQ-result, not an empty <query/>.
		reply = stanza.Result(iq, nil)
	}
	// The answer goes out here, under the user's lock, so that no push of
	// a later change can overtake it (§2.6.3: pushes in order).
	if err := r.h.Router().Route(ctx, reply); err != nil {
		r.h.Log().Debug("roster result not delivered", "to", iq.From.String(), "err", err)
		return nil, nil
	}
	slices.SortFunc(interim, func(a, b Item) int { return cmp.Compare(a.Version, b.Version) })
	for _, it := range interim {
		pq := xmlstream.New(NS, "query", "ver", Version{Epoch: v.Epoch, N: it.Version}.String())
		pq.AddChild(itemElement(it, false))
		r.pushTo(ctx, user, iq.From, pq)
	}
	if iq.From.Resource() != "" {
		r.interest.add(iq.From, addr)
	}
	return nil, nil
}

// set handles a roster set: add or update (RFC 6121 §2.3, §2.4) or remove
// (§2.5) one item. The change is pushed to every interested resource
// before the sender gets its result, so once a client holds the result,
// every push of that change is queued to every resource.
func (r *rosters) set(ctx context.Context, iq *stanza.Stanza) (*stanza.Stanza, error) {
	user, err := r.owner(iq)
	if err != nil {
		return nil, err
	}
	its := itemChildren(iq.Payload())
	if len(its) != 1 {
		return nil, errOneItem
	}
	el := its[0]
	if !el.HasAttr("jid") {
		return nil, errNoJID
	}
	contact, err := jid.Parse(el.Attr("jid"))
	if err != nil {
		return nil, errBadJID
	}
	if !contact.IsBare() {
		return nil, errFullJID
	}
	// §2.1.5 rule 2: any 'subscription' but "remove" is ignored, as are
	// 'ask' (§2.1.2.2) and 'approved' (§2.1.2.1).
	if el.Attr("subscription") == "remove" {
		return r.remove(ctx, iq, user, contact)
	}
	it := Item{JID: contact, Name: el.Attr("name")}
	for _, g := range el.Elements() {
		if g.Name == (xmlstream.Name{Space: NS, Local: "group"}) {
			it.Groups = append(it.Groups, g.Text())
		}
	}
	if it, err = check(user, it); err != nil {
		return nil, err
	}
	unlock := r.locks.lock(user)
	c, err := func() (change, error) {
		old, existed, err := r.lookup(ctx, user, contact)
		if err != nil {
			return change{}, err
		}
		// The item as sent replaces name and groups (§2.4); the
		// subscription state is the server's.
		if existed {
			it.Subscription, it.Ask, it.Approved = old.Subscription, old.Ask, old.Approved
		}
		c, err := r.putLocked(ctx, user, it, old, existed)
		if errors.Is(err, ErrFull) {
			return change{}, errFull
		}
		if err != nil {
			return change{}, err
		}
		r.answer(ctx, iq)
		return c, nil
	}()
	unlock()
	if err != nil {
		return nil, err
	}
	c.client = iq.From
	r.announce(ctx, c)
	return nil, nil
}

// remove deletes an item for a roster set with subscription='remove'
// (RFC 6121 §2.5).
func (r *rosters) remove(ctx context.Context, iq *stanza.Stanza, user, contact jid.JID) (*stanza.Stanza, error) {
	unlock := r.locks.lock(user)
	c, err := func() (change, error) {
		old, existed, err := r.lookup(ctx, user, contact)
		if err != nil {
			return change{}, err
		}
		if !existed {
			// §2.5.3.
			return change{}, errNotFound
		}
		c, err := r.deleteLocked(ctx, user, old)
		if errors.Is(err, ErrNoItem) {
			return change{}, errNotFound
		}
		if err != nil {
			return change{}, err
		}
		r.answer(ctx, iq)
		return c, nil
	}()
	unlock()
	if err != nil {
		return nil, err
	}
	c.client = iq.From
	r.announce(ctx, c)
	return nil, nil
}

// answer sends the empty result of a successful roster set (§2.3.2).
func (r *rosters) answer(ctx context.Context, iq *stanza.Stanza) {
	if err := r.h.Router().Route(ctx, stanza.Result(iq, nil)); err != nil {
		r.h.Log().Debug("roster result not delivered", "to", iq.From.String(), "err", err)
	}
}
