package ping_test

import (
	"context"
	"testing"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/mod/modtest"
	"github.com/parleyim/parley/internal/mod/ping"
)

func TestPong(t *testing.T) {
	env := modtest.Start(t, modtest.Options{}, ping.Module)
	alice := env.Login(t, "alice", "phone")
	env.Login(t, "bob", "desk")
	cases := []struct {
		name, send, want string
	}{
		// XEP-0199 §4.2 examples 4 and 5.
		{"server",
			`<iq type='get' id='c2s1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`,
			`<iq type='result' id='c2s1' from='localhost' to='alice@localhost/phone'/>`},
		// §4.2 note: no 'to', or the own bare JID.
		{"no to",
			`<iq type='get' id='c2s2'><ping xmlns='urn:xmpp:ping'/></iq>`,
			`<iq type='result' id='c2s2' to='alice@localhost/phone'/>`},
		{"own bare JID",
			`<iq type='get' id='c2s3' to='alice@localhost'><ping xmlns='urn:xmpp:ping'/></iq>`,
			`<iq type='result' id='c2s3' from='alice@localhost' to='alice@localhost/phone'/>`},
		// §4.4 note: a bare JID is answered by the server for the user.
		{"another bare JID",
			`<iq type='get' id='e2e1' to='bob@localhost'><ping xmlns='urn:xmpp:ping'/></iq>`,
			`<iq type='result' id='e2e1' from='bob@localhost' to='alice@localhost/phone'/>`},
		{"no such account",
			`<iq type='get' id='e2e2' to='nobody@localhost'><ping xmlns='urn:xmpp:ping'/></iq>`,
			`<iq type='error' id='e2e2' from='nobody@localhost'><ping xmlns='urn:xmpp:ping'/>
			  <error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			alice.Send(t, tc.send)
			alice.Expect(t, tc.want)
		})
	}
}

// XEP-0199 §4.1: an idle session gets a ping from the server, and the
// client's answer, result or error, ends there.
func TestIdlePing(t *testing.T) {
	env := modtest.Start(t, modtest.Options{}, ping.Module)
	alice := env.Login(t, "alice", "phone")
	bob := env.Login(t, "bob", "desk")

	idle := func(j jid.JID) {
		hook.Run(context.Background(), env.Hooks, hook.SessionIdle, &hook.SessionEvent{JID: j})
	}
	idle(alice.JID())
	got := alice.Expect(t, `<iq type='get' from='localhost' to='alice@localhost/phone' id='{any}'><ping xmlns='urn:xmpp:ping'/></iq>`)
	id := got.Attr("id")
	if id == "" {
		t.Fatal("ping without id")
	}
	if bob.Pending() != 0 {
		t.Fatal("bob was pinged too")
	}

	// The pong (§4.1 example 2) and the not-supported error (example 3)
	// are swallowed: nothing comes back, nothing is bounced.
	alice.Send(t, `<iq type='result' id='`+id+`' to='localhost'/>`)
	idle(alice.JID())
	id2 := alice.Next(t).Attr("id")
	if id2 == id {
		t.Fatalf("second ping reused id %q", id)
	}
	alice.Send(t, `<iq type='error' id='`+id2+`' to='localhost'><ping xmlns='urn:xmpp:ping'/>
	  <error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`)
	if n := alice.Pending(); n != 0 {
		t.Fatalf("%d stanzas delivered after the pong: %s", n, alice.Next(t))
	}

	// A session that is gone by the time the hook runs is no error.
	idle(jid.MustParse("carol@localhost/gone"))
	// Nor is an event without a full JID.
	idle(jid.JID{})
}
