package offline

import (
	"context"
	"net/netip"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/stanza"
)

// undelivered stores a message that no resource could take (RFC 6121
// §8.5.2.1.1, §8.5.2.2.1, §8.5.3.2.1, or a session that ended with it
// queued). Handled tells the router the sender is answered: the message
// is stored (committed), or dropped on purpose, or the sender got the
// error this module routed. Continue lets the router bounce
// service-unavailable: the message is not for offline storage, or could
// not be stored.
func (o *offline) undelivered(ctx context.Context, ev *hook.StanzaEvent) hook.Verdict {
	st := ev.Stanza
	if !st.IsMessage() || st.To.Local() == "" {
		return hook.Continue
	}
	// A message a session had queued when it ended may have gone to the
	// user's other resources as well (a message to the bare JID reaches
	// all of the highest priority): it waits for the next available
	// presence rather than going to them again at once.
	switch o.put(ctx, st, ev.Session.IsZero()) {
	case keep, discard:
		return hook.Handled
	default:
		return hook.Continue
	}
}

// available delivers the stored messages to a session that sent its
// initial presence, unless that presence had a negative priority.
func (o *offline) available(ctx context.Context, ev *hook.SessionEvent) hook.Verdict {
	if ev.JID.IsZero() || o.neg.has(ev.JID) {
		return hook.Continue
	}
	o.deliver(ctx, ev.JID)
	return hook.Continue
}

// stanzaIn looks at what a local client sends, before it is routed: its
// own presence, and the delay stamps of its messages. It never stops the
// stanza.
func (o *offline) stanzaIn(ctx context.Context, ev *hook.StanzaEvent) hook.Verdict {
	if ev.Session.IsZero() {
		return hook.Continue
	}
	switch {
	case ev.Stanza.IsMessage():
		o.ownMessage(ev)
	case ev.Stanza.IsPresence():
		o.ownPresence(ctx, ev)
	}
	return hook.Continue
}

// ownMessage removes from a message the delay stamps that claim to come
// from this server (stripServerDelays): the stanza goes on as a copy
// without them.
func (o *offline) ownMessage(ev *hook.StanzaEvent) {
	st := ev.Stanza
	el := stripServerDelays(st.El, o.h.Router().IsLocal)
	if el == st.El {
		return
	}
	o.h.Log().Debug("removed a delay stamp in the server's name", "from", st.From.String())
	ev.Stanza = &stanza.Stanza{El: el, From: st.From, To: st.To}
}

// ownPresence watches the priority of the presence a client broadcasts
// (no 'to'; RFC 6121 §4.2, §4.4). Negative: its session gets no messages
// yet. Raised from negative to zero or more: the session was available
// already, so session.available will not fire — deliver now.
func (o *offline) ownPresence(ctx context.Context, ev *hook.StanzaEvent) {
	st := ev.Stanza
	if st.El.Attr("to") != "" {
		return
	}
	var addr netip.AddrPort
	if org := module.OriginFrom(ctx); org != nil {
		addr = org.Addr
	}
	switch st.Type() {
	case "unavailable":
		o.neg.remove(ev.Session, netip.AddrPort{})
	case "":
		if priority(st.El) < 0 {
			o.neg.add(ev.Session, addr)
		} else if o.neg.remove(ev.Session, netip.AddrPort{}) {
			o.deliver(ctx, ev.Session)
		}
	}
}

// bound starts a session with no recorded priority, whatever a session
// with the same full JID did before.
func (o *offline) bound(_ context.Context, ev *hook.SessionEvent) hook.Verdict {
	o.neg.remove(ev.JID, netip.AddrPort{})
	return hook.Continue
}

// closed forgets a session that ended, unless a newer session with the
// same full JID replaced it.
func (o *offline) closed(_ context.Context, ev *hook.SessionEvent) hook.Verdict {
	o.neg.remove(ev.JID, ev.Addr)
	return hook.Continue
}

// userRemoved deletes the stored messages of a removed account. Deleting
// twice is harmless.
func (o *offline) userRemoved(ctx context.Context, ev *hook.UserEvent) hook.Verdict {
	user, err := jid.New(ev.Username, ev.Host, "")
	if err != nil {
		return hook.Continue
	}
	if err := o.store.DeleteUser(ctx, user); err != nil {
		o.h.Log().Error("deleting the offline messages of a removed account", "user", user.String(), "err", err)
	}
	return hook.Continue
}
