package lastactivity

import (
	"context"
	"net/netip"
	"time"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/stanza"
)

// writeTimeout bounds a record's write when a session goes offline.
const writeTimeout = 5 * time.Second

// available marks a session that sent initial presence.
func (l *lasts) available(_ context.Context, ev *hook.SessionEvent) hook.Verdict {
	if !ev.JID.IsZero() {
		l.avail.set(ev.JID, ev.Addr)
	}
	return hook.Continue
}

// closed records the moment an available session ended without sending
// unavailable presence first.
func (l *lasts) closed(ctx context.Context, ev *hook.SessionEvent) hook.Verdict {
	if !ev.JID.IsZero() && l.avail.unset(ev.JID, ev.Addr) {
		l.offline(ctx, ev.JID, "")
	}
	return hook.Continue
}

// stanzaIn sees a client's stanzas before routing: its unavailable
// presence, and its last activity queries to other users' resources.
func (l *lasts) stanzaIn(ctx context.Context, ev *hook.StanzaEvent) hook.Verdict {
	st := ev.Stanza
	switch {
	case st.IsPresence() && st.Type() == "unavailable" && st.El.Attr("to") == "":
		// XEP-0012 §3: the status of the last unavailable presence. The
		// sender is the session now bound to its full JID, whatever its
		// address.
		if l.avail.unset(ev.Session, netip.AddrPort{}) {
			l.offline(ctx, ev.Session, clip(st.El.ChildText(ns.Client, "status")))
		}
	case st.IsIQ() && st.Type() == "get" && st.To.Resource() != "" && st.To.Local() != "" &&
		st.To.Bare() != st.From.Bare() && l.h.Router().IsLocal(st.To.Domain()):
		if p := st.Payload(); p == nil || p.Name.Space != NS || p.Name.Local != "query" {
			return hook.Continue
		}
		return l.toResource(ctx, st)
	}
	return hook.Continue
}

// toResource lets a last activity query to a user's full JID through only
// from a sender allowed to see the user's presence (XEP-0012 §4: the
// server "MUST NOT deliver the IQ-get to an available resource but
// instead MUST return a forbidden error").
func (l *lasts) toResource(ctx context.Context, st *stanza.Stanza) hook.Verdict {
	ok, err := l.allowed(ctx, st.To.Bare(), st.From)
	if err == nil && ok {
		return hook.Continue
	}
	se := stanza.ErrForbidden
	if err != nil {
		l.h.Log().Error("reading the roster for a last activity query", "user", st.To.Bare().String(), "err", err)
		se = stanza.ErrInternalServerError
	}
	if rerr := l.h.Router().Route(ctx, stanza.ErrorReply(st, se)); rerr != nil {
		l.h.Log().Debug("error reply not delivered", "err", rerr)
	}
	return hook.Handled
}

// offline records that the user's session full went offline now, leaving
// status.
func (l *lasts) offline(ctx context.Context, full jid.JID, status string) {
	// The session may be ending: the write must not die with it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	// A session of an account being deleted ends after user.removed ran
	// (it is kicked afterwards, or is the very session that asked): its
	// record must not outlive the account.
	if ok, err := l.h.Accounts().Exists(ctx, full.Domain(), full.Local()); err != nil || !ok {
		return
	}
	if err := l.store.put(ctx, full.Bare(), record{Time: l.now().UTC(), Status: status}); err != nil {
		l.h.Log().Error("recording a logout", "user", full.Bare().String(), "err", err)
	}
}

// userRemoved deletes the record of a removed account. Deleting twice is
// harmless.
func (l *lasts) userRemoved(ctx context.Context, ev *hook.UserEvent) hook.Verdict {
	user, err := jid.New(ev.Username, ev.Host, "")
	if err != nil {
		return hook.Continue
	}
	if err := l.store.remove(ctx, user); err != nil {
		l.h.Log().Error("deleting the last activity of a removed account", "user", user.String(), "err", err)
	}
	return hook.Continue
}
