package register

import (
	"context"

	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/xmlstream"
)

// Namespaces of XEP-0077.
const (
	NS        = ns.Register        // jabber:iq:register
	NSFeature = ns.RegisterFeature // the stream feature
)

// Module is the in-band registration module.
var Module = module.Define(
	"register",
	"In-band registration (XEP-0077): create accounts, change passwords, remove accounts",
	[]module.Spec{{Name: "XEP-0077", Version: "2.4"}},
	true,
	defaults,
	setup,
)

func setup(_ context.Context, h *module.Host, cfg *Config) error {
	r := &registrar{
		h:            h,
		open:         cfg.Open,
		instructions: cfg.Instructions,
		limit:        newLimiter(cfg.PerIP),
	}
	if cfg.Open {
		// XEP-0077 §6: tell clients before authentication.
		h.StreamFeature(module.StreamFeature{When: module.PreAuth, Element: xmlstream.New(NSFeature, "register")})
	}
	// XEP-0077 §8. Password change and removal are supported even when
	// registration is closed, so the feature is always there.
	h.Feature(NS, module.Server)
	// Before authentication the handlers answer even when registration is
	// closed: XEP-0077 §3.1 wants a stanza error, where an unclaimed IQ
	// would end the stream.
	regs := []struct {
		typ    string
		target module.Target
		fn     module.IQHandler
	}{
		{"get", module.PreAuth, r.form},
		{"set", module.PreAuth, r.create},
		// After authentication: to the server, or to the user's own bare
		// JID (which is also where an IQ without 'to' goes).
		{"get", module.Server, r.registration},
		{"set", module.Server, r.change},
		{"get", module.Account, r.registration},
		{"set", module.Account, r.change},
	}
	for _, g := range regs {
		if err := h.IQ(g.typ, NS, "query", g.target, g.fn); err != nil {
			return err
		}
	}
	return nil
}
