package blocking

import (
	"context"
	"errors"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/mod/roster"
	"github.com/parleyim/parley/internal/module"
)

// Namespaces of XEP-0191.
const (
	// NS is the blocking command namespace, also its disco feature.
	NS = "urn:xmpp:blocking"
	// NSErrors qualifies the <blocked/> application error condition.
	NSErrors = "urn:xmpp:blocking:errors"
)

// Module is the blocking module.
var Module = define(nil)

// define builds the module's Definition. wrap, if set, wraps the store
// the module uses: the tests count the store's calls with it.
func define(wrap func(Store) Store) module.Definition {
	return module.Define(
		"blocking",
		"Blocking Command (XEP-0191): blocklists, their pushes, and blocked stanzas refused both ways",
		[]module.Spec{{Name: "XEP-0191", Version: "1.3"}},
		true,
		defaults,
		func(ctx context.Context, h *module.Host, cfg *Config) error { return setup(ctx, h, cfg, wrap) },
	).WithMigrations(Migrations...).WithRequires("roster")
}

func setup(_ context.Context, h *module.Host, cfg *Config, wrap func(Store) Store) error {
	db := h.DB()
	if db == nil {
		return errors.New("blocking: no database")
	}
	rs, ok := module.Use[roster.Service](h)
	if !ok {
		return errors.New("blocking: the roster module provides no roster.Service")
	}
	var store Store = NewSQLStore(db)
	if wrap != nil {
		store = wrap(store)
	}
	b := &blocker{h: h, store: store, roster: rs, maxItems: cfg.MaxItems, users: newUsers()}
	// XEP-0191 §3.1: the feature is the server's.
	h.Feature(NS, module.Server)
	// §3.2–§3.5: IQs with no 'to', answered for the account.
	if err := h.IQ("get", NS, "blocklist", module.Account, b.get); err != nil {
		return err
	}
	if err := h.IQ("set", NS, "block", module.Account, b.block); err != nil {
		return err
	}
	if err := h.IQ("set", NS, "unblock", module.Account, b.unblock); err != nil {
		return err
	}
	module.On(h, hook.SessionBound, hook.Default, b.bound)
	// Late: after the presence module's own session.closed broadcast of
	// unavailable presence, whose copies this module still filters with
	// the cached list.
	module.On(h, hook.SessionClosed, hook.Late, b.closed)
	// Early: before the presence module broadcasts, handles directed
	// presence and subscription stanzas, or anything else routes.
	module.On(h, hook.StanzaIn, hook.Early, b.outbound)
	module.On(h, hook.StanzaOut, hook.Early, b.delivering)
	// First: gates, before the presence module processes subscription
	// requests and probes, and before offline storage keeps a message.
	module.On(h, hook.PresenceIn, hook.First, b.inboundPresence)
	module.On(h, hook.MessageUndelivered, hook.First, b.undelivered)
	module.On(h, hook.UserRemoved, hook.Default, b.userRemoved)
	return nil
}
