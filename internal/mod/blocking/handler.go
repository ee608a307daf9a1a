package blocking

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/netip"
	"slices"

	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/mod/roster"
	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/stanza"
	"github.com/parleyim/parley/internal/xmlstream"
)

// The stanza errors of the commands, each with the rule that asks for it.
var (
	// XEP-0191 §3.2–§3.5: the commands are sent by the user to the own
	// server ("no 'to' address"); nobody else reads or changes the list.
	errForbidden = stanza.ErrForbidden.WithText("only the account itself may use its blocklist")
	// §3.3: a block command names at least one JID.
	errEmptyBlock = stanza.ErrBadRequest.WithText("a block command holds at least one item")
	// §3.4, §3.5: an unblock command names JIDs with items, or is empty
	// (unblock all); one whose children are all something else names
	// nothing, and is not the empty command either.
	errNoUnblockItem = stanza.ErrBadRequest.WithText("an unblock command holds items, or nothing to unblock all")
	// §8 (schema): 'jid' is required on an item.
	errNoJID = stanza.ErrBadRequest.WithText("an item has no jid")
	// RFC 6120 §8.3.3.8: the 'jid' is not an XMPP address.
	errBadJID = stanza.ErrJIDMalformed.WithText("an item's jid is not a valid JID")
	// RFC 6120 §8.3.3.12: a local limit (modules.blocking.max_items).
	errFull = stanza.ErrPolicyViolation.WithText("the blocklist is full")
)

// owner returns the user whose blocklist an IQ is about: the sender's
// own account, addressed with no 'to' or the own bare JID.
func (b *blocker) owner(iq *stanza.Stanza) (jid.JID, error) {
	from := iq.From
	if !b.isLocalUser(from) || iq.To.Bare() != from.Bare() {
		return jid.JID{}, errForbidden
	}
	return from.Bare(), nil
}

// items returns the JIDs of the <item/> children of a command, each once,
// in the order given.
func items(cmd *xmlstream.Element) ([]jid.JID, error) {
	var out []jid.JID
	for _, e := range cmd.Elements() {
		if e.Name != (xmlstream.Name{Space: NS, Local: "item"}) {
			continue
		}
		if !e.HasAttr("jid") {
			return nil, errNoJID
		}
		j, err := jid.Parse(e.Attr("jid"))
		if err != nil {
			return nil, errBadJID
		}
		if !contains(out, j) {
			out = append(out, j)
		}
	}
	return out, nil
}

func contains(js []jid.JID, j jid.JID) bool {
	for _, o := range js {
		if o == j {
			return true
		}
	}
	return false
}

// command renders a <block/>, <unblock/> or <blocklist/> element with one
// item per JID.
func command(name string, js []jid.JID) *xmlstream.Element {
	e := xmlstream.New(NS, name)
	for _, j := range js {
		e.AddChild(xmlstream.New(NS, "item", "jid", j.String()))
	}
	return e
}

func origin(ctx context.Context) netip.AddrPort {
	if o := module.OriginFrom(ctx); o != nil {
		return o.Addr
	}
	return netip.AddrPort{}
}

// get answers a blocklist request (XEP-0191 §3.2) and makes the sending
// resource an interested one (§3.3: pushes go to the resources that
// requested the blocklist). The result goes out under the user's op lock,
// so a push of a later change cannot overtake it.
func (b *blocker) get(ctx context.Context, iq *stanza.Stanza) (*stanza.Stanza, error) {
	user, err := b.owner(iq)
	if err != nil {
		return nil, err
	}
	u := b.users.acquire(user)
	defer b.users.release(user, u)
	u.op.Lock()
	defer u.op.Unlock()
	l, err := b.listOf(ctx, user, u)
	if err != nil {
		return nil, err
	}
	if iq.From.Resource() != "" {
		b.users.setInterested(iq.From, origin(ctx))
	}
	b.route(ctx, stanza.Result(iq, command("blocklist", l.sorted())))
	return nil, nil
}

// block handles a block command (XEP-0191 §3.3).
func (b *blocker) block(ctx context.Context, iq *stanza.Stanza) (*stanza.Stanza, error) {
	user, err := b.owner(iq)
	if err != nil {
		return nil, err
	}
	js, err := items(iq.Payload())
	if err != nil {
		return nil, err
	}
	if len(js) == 0 {
		return nil, errEmptyBlock
	}
	if len(js) > b.maxItems {
		return nil, errFull
	}
	return b.change(ctx, iq, user, "block", false, func(cur list) ([]jid.JID, list, error) {
		added, err := b.store.Block(ctx, user, js, b.maxItems)
		if errors.Is(err, ErrFull) {
			return nil, nil, errFull
		}
		return added, cur.with(added), err
	}, b.blocked)
}

// unblock handles an unblock command: of the JIDs it names (XEP-0191
// §3.4), or of all, when it has no child element at all (§3.5). Children
// other than {urn:xmpp:blocking}item are ignored, as in a block command;
// a command holding only such children names nothing and gets
// bad-request, never the unblocking of all.
func (b *blocker) unblock(ctx context.Context, iq *stanza.Stanza) (*stanza.Stanza, error) {
	user, err := b.owner(iq)
	if err != nil {
		return nil, err
	}
	cmd := iq.Payload()
	js, err := items(cmd)
	if err != nil {
		return nil, err
	}
	all := len(cmd.Elements()) == 0
	if !all && len(js) == 0 {
		return nil, errNoUnblockItem
	}
	return b.change(ctx, iq, user, "unblock", all, func(cur list) ([]jid.JID, list, error) {
		if all {
			removed, err := b.store.UnblockAll(ctx, user)
			return removed, list{}, err
		}
		removed, err := b.store.Unblock(ctx, user, js)
		return removed, cur.without(removed), err
	}, b.unblocked)
}

// change runs one command under the user's op lock: write applies it to
// the store and returns what it changed and the new list; the change is
// then cached, pushed (§3.3–§3.5) to every interested resource as a
// <name/> with the changed items (with none when all is set: unblocking
// all), and after (the presence of §3.3, §3.4) is called; then the
// command is answered. A command that changes nothing is only answered.
func (b *blocker) change(ctx context.Context, iq *stanza.Stanza, user jid.JID, name string, all bool,
	write func(cur list) ([]jid.JID, list, error),
	after func(ctx context.Context, user jid.JID, changed []jid.JID, now list)) (*stanza.Stanza, error) {
	u := b.users.acquire(user)
	defer b.users.release(user, u)
	u.op.Lock()
	defer u.op.Unlock()
	cur, err := b.listOf(ctx, user, u)
	if err != nil {
		return nil, err
	}
	changed, now, err := write(cur)
	if err != nil {
		return nil, err
	}
	if len(changed) == 0 {
		return stanza.Result(iq, nil), nil
	}
	u.setList(now)
	pushed := changed
	if all {
		pushed = nil // §3.5: the push of unblocking all is an empty <unblock/>
	}
	payload := command(name, pushed)
	for _, full := range b.users.interested(user) {
		b.route(ctx, stanza.NewIQ("set", newID(), user, full, payload))
	}
	after(ctx, user, changed, now)
	return stanza.Result(iq, nil), nil
}

// blocked sends unavailable presence (XEP-0191 §3.3) from each available
// resource of the user to each contact the new items block that may
// receive the user's presence: those with a subscription from the user
// (RFC 6121 §4.2.2). The user's own blocklist would stop it; it is
// exempted.
func (b *blocker) blocked(ctx context.Context, user jid.JID, added []jid.JID, _ list) {
	resources := b.users.available(user)
	if len(resources) == 0 {
		return
	}
	ctx = withExemption(ctx, exemptSender)
	for _, to := range b.presenceTargets(ctx, user, added, nil) {
		for _, r := range resources {
			el := xmlstream.New(ns.Client, stanza.Presence, "type", "unavailable")
			b.route(ctx, stanza.New(el, r.From, to))
		}
	}
}

// unblocked sends the user's current presence (XEP-0191 §3.4) — the last
// presence each available resource broadcast — to each contact the
// removed items blocked that may receive it and that no remaining item
// blocks.
func (b *blocker) unblocked(ctx context.Context, user jid.JID, removed []jid.JID, now list) {
	resources := b.users.available(user)
	if len(resources) == 0 {
		return
	}
	for _, to := range b.presenceTargets(ctx, user, removed, now) {
		for _, r := range resources {
			b.route(ctx, r.WithTo(to))
		}
	}
}

// presenceTargets returns the addresses that presence about a change of
// the items js goes to: each roster contact of the user subscribed to the
// user's presence (subscription from or both) whose JID an item matches,
// addressed as the item names it when the item is a resource of the
// contact. Addresses that still blocks are left out.
func (b *blocker) presenceTargets(ctx context.Context, user jid.JID, js []jid.JID, still list) []jid.JID {
	contacts, err := b.roster.Items(ctx, user)
	if err != nil {
		b.h.Log().Error("reading the roster for blocklist presence", "user", user.String(), "err", err)
		return nil
	}
	var out []jid.JID
	for _, c := range contacts {
		if c.Subscription != roster.From && c.Subscription != roster.Both {
			continue
		}
		for _, j := range js {
			var to jid.JID
			switch {
			case j.Resource() != "" && j.Bare() == c.JID:
				to = j
			case newList([]jid.JID{j}).blocks(c.JID):
				to = c.JID
			default:
				continue
			}
			if !still.blocks(to) && !contains(out, to) {
				out = append(out, to)
			}
		}
	}
	// Presence to a contact's bare JID reaches all its resources: one to
	// a resource as well would be a duplicate.
	return slices.DeleteFunc(out, func(j jid.JID) bool {
		return j.Resource() != "" && contains(out, j.Bare())
	})
}

// route sends a stanza the module makes. What cannot be delivered is the
// recipient's business: the session is gone, or the contact is offline.
func (b *blocker) route(ctx context.Context, st *stanza.Stanza) {
	if err := b.h.Router().Route(ctx, st); err != nil {
		b.h.Log().Debug("stanza not delivered", "to", st.To.String(), "err", err)
	}
}

// newID returns an id for a push (RFC 6120 §8.1.3: every IQ has one).
func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "block-" + hex.EncodeToString(b[:])
}
