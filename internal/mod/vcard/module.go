package vcard

import (
	"context"
	"errors"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/module"
)

// NS is the vcard-temp namespace and disco feature (XEP-0054 §4).
const NS = "vcard-temp"

// Module is the vcard-temp module.
var Module = module.Define(
	"vcard",
	"vCards (XEP-0054): each user's vCard, stored on the server and readable by anyone",
	[]module.Spec{{Name: "XEP-0054", Version: "1.3.0"}},
	true,
	defaults,
	setup,
)

func setup(_ context.Context, h *module.Host, cfg *Config) error {
	kv := h.KV()
	if kv == nil {
		return errors.New("vcard: no database")
	}
	v := &vcards{h: h, store: store{kv: kv}, maxSize: int(cfg.MaxSize)}
	if err := module.Provide[Service](h, v); err != nil {
		return err
	}
	// XEP-0054 §3: the server answers for the account, whether the IQ is
	// the user's own (no 'to', or the own bare JID) or another's.
	if err := h.IQ("get", NS, "vCard", module.Account, v.get); err != nil {
		return err
	}
	if err := h.IQ("set", NS, "vCard", module.Account, v.set); err != nil {
		return err
	}
	// XEP-0054 §4.
	h.Feature(NS, module.Server)
	module.On(h, hook.UserRemoved, hook.Default, v.userRemoved)
	return nil
}
