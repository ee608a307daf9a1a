package offline

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/stanza"
	"github.com/parleyim/parley/internal/storage"
	"github.com/parleyim/parley/internal/xmlstream"
)

// offline is the running module.
type offline struct {
	h      *module.Host
	store  Store
	max    int
	now    func() time.Time
	neg    *negatives
	active *deliveries // one delivery at a time per user
}

// decision is what to do with a message nobody could take.
type decision int

const (
	// keep: store it.
	keep decision = iota
	// refuse: not for offline storage; the router bounces it where RFC
	// 6121 §8.5 asks for an error.
	refuse
	// discard: nothing worth keeping, and not worth an error either.
	discard
)

// decide applies XEP-0160 §3 and XEP-0334 to a message.
func decide(el *xmlstream.Element) decision {
	t := el.Attr("type")
	if t == "error" {
		// XEP-0160 §3 (XEP-0079 errors are not stored either), and
		// XEP-0334 §5: hints in an error are ignored.
		return refuse
	}
	if el.Child(NSHints, "no-store") != nil {
		// XEP-0334 §4: not even for later delivery to an offline client.
		return refuse
	}
	if el.Child(NSHints, "store") != nil {
		// XEP-0334 §4: any message but an error SHOULD be stored.
		return keep
	}
	switch t {
	case "groupchat", "headline":
		// XEP-0160 §3: the user cannot be in a room while offline, and
		// headlines are time-sensitive.
		return refuse
	}
	if !hasContent(el) {
		// XEP-0160 §3 (chat) and XEP-0085 §5.8: standalone chat state
		// notifications are not stored.
		return discard
	}
	return keep
}

// hasContent reports whether a message carries something besides chat
// states, a thread, delay stamps and hints: ejabberd's rule for
// "standalone chat state" messages.
func hasContent(el *xmlstream.Element) bool {
	for _, c := range el.Elements() {
		switch {
		case c.Name.Space == el.Name.Space && c.Name.Local == "thread":
		case c.Name.Space == NSChatStates, c.Name.Space == NSHints:
		case c.Name == xmlstream.Name{Space: ns.Delay, Local: "delay"}:
		case c.Name == xmlstream.Name{Space: "jabber:x:delay", Local: "x"}: // XEP-0091, legacy
		case c.Name == xmlstream.Name{Space: "jabber:x:event", Local: "x"}: // XEP-0022, legacy chat states
		default:
			return true
		}
	}
	return false
}

// StampLayout is the format of the delay stamps (XEP-0082 DateTime, UTC,
// with milliseconds).
const StampLayout = "2006-01-02T15:04:05.000Z"

// stamp returns el with a XEP-0203 delay from domain at t appended, or el
// itself if it already has a delay from domain: a message stored again
// after a session ended with it queued keeps its first stamp. Only this
// module writes such a delay: stripServerDelays removes the ones a client
// sends. el is not changed.
func stamp(el *xmlstream.Element, domain string, t time.Time) *xmlstream.Element {
	for _, c := range el.Elements() {
		if c.Name.Space == ns.Delay && c.Name.Local == "delay" && c.Attr("from") == domain {
			return el
		}
	}
	d := xmlstream.New(ns.Delay, "delay", "from", domain, "stamp", t.UTC().Format(StampLayout))
	d.AddText("Offline Storage") // as in XEP-0160 §2, Example 3
	out := el.ShallowCopy()
	// Clipped, so that appending never writes into el's array.
	out.Nodes = append(slices.Clip(el.Nodes), xmlstream.Node{El: d})
	return out
}

// stripServerDelays returns el without its XEP-0203 delays whose 'from'
// is a domain this server hosts (local reports which), or el itself if it
// has none. Such a stamp says the server held the message (XEP-0160 §2):
// a client that wrote one would make its recipient believe a false time,
// and would keep this module from stamping the message if it is stored.
// el is not changed.
func stripServerDelays(el *xmlstream.Element, local func(domain string) bool) *xmlstream.Element {
	forged := func(n xmlstream.Node) bool {
		c := n.El
		if c == nil || c.Name.Space != ns.Delay || c.Name.Local != "delay" {
			return false
		}
		from, err := jid.Parse(c.Attr("from"))
		// The server itself, or one of its resources.
		return err == nil && from.Local() == "" && local(from.Domain())
	}
	if !slices.ContainsFunc(el.Nodes, forged) {
		return el
	}
	out := el.ShallowCopy()
	out.Nodes = slices.DeleteFunc(slices.Clone(el.Nodes), forged)
	return out
}

// errFull is the error the sender of a message gets when the recipient's
// store is full: service-unavailable, as XEP-0160 §2 says for a full
// queue.
var errFull = stanza.ErrServiceUnavailable.WithText("offline storage is full")

// put stores st for its recipient. It returns refuse if st is not to be
// stored, or if storing failed (the router then bounces it). With now set,
// a recipient that has become available meanwhile gets it at once.
func (o *offline) put(ctx context.Context, st *stanza.Stanza, now bool) decision {
	d := decide(st.El)
	if d != keep {
		return d
	}
	user := st.To.Bare()
	stored := o.now()
	el := stamp(st.El, user.Domain(), stored)
	// The sender's session may be ending; a message it handed over is
	// stored all the same.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	_, err := o.store.Put(ctx, user, Message{Stored: stored, Stanza: el.String()}, o.max)
	switch {
	case errors.Is(err, ErrFull):
		o.h.Log().Debug("offline storage full", "user", user.String())
		o.bounce(ctx, st, errFull)
		return discard
	case errors.Is(err, storage.ErrUnavailable):
		// The database is away for now: the sender may try again later
		// (RFC 6120 §8.3.2, type wait), rather than be told the user
		// cannot take messages.
		o.h.Log().Error("storing an offline message: storage unavailable", "user", user.String(), "err", err)
		o.bounce(ctx, st, stanza.ErrTemporaryFailure)
		return discard
	case err != nil:
		o.h.Log().Error("storing an offline message", "user", user.String(), "err", err)
		return refuse
	}
	// The user may have become available while the message was on its
	// way here, and the delivery that available presence started may have
	// looked at the store before this message was in it. Every session
	// is marked available before that delivery starts, so looking now,
	// after the commit, closes the gap: the message goes out at once
	// rather than at the next login. Take hands each message out once,
	// whichever delivery gets there first.
	if !now {
		return keep
	}
	if to, ok := o.h.Router().BestAvailable(user); ok && !o.neg.has(to) {
		o.deliver(ctx, to)
	}
	return keep
}

// storeTimeout bounds one store operation.
const storeTimeout = 30 * time.Second

// bounce routes the error reply for st to its sender, by the rules the
// router's own bounces follow (RFC 6120 §8.3.1: never for an error).
func (o *offline) bounce(ctx context.Context, st *stanza.Stanza, e *stanza.Error) {
	if st.Type() == "error" || st.From.IsZero() {
		return
	}
	if err := o.h.Router().Route(ctx, stanza.ErrorReply(st, e)); err != nil {
		o.h.Log().Debug("offline bounce not delivered", "to", st.From.String(), "err", err)
	}
}

// deliver hands the stored messages of to's account to the resource to,
// oldest first, DeliverBatch at a time, until the store is empty. Each
// goes to that session only (XEP-0160 §2), through Router.Deliver: the
// delivery rules of RFC 6121 §8.5.3.2 are for stanzas a sender addressed,
// and would bounce, re-store or drop messages the server accepted long
// ago. When the session takes no more (it is closing, or its queue is
// full and it closes itself), the rest of the batch is put back as it was
// and delivery stops; the next available presence brings it.
func (o *offline) deliver(ctx context.Context, to jid.JID) {
	user := to.Bare()
	if !o.active.start(user, to) {
		// A delivery to this user runs: it looks at the store again for
		// this session before it stops, so what this call was for goes out
		// in order, behind the messages it is sending.
		return
	}
	for {
		o.deliverAll(ctx, user, to)
		next, ok := o.active.next(user)
		if !ok {
			return
		}
		if next != to {
			// Another session's turn: not bound by this one's context,
			// which may be ending.
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
			defer cancel()
		}
		to = next
	}
}

// deliverAll delivers the user's store to the session to until the store
// is empty, an error stops it, or the session takes no more.
func (o *offline) deliverAll(ctx context.Context, user, to jid.JID) {
	for {
		msgs, err := o.store.Take(ctx, user, DeliverBatch)
		if err != nil {
			if ctx.Err() != nil {
				// The session is ending; the messages stay stored.
				o.h.Log().Debug("offline delivery stopped", "user", user.String(), "err", err)
				return
			}
			o.h.Log().Error("taking offline messages", "user", user.String(), "err", err)
			return
		}
		if len(msgs) == 0 {
			return
		}
		for i, m := range msgs {
			st, err := parse(m.Stanza)
			if err != nil {
				o.h.Log().Error("dropping a stored offline message", "user", user.String(), "id", m.ID, "err", err)
				continue
			}
			// To the resource that sent the presence (XEP-0160 §2); the
			// 'to' attribute stays as the sender wrote it.
			st.To = to
			if err := o.h.Router().Deliver(ctx, st); err != nil {
				o.putBack(ctx, user, msgs[i:], err)
				return
			}
		}
	}
}

// putBack returns to the store the messages of a batch that the session
// did not take, with their ids and stamps: they come out first next time.
func (o *offline) putBack(ctx context.Context, user jid.JID, msgs []Message, cause error) {
	// The session is ending; what it did not take is stored all the same.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	if err := o.store.Restore(ctx, user, msgs); err != nil {
		o.h.Log().Error("offline messages lost: the session did not take them and they could not be stored again",
			"user", user.String(), "count", len(msgs), "err", err)
		return
	}
	o.h.Log().Debug("offline delivery stopped; the rest stays stored", "user", user.String(), "count", len(msgs), "err", cause)
}

// parse rebuilds a stored message.
func parse(s string) (*stanza.Stanza, error) {
	// What the module stored itself: a stanza the stream limits let in,
	// written again by Append, plus its stamp.
	el, err := xmlstream.ParseStored([]byte(s), ns.Client)
	if err != nil {
		return nil, fmt.Errorf("offline: stored stanza: %w", err)
	}
	if el.Name.Local != stanza.Message {
		return nil, fmt.Errorf("offline: stored stanza is a %s", el.Name.Local)
	}
	st := &stanza.Stanza{El: el}
	if f := el.Attr("from"); f != "" {
		if st.From, err = jid.Parse(f); err != nil {
			return nil, fmt.Errorf("offline: stored stanza: from: %w", err)
		}
	}
	return st, nil
}

// priority reads the priority of an available presence (RFC 6121 §4.7.2.3;
// the c2s session has checked it is an integer from -128 to 127).
func priority(el *xmlstream.Element) int {
	p := el.Child(el.Name.Space, "priority")
	if p == nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(p.Text()))
	if err != nil {
		return 0
	}
	return n
}

// negatives holds the sessions that are available with a negative
// priority: XEP-0160 §2 delivers only on non-negative presence, so they
// get their messages when they raise it. The address tells a session from
// the one it replaced (RFC 6120 §7.7.2.2).
type negatives struct {
	mu sync.Mutex
	m  map[jid.JID]netip.AddrPort
}

func newNegatives() *negatives { return &negatives{m: make(map[jid.JID]netip.AddrPort)} }

func (n *negatives) add(j jid.JID, addr netip.AddrPort) {
	n.mu.Lock()
	n.m[j] = addr
	n.mu.Unlock()
}

func (n *negatives) has(j jid.JID) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	_, ok := n.m[j]
	return ok
}

// remove forgets j — only if it was recorded from addr, unless addr is
// the zero value — and reports whether it was there.
func (n *negatives) remove(j jid.JID, addr netip.AddrPort) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	got, ok := n.m[j]
	if !ok || (addr.IsValid() && got != addr) {
		return false
	}
	delete(n.m, j)
	return true
}

// Messages implements Service.
func (o *offline) Messages(ctx context.Context, user jid.JID) ([]Message, error) {
	ms, err := o.store.List(ctx, user.Bare())
	if err != nil {
		return nil, fmt.Errorf("offline: messages of %s: %w", user.Bare(), err)
	}
	return ms, nil
}

// Import implements Service.
func (o *offline) Import(ctx context.Context, user jid.JID, ms []Message) error {
	user = user.Bare()
	for i, m := range ms {
		if _, err := parse(m.Stanza); err != nil {
			return fmt.Errorf("offline: import for %s, message %d: %w", user, i+1, err)
		}
	}
	for i, m := range ms {
		if _, err := o.store.Put(ctx, user, m, 0); err != nil {
			return fmt.Errorf("offline: import for %s, message %d: %w", user, i+1, err)
		}
	}
	return nil
}

// deliveries lets one delivery at a time run per user, so that stored
// messages go out in the order they were stored even when an available
// presence and a message stored just after it both start one. A call that
// finds a delivery running leaves its session to it.
type deliveries struct {
	mu sync.Mutex
	m  map[jid.JID]*jid.JID // user → a session that asked meanwhile, or nil
}

func newDeliveries() *deliveries { return &deliveries{m: make(map[jid.JID]*jid.JID)} }

// start reports whether the caller is to deliver user's store to to; if a
// delivery runs already, to is left to it.
func (d *deliveries) start(user, to jid.JID) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, running := d.m[user]; running {
		d.m[user] = &to
		return false
	}
	d.m[user] = nil
	return true
}

// next is called by the running delivery when it stops. It returns the
// session that asked meanwhile, to deliver to next; or it ends the
// delivery and reports false.
func (d *deliveries) next(user jid.JID) (jid.JID, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if to := d.m[user]; to != nil {
		d.m[user] = nil
		return *to, true
	}
	delete(d.m, user)
	return jid.JID{}, false
}
