package lastactivity

import (
	"context"
	"errors"
	"time"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/mod/roster"
	"github.com/parleyim/parley/internal/module"
)

// NS is the last activity namespace and disco feature (XEP-0012 §6).
const NS = "jabber:iq:last"

// Module is the last activity module.
var Module = define(time.Now)

// define builds the module with its time source (tests pass their own,
// export_test.go).
func define(now func() time.Time) module.Definition {
	return module.Define[Config](
		"lastactivity",
		"Last activity (XEP-0012): server uptime, and when a user was last online, for their contacts",
		[]module.Spec{{Name: "XEP-0012", Version: "2.0"}},
		true,
		nil,
		func(ctx context.Context, h *module.Host, cfg *Config) error { return setup(ctx, h, cfg, now) },
	).WithRequires("roster")
}

func setup(_ context.Context, h *module.Host, _ *Config, now func() time.Time) error {
	kv := h.KV()
	if kv == nil {
		return errors.New("lastactivity: no database")
	}
	rs, ok := module.Use[roster.Service](h)
	if !ok {
		return errors.New("lastactivity: the roster module provides no roster.Service")
	}
	l := &lasts{h: h, store: store{kv: kv}, roster: rs, now: now, started: now(), avail: newAvailability()}
	// XEP-0012 §5: the server's uptime; §3: a user's last logout, answered
	// on the user's behalf.
	if err := h.IQ("get", NS, "query", module.Server, l.uptime); err != nil {
		return err
	}
	if err := h.IQ("get", NS, "query", module.Account, l.account); err != nil {
		return err
	}
	// XEP-0012 §6.
	h.Feature(NS, module.Server)
	h.Feature(NS, module.Account)
	module.On(h, hook.SessionAvailable, hook.Default, l.available)
	// Early: to see presence and IQs before a filter consumes them.
	module.On(h, hook.StanzaIn, hook.Early, l.stanzaIn)
	module.On(h, hook.SessionClosed, hook.Default, l.closed)
	module.On(h, hook.UserRemoved, hook.Default, l.userRemoved)
	return nil
}
