package private

import (
	"context"
	"errors"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/module"
)

// NS is the private XML storage namespace (XEP-0049).
const NS = "jabber:iq:private"

// Module is the private XML storage module.
var Module = module.Define(
	"private",
	"Private XML storage (XEP-0049): arbitrary XML a client keeps on its server",
	[]module.Spec{{Name: "XEP-0049", Version: "1.2"}},
	true,
	defaults,
	setup,
)

func setup(_ context.Context, h *module.Host, cfg *Config) error {
	kv := h.KV()
	if kv == nil {
		return errors.New("private: no database")
	}
	p := &privates{h: h, store: store{kv: kv}, maxSize: int(cfg.MaxSize), maxElements: cfg.MaxElements}
	if err := module.Provide[Service](h, p); err != nil {
		return err
	}
	// The server answers for the account: no 'to', or a bare JID (the
	// handlers refuse any but the sender's own).
	if err := h.IQ("get", NS, "query", module.Account, p.get); err != nil {
		return err
	}
	if err := h.IQ("set", NS, "query", module.Account, p.set); err != nil {
		return err
	}
	h.Feature(NS, module.Server)
	module.On(h, hook.UserRemoved, hook.Default, p.userRemoved)
	return nil
}
