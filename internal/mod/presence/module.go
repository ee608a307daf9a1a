package presence

import (
	"context"
	"errors"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/mod/roster"
	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/xmlstream"
)

// NSPreApproval is the stream feature that announces subscription
// pre-approval (RFC 6121 §3.4.1).
const NSPreApproval = "urn:xmpp:features:pre-approval"

// Module is the presence module.
var Module = module.Define[struct{}](
	"presence",
	"Presence (RFC 6121 §3, §4): subscriptions, broadcast, probes and directed presence",
	[]module.Spec{{Name: "RFC 6121"}},
	true,
	nil,
	setup,
).WithRequires("roster")

func setup(_ context.Context, h *module.Host, _ *struct{}) error {
	rs, ok := module.Use[roster.Service](h)
	if !ok {
		return errors.New("presence: the roster module provides no roster.Service")
	}
	p := &presences{h: h, roster: rs}
	if err := module.Provide[Service](h, p); err != nil {
		return err
	}
	h.StreamFeature(module.StreamFeature{When: module.Account, Element: xmlstream.New(NSPreApproval, "sub")})
	module.On(h, hook.SessionBound, hook.Default, p.bound)
	module.On(h, hook.SessionClosed, hook.Default, p.closed)
	module.On(h, hook.StanzaIn, hook.Default, p.outbound)
	module.On(h, hook.PresenceIn, hook.Default, p.inbound)
	module.On(h, hook.RosterItemChanged, hook.Default, p.rosterChanged)
	// Early: the roster is still there to say who must be told.
	module.On(h, hook.UserRemoved, hook.Early, p.userRemoved)
	return nil
}
