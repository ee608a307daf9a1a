package presence

import (
	"context"
	"errors"
	"slices"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/mod/roster"
	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/stanza"
	"github.com/parleyim/parley/internal/xmlstream"
)

// presences is the module's state: the roster it reads and drives, and
// the presence of every local session. Lock order: the table's mutex is
// never held while the roster or the router is called.
type presences struct {
	h      *module.Host
	roster roster.Service
	table  table
}

func isSubscription(typ string) bool {
	switch typ {
	case "subscribe", "subscribed", "unsubscribe", "unsubscribed":
		return true
	}
	return false
}

// route sends st, logging what could not be sent: a failed delivery of
// presence is the recipient's business (RFC 6121 §4.6: the server does
// not report it to the user), and errors owed to the sender were routed
// back by the router.
func (p *presences) route(ctx context.Context, st *stanza.Stanza) {
	if err := p.h.Router().Route(ctx, st); err != nil {
		p.h.Log().Debug("presence not routed", "to", st.To.String(), "type", st.Type(), "err", err)
	}
}

// send routes a new presence stanza of the given type from one JID to
// another.
func (p *presences) send(ctx context.Context, typ string, from, to jid.JID) {
	el := xmlstream.New(ns.Client, stanza.Presence)
	if typ != "" {
		el.SetAttr("type", typ)
	}
	p.route(ctx, stanza.New(el, from, to))
}

func (p *presences) bound(ctx context.Context, ev *hook.SessionEvent) hook.Verdict {
	old := p.table.bind(ev.JID, ev.Addr)
	if old != nil && (old.last != nil || len(old.directed) > 0) {
		// RFC 6120 §7.7.2.2: the new session replaced one with the same
		// full JID, which is going away (§4.5.2): it is unavailable now,
		// whatever the new one does.
		el := xmlstream.New(ns.Client, stanza.Presence, "type", "unavailable")
		p.unavailable(context.WithoutCancel(ctx), stanza.New(el, ev.JID, jid.JID{}), old.last != nil, sortedJIDs(old.directed))
	}
	return hook.Continue
}

// closed ends a session's presence. RFC 6121 §4.5.2: a session that ends
// without unavailable presence, gracefully or not, is made unavailable by
// the server for it.
func (p *presences) closed(ctx context.Context, ev *hook.SessionEvent) hook.Verdict {
	r := p.table.unbind(ev.JID, ev.Addr)
	if r == nil || (r.last == nil && len(r.directed) == 0) {
		return hook.Continue
	}
	// The session's context may be over; the broadcast must still go out.
	ctx = context.WithoutCancel(ctx)
	el := xmlstream.New(ns.Client, stanza.Presence, "type", "unavailable")
	st := stanza.New(el, ev.JID, jid.JID{})
	p.unavailable(ctx, st, r.last != nil, sortedJIDs(r.directed))
	return hook.Continue
}

// outbound handles presence a local user's client sends (stanza.in).
func (p *presences) outbound(ctx context.Context, ev *hook.StanzaEvent) hook.Verdict {
	st := ev.Stanza
	if !st.IsPresence() {
		return hook.Continue
	}
	typ := st.Type()
	if st.El.Attr("to") == "" {
		switch typ {
		case "":
			p.broadcast(ctx, st)
			return hook.Handled
		case "unavailable":
			directed, was := p.table.setUnavailable(st.From)
			p.unavailable(ctx, st, was, directed)
			return hook.Handled
		}
		return hook.Continue
	}
	switch {
	case isSubscription(typ):
		p.outboundSubscription(ctx, st)
		return hook.Handled
	case typ == "" || typ == "unavailable":
		// RFC 6121 §4.6.2: directed presence is routed as it is; the
		// server remembers available directed presence so that the
		// recipient learns when the resource goes away (§4.6.3).
		if st.To.Bare() != st.From.Bare() {
			p.table.direct(st.From, st.To, typ == "")
		}
	}
	return hook.Continue
}

// broadcast handles available presence without 'to' (RFC 6121 §4.2 for
// the initial one, §4.4 for later ones).
func (p *presences) broadcast(ctx context.Context, st *stanza.Stanza) {
	user := st.From.Bare()
	initial, ok := p.table.setAvailable(st.From, st)
	if !ok {
		return
	}
	items, err := p.roster.Items(ctx, user)
	if err != nil {
		p.h.Log().Error("presence broadcast: reading the roster", "user", user.String(), "err", err)
	}
	// §4.2.2, §4.4.2: to every contact subscribed to the user's presence.
	for _, it := range items {
		if (State{Sub: it.Subscription}).hasFrom() {
			p.route(ctx, st.WithTo(it.JID))
		}
	}
	// §4.2.2, §4.4.2: to each of the user's available resources, the
	// sending one included.
	for _, full := range p.table.availableResources(user) {
		p.route(ctx, st.WithTo(full))
	}
	if !initial {
		return
	}
	// §4.2.2: the new resource learns of the others...
	for _, other := range p.table.available(user) {
		if other.From != st.From {
			p.route(ctx, other.WithTo(st.From))
		}
	}
	// ...and §4.2.1 probes the contacts the user is subscribed to, from
	// the bare JID.
	for _, it := range items {
		if (State{Sub: it.Subscription}).hasTo() {
			p.send(ctx, "probe", user, it.JID)
		}
	}
	// §3.1.3: requests that arrived while the user was offline (or not
	// yet answered) are delivered again when a resource becomes available.
	pending, err := p.roster.PendingIns(ctx, user)
	if err != nil {
		p.h.Log().Error("presence: reading pending subscription requests", "user", user.String(), "err", err)
	}
	for _, pi := range pending {
		req := p.pendingStanza(pi, user).WithTo(st.From)
		if err := p.h.Router().Deliver(ctx, req); err != nil {
			p.h.Log().Debug("pending subscription request not delivered", "to", st.From.String(), "err", err)
		}
	}
}

// maxStoredRequest bounds a stored subscription request: a contact can
// leave one per user, up to the roster's max_items, so what a stranger can
// make the server keep stays small.
const maxStoredRequest = 2048

// storedRequest is what is kept of a subscription request until the user
// answers it: the type, and the status (RFC 6121 §3.1.1) and nickname
// (XEP-0172) a client shows with it, if they fit in maxStoredRequest.
func storedRequest(el *xmlstream.Element) *xmlstream.Element {
	out := xmlstream.New(ns.Client, stanza.Presence, "type", "subscribe")
	for _, c := range el.Elements() {
		if (c.Name.Space == ns.Client && c.Name.Local == "status") || (c.Name.Space == nsNick && c.Name.Local == "nick") {
			out.AddChild(c)
		}
	}
	if len(out.String()) > maxStoredRequest {
		return xmlstream.New(ns.Client, stanza.Presence, "type", "subscribe")
	}
	return out
}

// nsNick is the namespace of XEP-0172 user nicknames.
const nsNick = "http://jabber.org/protocol/nick"

// pendingStanza rebuilds a stored subscription request.
func (p *presences) pendingStanza(pi roster.PendingIn, user jid.JID) *stanza.Stanza {
	el := xmlstream.New(ns.Client, stanza.Presence, "type", "subscribe")
	if pi.Stanza != "" {
		if parsed, err := xmlstream.ParseStored([]byte(pi.Stanza), ns.Client); err == nil && parsed.Name.Local == stanza.Presence {
			el = parsed
		}
	}
	return stanza.New(el, pi.JID, user)
}

// unavailable broadcasts unavailable presence from a resource that was
// available (RFC 6121 §4.5.2) to the subscribed contacts, the user's other
// available resources, and every entity it sent directed presence to
// (§4.6.3).
func (p *presences) unavailable(ctx context.Context, st *stanza.Stanza, wasAvailable bool, directed []jid.JID) {
	user := st.From.Bare()
	sent := map[jid.JID]bool{}
	if wasAvailable {
		items, err := p.roster.Items(ctx, user)
		if err != nil {
			p.h.Log().Error("presence broadcast: reading the roster", "user", user.String(), "err", err)
		}
		for _, it := range items {
			if (State{Sub: it.Subscription}).hasFrom() {
				p.route(ctx, st.WithTo(it.JID))
				sent[it.JID] = true
			}
		}
		for _, full := range p.table.availableResources(user) {
			if full != st.From {
				p.route(ctx, st.WithTo(full))
			}
		}
	}
	for _, to := range directed {
		if !sent[to] && !sent[to.Bare()] {
			p.route(ctx, st.WithTo(to))
		}
	}
}

// stateOf reads the subscription state of contact in user's account.
func (p *presences) stateOf(ctx context.Context, user, contact jid.JID) (State, bool, error) {
	it, _, err := p.roster.Get(ctx, user, contact)
	if err != nil {
		return State{}, false, err
	}
	pending, err := p.roster.PendingIns(ctx, user)
	if err != nil {
		return State{}, false, err
	}
	in := slices.ContainsFunc(pending, func(pi roster.PendingIn) bool { return pi.JID == contact })
	return State{Sub: it.Subscription, Out: it.Ask, Approved: it.Approved, In: in}, in, nil
}

// apply moves contact's state in user's account along one transition of
// the tables in engine.go: the roster item (stored and pushed by the
// roster module) and the pending request. It returns the state before.
func (p *presences) apply(ctx context.Context, user, contact jid.JID, req *stanza.Stanza, step func(State) State) (before, after State, err error) {
	var in bool
	before, in, err = p.stateOf(ctx, user, contact)
	if err != nil {
		return before, before, err
	}
	_, _, err = p.roster.Update(ctx, user, contact, func(it *roster.Item, exists bool) bool {
		cur := State{Sub: it.Subscription, Out: it.Ask, Approved: it.Approved, In: in}
		before = cur
		after = step(cur)
		sub, out, approved := after.itemState()
		if sub == cur.sub() && out == it.Ask && approved == it.Approved {
			return false
		}
		if !exists && after.empty() {
			return false
		}
		it.Subscription, it.Ask, it.Approved = sub, out, approved
		return true
	})
	if err != nil {
		return before, before, err
	}
	switch {
	case before.In && !after.In:
		_, err = p.roster.RemovePendingIn(ctx, user, contact)
	case !before.In && after.In:
		err = p.roster.AddPendingIn(ctx, user, roster.PendingIn{JID: contact, Stanza: storedRequest(req.El).String()})
	}
	return before, after, err
}

// outboundSubscription handles a subscription stanza from a local user
// (RFC 6121 §3.1.2, §3.1.5, §3.2.2, §3.3.2, §3.4).
func (p *presences) outboundSubscription(ctx context.Context, st *stanza.Stanza) {
	user, contact := st.From.Bare(), st.To.Bare()
	typ := st.Type()
	if contact == user {
		// No subscription to oneself: the user's resources share
		// presence without one.
		p.h.Log().Debug("subscription stanza to itself ignored", "user", user.String())
		return
	}
	var route bool
	before, after, err := p.apply(ctx, user, contact, st, func(s State) State {
		var next State
		next, route = Outbound(typ, s)
		return next
	})
	if err != nil {
		p.h.Log().Error("presence: outbound subscription", "user", user.String(), "contact", contact.String(), "type", typ, "err", err)
		p.route(ctx, stanza.ErrorReply(st, errorFor(err)))
		return
	}
	if !route {
		return
	}
	if typ == "unsubscribed" && before.hasFrom() {
		// §3.2.2: a cancelled subscriber is told the user is gone, before
		// the 'unsubscribed'.
		for _, full := range p.table.availableResources(user) {
			p.send(ctx, "unavailable", full, contact)
		}
	}
	// §3.1.2 and the others: stamped with the user's bare JID, addressed
	// to the contact's bare JID.
	out := st.El.ShallowCopy()
	p.route(ctx, stanza.New(out, user, contact))
	if typ == "subscribed" && after.hasFrom() && !before.hasFrom() {
		// §3.1.5: the new subscriber gets the user's current presence.
		for _, last := range p.table.available(user) {
			p.route(ctx, last.WithTo(contact))
		}
	}
}

// inbound handles presence for a local account (presence.in): the inbound
// side of subscriptions (RFC 6121 §3.1.3, §3.1.6, §3.2.3, §3.3.3) and
// probes (§4.3.2). Other presence is left to the router's delivery rules.
func (p *presences) inbound(ctx context.Context, ev *hook.StanzaEvent) hook.Verdict {
	st := ev.Stanza
	typ := st.Type()
	if typ != "probe" && !isSubscription(typ) {
		return hook.Continue
	}
	user, contact := st.To.Bare(), st.From.Bare()
	if contact == user {
		if typ == "probe" {
			p.answerProbe(ctx, user, st.From)
		}
		return hook.Handled
	}
	exists, err := p.h.Accounts().Exists(ctx, user.Domain(), user.Local())
	if err != nil {
		p.h.Log().Error("presence: looking up an account", "user", user.String(), "err", err)
		return hook.Handled
	}
	if !exists {
		// §3.1.3 and §4.3.2: no such account; the sender learns that it
		// has no subscription. Other subscription stanzas are ignored
		// (§8.5.1: presence to an account that does not exist).
		if typ == "subscribe" || typ == "probe" {
			p.send(ctx, "unsubscribed", user, contact)
		}
		return hook.Handled
	}
	if typ == "probe" {
		s, _, err := p.stateOf(ctx, user, contact)
		if err != nil {
			p.h.Log().Error("presence: probe", "user", user.String(), "err", err)
			return hook.Handled
		}
		if !s.hasFrom() {
			// §4.3.2: no subscription, no presence.
			p.send(ctx, "unsubscribed", user, contact)
			return hook.Handled
		}
		p.answerProbe(ctx, user, st.From)
		return hook.Handled
	}
	var act InboundAction
	// The request as delivered and stored comes from the contact's bare
	// JID (§3.1.2).
	req := stanza.New(st.El.ShallowCopy(), contact, user)
	before, _, err := p.apply(ctx, user, contact, req, func(s State) State {
		var next State
		next, act = Inbound(typ, s)
		return next
	})
	if err != nil {
		p.h.Log().Error("presence: inbound subscription", "user", user.String(), "contact", contact.String(), "type", typ, "err", err)
		return hook.Handled
	}
	switch act {
	case AutoReply:
		// §3.1.3: the user approved already; the server answers, and the
		// new subscriber gets the user's presence.
		p.send(ctx, "subscribed", user, contact)
		for _, last := range p.table.available(user) {
			p.route(ctx, last.WithTo(contact))
		}
		return hook.Handled
	case Deliver:
		if typ == "unsubscribe" && before.hasFrom() {
			// §3.3.3: the former subscriber is told the user is gone.
			for _, full := range p.table.availableResources(user) {
				p.send(ctx, "unavailable", full, contact)
			}
		}
		ev.Stanza = req
		return hook.Continue
	}
	return hook.Handled
}

// answerProbe sends the presence of each available resource of user to
// the prober, or unavailable presence when there is none (§4.3.2).
func (p *presences) answerProbe(ctx context.Context, user, to jid.JID) {
	avail := p.table.available(user)
	if len(avail) == 0 {
		p.send(ctx, "unavailable", user, to)
		return
	}
	for _, last := range avail {
		p.route(ctx, last.WithTo(to))
	}
}

// rosterChanged carries out RFC 6121 §2.5.2: when the user removes a
// contact from the roster, the subscriptions both ways are cancelled and a
// pending request is denied.
func (p *presences) rosterChanged(ctx context.Context, ev *hook.RosterEvent) hook.Verdict {
	if !ev.Removed {
		return hook.Continue
	}
	old := State{Sub: roster.Subscription(ev.OldSubscription), Out: ev.OldAsk}
	denied, err := p.roster.RemovePendingIn(ctx, ev.User, ev.Contact)
	if err != nil {
		p.h.Log().Error("presence: removing a pending request", "user", ev.User.String(), "err", err)
	}
	if old.hasFrom() {
		// §3.2.2: unavailable first, then 'unsubscribed'.
		for _, full := range p.table.availableResources(ev.User) {
			p.send(ctx, "unavailable", full, ev.Contact)
		}
	}
	if old.hasTo() || old.Out {
		p.send(ctx, "unsubscribe", ev.User, ev.Contact)
	}
	if old.hasFrom() || denied {
		p.send(ctx, "unsubscribed", ev.User, ev.Contact)
	}
	return hook.Continue
}

// userRemoved cancels every subscription of an account that is being
// deleted, before the roster module deletes the roster, as a roster
// removal of each contact would (§2.5.2).
func (p *presences) userRemoved(ctx context.Context, ev *hook.UserEvent) hook.Verdict {
	user, err := jid.New(ev.Username, ev.Host, "")
	if err != nil {
		return hook.Continue
	}
	items, err := p.roster.Items(ctx, user)
	if err != nil {
		p.h.Log().Error("presence: reading the roster of a removed account", "user", user.String(), "err", err)
		return hook.Continue
	}
	// §3.2.2: subscribers learn that the user's resources are gone
	// before their subscription ends; so do directed presence recipients.
	avail := p.table.availableResources(user)
	for _, it := range items {
		if (State{Sub: it.Subscription}).hasFrom() {
			for _, full := range avail {
				p.send(ctx, "unavailable", full, it.JID)
			}
		}
	}
	for _, full := range avail {
		directed, _ := p.table.setUnavailable(full)
		for _, to := range directed {
			p.send(ctx, "unavailable", full, to)
		}
	}
	for _, it := range items {
		s := State{Sub: it.Subscription, Out: it.Ask}
		if s.hasTo() || s.Out {
			p.send(ctx, "unsubscribe", user, it.JID)
		}
		if s.hasFrom() {
			p.send(ctx, "unsubscribed", user, it.JID)
		}
	}
	pending, err := p.roster.PendingIns(ctx, user)
	if err == nil {
		for _, pi := range pending {
			p.send(ctx, "unsubscribed", user, pi.JID)
		}
	}
	return hook.Continue
}

// errFull answers a subscription that would add a contact to a full
// roster (RFC 6120 §8.3.3.12: a local limit).
var errFull = stanza.ErrPolicyViolation.WithText("the roster is full")

// errorFor maps a roster failure to the stanza error the client gets.
func errorFor(err error) *stanza.Error {
	var se *stanza.Error
	switch {
	case errors.As(err, &se):
		return se
	case errors.Is(err, roster.ErrFull):
		return errFull
	}
	return stanza.ErrInternalServerError
}
