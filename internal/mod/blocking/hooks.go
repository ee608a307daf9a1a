package blocking

import (
	"context"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/stanza"
	"github.com/parleyim/parley/internal/xmlstream"
)

// errBlocked is the error of XEP-0191 §3.3 for a stanza the user sends
// to a JID the user blocked: not-acceptable with the application
// condition <blocked xmlns='urn:xmpp:blocking:errors'/>, of type cancel
// as in the XEP's example.
func errBlocked() *stanza.Error {
	return &stanza.Error{Type: stanza.Cancel, Condition: "not-acceptable", App: xmlstream.New(NSErrors, "blocked")}
}

// refuseOutbound answers a stanza the user sent to a JID the user blocked
// (XEP-0191 §3.3): the stanza is not routed and the user gets
// not-acceptable, from the blocked JID, as the XEP's example shows.
// Errors and IQ results are dropped: RFC 6120 §8.3.1 forbids answering
// them with an error.
func (b *blocker) refuseOutbound(ctx context.Context, st *stanza.Stanza) {
	if st.Type() == "error" || (st.IsIQ() && st.Type() == "result") {
		return
	}
	b.route(withExemption(ctx, exemptAll), stanza.ErrorReply(st, errBlocked()))
}

// refuseInbound answers a stanza from a JID the recipient blocked
// (XEP-0191 §3.3): service-unavailable for messages and IQ gets and sets,
// so the user appears offline to the blocked JID; presence, IQ results and
// errors are dropped without an answer.
func (b *blocker) refuseInbound(ctx context.Context, st *stanza.Stanza) {
	if owesError(st) {
		b.route(withExemption(ctx, exemptAll), stanza.ErrorReply(st, stanza.ErrServiceUnavailable))
	}
}

// owesError reports whether a blocked inbound stanza is answered.
func owesError(st *stanza.Stanza) bool {
	return st.Type() != "error" && (st.IsMessage() || st.IsRequest())
}

// bound starts tracking a session (for pushes and presence).
func (b *blocker) bound(_ context.Context, ev *hook.SessionEvent) hook.Verdict {
	if !ev.JID.IsZero() {
		b.users.bind(ev.JID, ev.Addr)
	}
	return hook.Continue
}

// closed forgets a session that ended.
func (b *blocker) closed(_ context.Context, ev *hook.SessionEvent) hook.Verdict {
	if !ev.JID.IsZero() {
		b.users.unbind(ev.JID, ev.Addr)
	}
	return hook.Continue
}

// outbound (stanza.in) runs on every stanza a local client sends, before
// it is routed:
//
//   - presence without 'to' (a broadcast) is only noted: the resource's
//     availability and presence, for §3.3 and §3.4. The broadcast itself
//     is the presence module's; its copies to blocked contacts are
//     stopped on delivery (see inbound).
//   - a stanza to a JID the user blocked is refused with not-acceptable
//     (§3.3).
//   - a stanza to a local user who blocked the sender is refused as that
//     user's server must (§3.3): here, once, rather than on delivery to
//     each of the recipient's sessions, and before a module answers an IQ
//     for the recipient's account or stores a message for later.
func (b *blocker) outbound(ctx context.Context, ev *hook.StanzaEvent) hook.Verdict {
	st := ev.Stanza
	from := st.From
	if !b.isLocalUser(from) {
		return hook.Continue
	}
	user := from.Bare()
	if st.IsPresence() && st.El.Attr("to") == "" {
		switch st.Type() {
		case "":
			b.users.setPresence(from, st)
		case "unavailable":
			b.users.setPresence(from, nil)
		}
		return hook.Continue
	}
	if b.blocks(ctx, user, st.To) {
		b.refuseOutbound(ctx, st)
		return hook.Handled
	}
	if b.isLocalUser(st.To) && b.blocks(ctx, st.To.Bare(), from) {
		b.refuseInbound(ctx, st)
		return hook.Handled
	}
	return hook.Continue
}

// delivering (stanza.out) runs before a stanza is queued to a local
// session, whoever sent it and whichever way it came:
//
//   - from a JID the session's user blocked: dropped, and answered as
//     §3.3 says (once per stanza, however many sessions it was for).
//   - from a local user who blocked the session's JID: dropped without
//     an answer. This is how the user's own blocklist stops the user's
//     presence broadcast: the presence module routes it to each contact
//     through the router, so it comes through here, on the recipient's
//     side. Errors pass: they are the server's answers on the user's
//     behalf (such as the service-unavailable of §3.3 itself).
func (b *blocker) delivering(ctx context.Context, ev *hook.StanzaEvent) hook.Verdict {
	ex := exemptionOf(ctx)
	if ex == exemptAll {
		return hook.Continue
	}
	st := ev.Stanza
	to := ev.Session
	if to.IsZero() || st.From.IsZero() {
		return hook.Continue
	}
	if b.blocks(ctx, to.Bare(), st.From) {
		if owesError(st) && b.bounced.first(st) {
			b.refuseInbound(ctx, st)
		}
		return hook.Drop
	}
	if ex != exemptSender && st.Type() != "error" && b.isLocalUser(st.From) && b.blocks(ctx, st.From.Bare(), to) {
		return hook.Drop
	}
	return hook.Continue
}

// inboundPresence (presence.in) drops presence for a local account from
// a JID the account blocked, subscription requests and probes included,
// without an answer (§3.3), before the presence module processes it,
// whether the user is online or not.
func (b *blocker) inboundPresence(ctx context.Context, ev *hook.StanzaEvent) hook.Verdict {
	if exemptionOf(ctx) == exemptAll {
		return hook.Continue
	}
	st := ev.Stanza
	if owner := st.To.Bare(); owner.Local() != "" && b.blocks(ctx, owner, st.From) {
		return hook.Drop
	}
	return hook.Continue
}

// undelivered (message.undelivered) keeps a message from a blocked JID
// out of offline storage: Drop makes the router answer
// service-unavailable, the error §3.3 asks for.
func (b *blocker) undelivered(ctx context.Context, ev *hook.StanzaEvent) hook.Verdict {
	st := ev.Stanza
	if owner := st.To.Bare(); owner.Local() != "" && b.blocks(ctx, owner, st.From) {
		return hook.Drop
	}
	return hook.Continue
}

// userRemoved deletes the blocklist of a removed account. Deleting twice
// is harmless.
func (b *blocker) userRemoved(ctx context.Context, ev *hook.UserEvent) hook.Verdict {
	user, err := jid.New(ev.Username, ev.Host, "")
	if err != nil {
		return hook.Continue
	}
	u := b.users.acquire(user)
	defer b.users.release(user, u)
	u.op.Lock()
	defer u.op.Unlock()
	if _, err := b.store.UnblockAll(ctx, user); err != nil {
		b.h.Log().Error("deleting the blocklist of a removed account", "user", user.String(), "err", err)
		return hook.Continue
	}
	u.setList(list{})
	return hook.Continue
}
