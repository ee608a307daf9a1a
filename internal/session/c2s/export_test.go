package c2s

import (
	"context"
	"log/slog"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/stanza"
)

// EndWithQueued runs what a session bound to full does, when it ends, with
// the stanzas of queue not yet written, on a server with the given hooks
// and logger.
func EndWithQueued(hooks *hook.Registry, log *slog.Logger, full jid.JID, queue []*stanza.Stanza) {
	c := &conn{srv: New(Config{Hooks: hooks, Log: log}), full: full, ctx: context.Background(), queue: queue}
	c.undelivered()
}
