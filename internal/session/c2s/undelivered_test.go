package c2s_test

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/session/c2s"
	"github.com/parleyim/parley/internal/stanza"
	"github.com/parleyim/parley/internal/xmpptest"
)

// TestQueuedAtEnd: the messages still queued when a session ends go to
// message.undelivered if RFC 6121 would store them (normal, chat, unknown
// types); headline, groupchat and error messages and other stanzas are
// dropped. Those no listener took are lost, and an error log says how
// many.
func TestQueuedAtEnd(t *testing.T) {
	full := jid.MustParse("bob@localhost/phone")
	queue := func(t *testing.T) []*stanza.Stanza {
		var q []*stanza.Stanza
		for _, x := range []string{
			`<message id='normal'><body>1</body></message>`,
			`<message id='explicit' type='normal'><body>2</body></message>`,
			`<message id='chat' type='chat'><body>3</body></message>`,
			`<message id='unknown' type='bogus'><body>4</body></message>`,
			`<message id='headline' type='headline'><body>5</body></message>`,
			`<message id='groupchat' type='groupchat'><body>6</body></message>`,
			`<message id='error' type='error'><body>7</body></message>`,
			`<presence id='presence'/>`,
			`<iq id='iq' type='result'/>`,
		} {
			el := xmpptest.Parse(t, x)
			q = append(q, &stanza.Stanza{El: el, From: jid.MustParse("alice@localhost/home"), To: full})
		}
		return q
	}
	offered := []string{"normal", "explicit", "chat", "unknown"}
	cases := []struct {
		name   string
		take   func(id string) bool // what the listener stores
		listen bool
		lost   string // the count logged, "" for no log
	}{
		{"all stored", func(string) bool { return true }, true, ""},
		{"some refused", func(id string) bool { return id != "chat" && id != "unknown" }, true, "2"},
		{"no listener", nil, false, "4"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hooks := hook.NewRegistry()
			var got []string
			if tc.listen {
				hook.On(hooks, hook.MessageUndelivered, hook.Default, "test", func(_ context.Context, ev *hook.StanzaEvent) hook.Verdict {
					got = append(got, ev.Stanza.ID())
					if tc.take(ev.Stanza.ID()) {
						return hook.Handled
					}
					return hook.Continue
				})
			}
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			c2s.EndWithQueued(hooks, log, full, queue(t))
			if tc.listen && !slices.Equal(got, offered) {
				t.Errorf("offered %v, want %v", got, offered)
			}
			lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
			if tc.lost == "" {
				if logs.Len() != 0 {
					t.Errorf("logged %q", logs.String())
				}
				return
			}
			if len(lines) != 1 || !strings.Contains(lines[0], "level=ERROR") ||
				!strings.Contains(lines[0], "count="+tc.lost) || !strings.Contains(lines[0], "jid="+full.String()) {
				t.Errorf("log %q: want one error with count=%s and jid=%s", logs.String(), tc.lost, full)
			}
		})
	}
}
