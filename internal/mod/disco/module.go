package disco

import (
	"context"

	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/ns"
)

// Namespaces of XEP-0030.
const (
	NSInfo  = ns.DiscoInfo
	NSItems = ns.DiscoItems
)

// Identities this module declares (XEP-0030 §3.1; categories and types
// from the XMPP Registrar's Service Discovery Identities registry).
var (
	// ServerIdentity is the identity of the server: an IM server
	// (XEP-0077 §2 and RFC 6121 name it server/im).
	ServerIdentity = module.Identity{Category: "server", Type: "im", Name: "Parley"}
	// AccountIdentity is the identity the server gives for a registered
	// account (XEP-0030 §3.1: "account" with type "registered").
	AccountIdentity = module.Identity{Category: "account", Type: "registered"}
)

// Module is the disco module. It belongs last in the module list only for
// readers' sake: answers are computed per request from the registry, so
// features that other modules declare later still show up.
var Module = module.Define[struct{}](
	"disco",
	"Service discovery (XEP-0030): what the server and its accounts support",
	[]module.Spec{{Name: "XEP-0030", Version: "2.5.0"}},
	true,
	nil,
	setup,
)

func setup(_ context.Context, h *module.Host, _ *struct{}) error {
	d := &disco{reg: h.Registry()}
	h.Identity(ServerIdentity, module.Server)
	h.Identity(AccountIdentity, module.Account)
	for _, t := range []module.Target{module.Server, module.Account} {
		h.Feature(NSInfo, t)
		h.Feature(NSItems, t)
		if err := h.IQ("get", NSInfo, "query", t, d.info(t)); err != nil {
			return err
		}
		if err := h.IQ("get", NSItems, "query", t, d.items(t)); err != nil {
			return err
		}
	}
	return nil
}
