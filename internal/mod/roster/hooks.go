package roster

import (
	"context"
	"net/netip"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/jid"
)

// bound starts a new session uninterested (RFC 6121 §2.2: a resource is
// interested once it requests the roster), whatever a session with the
// same full JID did before.
func (r *rosters) bound(_ context.Context, ev *hook.SessionEvent) hook.Verdict {
	if !ev.JID.IsZero() {
		r.interest.remove(ev.JID, netip.AddrPort{}, true)
	}
	return hook.Continue
}

// closed forgets a session that ended. A session replaced by a newer one
// with the same full JID (RFC 6120 §7.7.2.2) may close after its successor
// requested the roster; the address tells them apart.
func (r *rosters) closed(_ context.Context, ev *hook.SessionEvent) hook.Verdict {
	if !ev.JID.IsZero() {
		r.interest.remove(ev.JID, ev.Addr, false)
	}
	return hook.Continue
}

// userRemoved deletes the roster of a removed account, with its version
// and pending requests. Deleting twice is harmless.
func (r *rosters) userRemoved(ctx context.Context, ev *hook.UserEvent) hook.Verdict {
	user, err := jid.New(ev.Username, ev.Host, "")
	if err != nil {
		return hook.Continue
	}
	r.interest.dropUser(user)
	if err := r.store.DeleteUser(ctx, user); err != nil {
		r.h.Log().Error("deleting the roster of a removed account", "user", user.String(), "err", err)
	}
	return hook.Continue
}
