package vcard

import (
	"context"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/jid"
)

// userRemoved deletes the vCard of a removed account. Deleting twice is
// harmless.
func (v *vcards) userRemoved(ctx context.Context, ev *hook.UserEvent) hook.Verdict {
	user, err := jid.New(ev.Username, ev.Host, "")
	if err != nil {
		return hook.Continue
	}
	if err := v.store.remove(ctx, user); err != nil {
		v.h.Log().Error("deleting the vcard of a removed account", "user", user.String(), "err", err)
	}
	return hook.Continue
}
