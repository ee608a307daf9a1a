package ping

import (
	"context"

	"github.com/parleyim/parley/internal/stanza"
)

// pong answers a ping with an empty result (XEP-0199 §4.2, §4.4).
func pong(_ context.Context, iq *stanza.Stanza) (*stanza.Stanza, error) {
	return stanza.Result(iq, nil), nil
}

// swallow drops a client's error reply to a server ping: a client that
// does not support ping answers service-unavailable (XEP-0199 §4.1), and
// the answer has already reset the session's idle timer.
func swallow(context.Context, *stanza.Stanza) (*stanza.Stanza, error) {
	return nil, nil
}
