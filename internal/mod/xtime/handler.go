package xtime

import (
	"context"
	"time"

	"github.com/parleyim/parley/internal/stanza"
	"github.com/parleyim/parley/internal/xmlstream"
)

// Layouts of XEP-0082: TZD as a numeric offset, and DateTime in UTC with
// milliseconds.
const (
	tzoLayout = "-07:00"
	utcLayout = "2006-01-02T15:04:05.000Z"
)

// handle answers a time query (XEP-0202 §3: tzo and utc are required).
func handle(_ context.Context, iq *stanza.Stanza) (*stanza.Stanza, error) {
	now := time.Now()
	t := xmlstream.New(NS, "time")
	t.AddChild(xmlstream.New(NS, "tzo").AddText(now.Format(tzoLayout)))
	t.AddChild(xmlstream.New(NS, "utc").AddText(now.UTC().Format(utcLayout)))
	return stanza.Result(iq, t), nil
}
