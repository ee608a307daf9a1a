package xtime

import (
	"context"

	"github.com/parleyim/parley/internal/module"
)

// NS is the XEP-0202 namespace.
const NS = "urn:xmpp:time"

// Module is the entity time module.
var Module = module.Define[struct{}](
	"xtime",
	"Entity time (XEP-0202): the server's clock and UTC offset",
	[]module.Spec{{Name: "XEP-0202", Version: "2.0"}},
	true,
	nil,
	setup,
)

func setup(_ context.Context, h *module.Host, _ *struct{}) error {
	// XEP-0202 §4: advertise the namespace.
	h.Feature(NS, module.Server)
	return h.IQ("get", NS, "time", module.Server, handle)
}
