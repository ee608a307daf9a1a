package private

import (
	"context"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/jid"
)

// userRemoved deletes everything a removed account stored. Deleting twice
// is harmless.
func (p *privates) userRemoved(ctx context.Context, ev *hook.UserEvent) hook.Verdict {
	user, err := jid.New(ev.Username, ev.Host, "")
	if err != nil {
		return hook.Continue
	}
	if err := p.store.removeUser(ctx, user); err != nil {
		p.h.Log().Error("deleting the private data of a removed account", "user", user.String(), "err", err)
	}
	return hook.Continue
}
