package lastactivity

import (
	"context"
	"strconv"
	"time"

	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/mod/roster"
	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/stanza"
	"github.com/parleyim/parley/internal/xmlstream"
)

type lasts struct {
	h       *module.Host
	store   store
	roster  roster.Service
	now     func() time.Time // the time source
	started time.Time
	avail   *availability
}

// reply builds the result query: seconds, and text if any.
func reply(secs int64, text string) *xmlstream.Element {
	q := xmlstream.New(NS, "query", "seconds", strconv.FormatInt(secs, 10))
	if text != "" {
		q.AddText(text)
	}
	return q
}

// uptime answers a query to the server (XEP-0012 §5): how long it has
// been running, without character data.
func (l *lasts) uptime(_ context.Context, iq *stanza.Stanza) (*stanza.Stanza, error) {
	return stanza.Result(iq, reply(seconds(l.started, l.now()), "")), nil
}

// allowed reports whether from may learn the last activity of user: the
// user themself, or a contact allowed to see the user's presence (XEP-0012
// §3: "normally via a presence subscription"), which RFC 6121 §3 records
// as subscription 'from' or 'both' in the user's roster.
func (l *lasts) allowed(ctx context.Context, user, from jid.JID) (bool, error) {
	if from.Bare() == user {
		return true, nil
	}
	it, ok, err := l.roster.Get(ctx, user, from.Bare())
	if err != nil || !ok {
		return false, err
	}
	return it.Subscription == roster.From || it.Subscription == roster.Both, nil
}

// account answers a query to a user's bare JID (XEP-0012 §3).
func (l *lasts) account(ctx context.Context, iq *stanza.Stanza) (*stanza.Stanza, error) {
	user := iq.To.Bare()
	ok, err := l.allowed(ctx, user, iq.From)
	if err != nil {
		return nil, err
	}
	if !ok {
		// §3: "MUST NOT return last activity information but instead MUST
		// return a forbidden error".
		return nil, stanza.ErrForbidden
	}
	if l.avail.any(user) {
		// §3: a user with an available resource has been idle 0 seconds.
		return stanza.Result(iq, reply(0, "")), nil
	}
	rec, found, err := l.store.get(ctx, user)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, stanza.ErrItemNotFound.WithText("no last activity recorded")
	}
	return stanza.Result(iq, reply(seconds(rec.Time, l.now()), rec.Status)), nil
}
