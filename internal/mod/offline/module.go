package offline

import (
	"context"
	"errors"
	"time"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/module"
)

// Namespaces and features the module reads or advertises.
const (
	// Feature is the disco#info feature of XEP-0160 §4.
	Feature = "msgoffline"
	// NSHints is the namespace of the XEP-0334 hints (<store/>, <no-store/>).
	NSHints = "urn:xmpp:hints"
	// NSChatStates is the namespace of XEP-0085 chat state notifications.
	NSChatStates = "http://jabber.org/protocol/chatstates"
)

// DeliverBatch is how many stored messages one transaction takes out of
// the store for delivery, and so the most that a delivery which fails
// part-way puts back. Delivery goes on batch after batch until the store
// is empty.
const DeliverBatch = 500

// Module is the offline message module.
var Module = define(time.Now)

// define builds the module with its time source, which stamps the stored
// messages (tests pass their own, export_test.go).
func define(now func() time.Time) module.Definition {
	return module.Define(
		"offline",
		"Offline messages (XEP-0160): stored for users with no available resource, delivered on their next available presence",
		[]module.Spec{{Name: "XEP-0160", Version: "1.0.1"}, {Name: "XEP-0203", Version: "2.0"}, {Name: "XEP-0334", Version: "1.0.0"}},
		true,
		defaults,
		func(ctx context.Context, h *module.Host, cfg *Config) error { return setup(ctx, h, cfg, now) },
	).WithMigrations(Migrations...)
}

func setup(_ context.Context, h *module.Host, cfg *Config, now func() time.Time) error {
	db := h.DB()
	if db == nil {
		return errors.New("offline: no database")
	}
	o := &offline{h: h, store: NewSQLStore(db), max: cfg.MaxMessages, now: now, neg: newNegatives(), active: newDeliveries()}
	if err := module.Provide[Service](h, o); err != nil {
		return err
	}
	h.Feature(Feature, module.Server)
	module.On(h, hook.MessageUndelivered, hook.Default, o.undelivered)
	module.On(h, hook.SessionAvailable, hook.Default, o.available)
	// Early, before the presence module (Default) handles a presence
	// (only its priority is read here), and before other modules see a
	// message with a delay stamp that only this server may write.
	module.On(h, hook.StanzaIn, hook.Early, o.stanzaIn)
	module.On(h, hook.SessionBound, hook.Default, o.bound)
	module.On(h, hook.SessionClosed, hook.Default, o.closed)
	module.On(h, hook.UserRemoved, hook.Default, o.userRemoved)
	return nil
}
