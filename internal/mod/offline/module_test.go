package offline_test

// Socketless tests on modtest: the real router, hooks and registry with
// the module on SQLite, firing the hook points as the c2s session does.

import (
	"context"
	"testing"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/mod/modtest"
	"github.com/parleyim/parley/internal/mod/offline"
	"github.com/parleyim/parley/internal/stanza"
)

// available fires session.available for s, as its c2s session does after
// its initial presence.
func available(env *modtest.Env, s *modtest.Session) {
	hook.Run(context.Background(), env.Hooks, hook.SessionAvailable, &hook.SessionEvent{JID: s.JID()})
}

// undelivered fires message.undelivered with xml addressed to to, as the
// router does (or a c2s session ending with it queued), and returns the
// verdict.
func undelivered(t *testing.T, env *modtest.Env, from, to, xml string) hook.Verdict {
	t.Helper()
	el := modtest.Parse(t, xml)
	st := &stanza.Stanza{El: el, From: jid.MustParse(from), To: jid.MustParse(to)}
	return hook.Run(context.Background(), env.Hooks, hook.MessageUndelivered, &hook.StanzaEvent{Stanza: st})
}

// TestVerdicts pins what the module tells the router for each kind of
// message: Handled when it stored (or deliberately dropped, or answered)
// it, Continue when the router is to bounce it.
func TestVerdicts(t *testing.T) {
	env := modtest.Start(t, modtest.Options{Config: "modules:\n  offline: {max_messages: 1}\n"}, offline.Module)
	alice := env.Login(t, "alice", "home")
	const (
		from = "alice@localhost/home"
		to   = "bob@localhost"
	)
	cases := []struct {
		name, xml string
		want      hook.Verdict
		reply     string // what alice gets, "" for nothing
	}{
		{"stored", `<message from='` + from + `' to='` + to + `' id='1'><body>hi</body></message>`, hook.Handled, ""},
		{"full", `<message from='` + from + `' to='` + to + `' id='2'><body>hi</body></message>`, hook.Handled,
			`<message from='` + to + `' to='` + from + `' id='2' type='error'><body>hi</body><error type='cancel'>` +
				`<service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>` +
				`<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>offline storage is full</text></error></message>`},
		{"no-store", `<message from='` + from + `' to='` + to + `' id='3'><body>hi</body><no-store xmlns='urn:xmpp:hints'/></message>`, hook.Continue, ""},
		{"headline", `<message from='` + from + `' to='` + to + `' id='4' type='headline'><body>hi</body></message>`, hook.Continue, ""},
		{"chat state", `<message from='` + from + `' to='` + to + `' id='5' type='chat'><gone xmlns='http://jabber.org/protocol/chatstates'/></message>`, hook.Handled, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := undelivered(t, env, from, to, tc.xml); got != tc.want {
				t.Errorf("verdict %v, want %v", got, tc.want)
			}
			if tc.reply != "" {
				alice.Expect(t, tc.reply)
			}
			if n := alice.Pending(); n != 0 {
				t.Errorf("alice has %d more stanzas: %v", n, env.Events())
			}
		})
	}
}

// TestStoredAgain: a stored message delivered to a session that ends
// before writing it comes back through message.undelivered; it is stored
// again with its first stamp only, and delivered to the next resource.
func TestStoredAgain(t *testing.T) {
	env := modtest.Start(t, modtest.Options{}, offline.Module)
	env.Login(t, "alice", "home")
	if err := env.Accounts.Register(context.Background(), env.Domain, "bob", modtest.Password); err != nil {
		t.Fatal(err)
	}
	msg := `<message from='alice@localhost/home' to='bob@localhost' id='m1'><body>hi</body></message>`
	if v := undelivered(t, env, "alice@localhost/home", "bob@localhost", msg); v != hook.Handled {
		t.Fatalf("verdict %v", v)
	}

	phone := env.Login(t, "bob", "phone")
	available(env, phone)
	first := phone.Expect(t, `<message from='alice@localhost/home' to='bob@localhost' id='m1'><body>hi</body>`+
		`<delay xmlns='urn:xmpp:delay' from='localhost' stamp='{any}'>Offline Storage</delay></message>`)
	// Nothing left: a second resource gets nothing.
	laptop := env.Login(t, "bob", "laptop")
	available(env, laptop)
	if n := laptop.Pending(); n != 0 {
		t.Fatalf("laptop got %d stanzas: %v", n, env.Events())
	}

	// The phone's session ends with the message still queued.
	phone.Close("connection-timeout", "")
	if v := undelivered(t, env, "alice@localhost/home", "bob@localhost/phone", first.String()); v != hook.Handled {
		t.Fatalf("verdict %v", v)
	}
	tablet := env.Login(t, "bob", "tablet")
	available(env, tablet)
	again := tablet.Expect(t, `<message from='alice@localhost/home' to='bob@localhost' id='m1'><body>hi</body>`+
		`<delay xmlns='urn:xmpp:delay' from='localhost' stamp='{any}'>Offline Storage</delay></message>`)
	if a, b := first.Child("urn:xmpp:delay", "delay").Attr("stamp"), again.Child("urn:xmpp:delay", "delay").Attr("stamp"); a != b {
		t.Errorf("stamp changed from %s to %s", a, b)
	}
}
