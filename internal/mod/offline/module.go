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

// DeliverPerPresence bounds the messages one available presence brings:
// a session's queue holds a few thousand stanzas, and a client that
// cannot read them fast enough is disconnected.
const DeliverPerPresence = 1000

// Module is the offline message module.
var Module = module.Define(
	"offline",
	"Offline messages (XEP-0160): stored for users with no available resource, delivered on their next available presence",
	[]module.Spec{{Name: "XEP-0160", Version: "1.0.1"}, {Name: "XEP-0203", Version: "2.0"}, {Name: "XEP-0334", Version: "1.0.0"}},
	true,
	defaults,
	setup,
).WithMigrations(Migrations...)

func setup(_ context.Context, h *module.Host, cfg *Config) error {
	db := h.DB()
	if db == nil {
		return errors.New("offline: no database")
	}
	o := &offline{h: h, store: NewSQLStore(db), max: cfg.MaxMessages, now: time.Now, neg: newNegatives()}
	h.Feature(Feature, module.Server)
	module.On(h, hook.MessageUndelivered, hook.Default, o.undelivered)
	module.On(h, hook.SessionAvailable, hook.Default, o.available)
	// Early, before the presence module (Default) handles the presence:
	// only the priority is read here.
	module.On(h, hook.StanzaIn, hook.Early, o.ownPresence)
	module.On(h, hook.SessionBound, hook.Default, o.bound)
	module.On(h, hook.SessionClosed, hook.Default, o.closed)
	module.On(h, hook.UserRemoved, hook.Default, o.userRemoved)
	return nil
}
