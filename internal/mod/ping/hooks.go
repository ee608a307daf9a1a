package ping

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/stanza"
	"github.com/parleyim/parley/internal/xmlstream"
)

type pinger struct {
	h *module.Host
}

// idle probes a session that has been silent for the idle timeout
// (XEP-0199 §4.1, server-to-client ping).
func (p *pinger) idle(ctx context.Context, ev *hook.SessionEvent) hook.Verdict {
	to := ev.JID
	if to.Resource() == "" {
		return hook.Continue
	}
	iq := stanza.NewIQ("get", newID(), to.DomainJID(), to, xmlstream.New(NS, "ping"))
	if err := p.h.Router().Route(ctx, iq); err != nil {
		// The session went away meanwhile; it closes on its own.
		p.h.Log().Debug("idle ping not delivered", "to", to.String(), "err", err)
	}
	return hook.Continue
}

func newID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "ping-" + hex.EncodeToString(b[:])
}
