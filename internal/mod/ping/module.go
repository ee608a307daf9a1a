package ping

import (
	"context"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/ns"
)

// NS is the XEP-0199 namespace.
const NS = ns.Ping

// Module is the ping module.
var Module = module.Define[struct{}](
	"ping",
	"XMPP Ping (XEP-0199): answers pings and probes idle clients",
	[]module.Spec{{Name: "XEP-0199", Version: "2.0.1"}},
	true,
	nil,
	setup,
)

func setup(_ context.Context, h *module.Host, _ *struct{}) error {
	p := &pinger{h: h}
	for _, t := range []module.Target{module.Server, module.Account} {
		// XEP-0199 §6: advertise what we answer.
		h.Feature(NS, t)
		if err := h.IQ("get", NS, "ping", t, pong); err != nil {
			return err
		}
	}
	if err := h.IQ("error", NS, "ping", module.Server, swallow); err != nil {
		return err
	}
	module.On(h, hook.SessionIdle, hook.Default, p.idle)
	return nil
}
