package roster

import (
	"context"
	"errors"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/xmlstream"
)

// Namespaces of RFC 6121 §2.
const (
	// NS is the roster namespace.
	NS = ns.Roster // jabber:iq:roster
	// NSVer is the roster versioning stream feature (RFC 6121 §2.6.1).
	NSVer = "urn:xmpp:features:rosterver"
)

// Module is the roster module.
var Module = module.Define(
	"roster",
	"Rosters (RFC 6121 §2): contact lists with names, groups, pushes and versions",
	[]module.Spec{{Name: "RFC 6121"}, {Name: "XEP-0237", Version: "1.3"}},
	true,
	defaults,
	setup,
).WithMigrations(Migrations...)

func setup(_ context.Context, h *module.Host, cfg *Config) error {
	db := h.DB()
	if db == nil {
		return errors.New("roster: no database")
	}
	r := &rosters{h: h, store: NewSQLStore(db), maxItems: cfg.MaxItems}
	if err := module.Provide[Service](h, r); err != nil {
		return err
	}
	// The server answers for the account: an IQ with no 'to' or to the
	// user's own bare JID (RFC 6121 §2.1.3, §2.1.5).
	if err := h.IQ("get", NS, "query", module.Account, r.get); err != nil {
		return err
	}
	if err := h.IQ("set", NS, "query", module.Account, r.set); err != nil {
		return err
	}
	// RFC 6121 §2.6.1: at the latest with the bind feature.
	h.StreamFeature(module.StreamFeature{When: module.Account, Element: xmlstream.New(NSVer, "ver")})
	module.On(h, hook.SessionBound, hook.Default, r.bound)
	module.On(h, hook.SessionClosed, hook.Default, r.closed)
	module.On(h, hook.UserRemoved, hook.Default, r.userRemoved)
	return nil
}
