package version

import (
	"context"

	"github.com/parleyim/parley/internal/module"
)

// NS is the XEP-0092 namespace.
const NS = "jabber:iq:version"

// Name is the software name the server reports.
const Name = "Parley"

// Module is the version module.
var Module = module.Define(
	"version",
	"Software version (XEP-0092): the server's name and version",
	[]module.Spec{{Name: "XEP-0092", Version: "1.1"}},
	true,
	defaults,
	setup,
)

func setup(_ context.Context, h *module.Host, cfg *Config) error {
	a := answer{version: h.Version()}
	if cfg.ShowOS {
		a.os = osName()
	}
	// XEP-0092 §4: advertise the namespace.
	h.Feature(NS, module.Server)
	return h.IQ("get", NS, "query", module.Server, a.handle)
}
