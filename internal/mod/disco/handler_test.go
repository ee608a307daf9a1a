package disco_test

import (
	"context"
	"testing"

	"github.com/parleyim/parley/internal/mod/disco"
	"github.com/parleyim/parley/internal/mod/modtest"
	"github.com/parleyim/parley/internal/mod/ping"
	"github.com/parleyim/parley/internal/mod/register"
	"github.com/parleyim/parley/internal/mod/version"
	"github.com/parleyim/parley/internal/mod/xtime"
	"github.com/parleyim/parley/internal/module"
)

var all = []module.Definition{register.Module, ping.Module, version.Module, xtime.Module, disco.Module}

// XEP-0030 §3.1 example 2 shape: identities, then features, sorted.
const serverInfo = `<iq type='result' id='i1' from='localhost' to='alice@localhost/phone'>
  <query xmlns='http://jabber.org/protocol/disco#info'>
    <identity category='server' type='im' name='Parley'/>
    <feature var='http://jabber.org/protocol/disco#info'/>
    <feature var='http://jabber.org/protocol/disco#items'/>
    <feature var='jabber:iq:register'/>
    <feature var='jabber:iq:version'/>
    <feature var='urn:xmpp:ping'/>
    <feature var='urn:xmpp:time'/>
  </query>
</iq>`

const accountInfo = `<query xmlns='http://jabber.org/protocol/disco#info'>
    <identity category='account' type='registered'/>
    <feature var='http://jabber.org/protocol/disco#info'/>
    <feature var='http://jabber.org/protocol/disco#items'/>
    <feature var='urn:xmpp:ping'/>
  </query>`

func TestInfo(t *testing.T) {
	env := modtest.Start(t, modtest.Options{}, all...)
	alice := env.Login(t, "alice", "phone")
	bob := env.Login(t, "bob", "desk")

	cases := []struct {
		name string
		from *modtest.Session
		send string
		want string
	}{
		{"server", alice,
			`<iq type='get' id='i1' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`,
			serverInfo},
		{"own account", alice,
			`<iq type='get' id='i2' to='alice@localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`,
			`<iq type='result' id='i2' from='alice@localhost' to='alice@localhost/phone'>` + accountInfo + `</iq>`},
		{"own account without to", alice,
			`<iq type='get' id='i3'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`,
			`<iq type='result' id='i3' to='alice@localhost/phone'>` + accountInfo + `</iq>`},
		// XEP-0030 §8 rule 1.2: not allowed to see alice's presence.
		{"another account", bob,
			`<iq type='get' id='i4' to='alice@localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`,
			`<iq type='error' id='i4' from='alice@localhost' to='bob@localhost/desk'>
			  <query xmlns='http://jabber.org/protocol/disco#info'/>
			  <error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`},
		// XEP-0030 §8 rule 1.1: an account that does not exist.
		{"missing account", bob,
			`<iq type='get' id='i5' to='nobody@localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`,
			`<iq type='error' id='i5' from='nobody@localhost' to='bob@localhost/desk'>
			  <query xmlns='http://jabber.org/protocol/disco#info'/>
			  <error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`},
		// XEP-0030 §3.2: an unknown node.
		{"server node", alice,
			`<iq type='get' id='i6' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info' node='http://jabber.org/protocol/commands'/></iq>`,
			`<iq type='error' id='i6' from='localhost' to='alice@localhost/phone'>
			  <query xmlns='http://jabber.org/protocol/disco#info' node='http://jabber.org/protocol/commands'/>
			  <error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`},
		{"account node", alice,
			`<iq type='get' id='i7'><query xmlns='http://jabber.org/protocol/disco#info' node='x'/></iq>`,
			`<iq type='error' id='i7'><query xmlns='http://jabber.org/protocol/disco#info' node='x'/>
			  <error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`},
		// XEP-0030 §5: a node is never empty.
		{"empty node", alice,
			`<iq type='get' id='i8' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info' node=''/></iq>`,
			`<iq type='error' id='i8'><query xmlns='http://jabber.org/protocol/disco#info' node=''/>
			  <error type='modify'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.from.Send(t, tc.send)
			tc.from.Expect(t, tc.want)
			if n := tc.from.Pending(); n != 0 {
				t.Fatalf("%d more stanzas delivered", n)
			}
		})
	}
}

func TestItems(t *testing.T) {
	env := modtest.Start(t, modtest.Options{}, all...)
	alice := env.Login(t, "alice", "phone")
	bob := env.Login(t, "bob", "desk")
	cases := []struct {
		name string
		from *modtest.Session
		send string
		want string
	}{
		// XEP-0030 §4.1: no items is an empty query, not an error.
		{"server", alice,
			`<iq type='get' id='t1' to='localhost'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`,
			`<iq type='result' id='t1' from='localhost' to='alice@localhost/phone'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`},
		{"own account", alice,
			`<iq type='get' id='t2'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`,
			`<iq type='result' id='t2'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`},
		// XEP-0030 §8 rule 2: an empty result for others, even with a node.
		{"another account", bob,
			`<iq type='get' id='t3' to='alice@localhost'><query xmlns='http://jabber.org/protocol/disco#items' node='x'/></iq>`,
			`<iq type='result' id='t3' from='alice@localhost'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`},
		{"server node", alice,
			`<iq type='get' id='t4' to='localhost'><query xmlns='http://jabber.org/protocol/disco#items' node='x'/></iq>`,
			`<iq type='error' id='t4'><query xmlns='http://jabber.org/protocol/disco#items' node='x'/>
			  <error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.from.Send(t, tc.send)
			tc.from.Expect(t, tc.want)
		})
	}
}

// The answers follow what is loaded: a module left out takes its feature
// with it, and a feature or identity declared twice is listed once.
func TestInfoFollowsModules(t *testing.T) {
	echo := module.Define[struct{}]("echo", "declares what disco and ping declare", nil, true, nil,
		func(_ context.Context, h *module.Host, _ *struct{}) error {
			h.Identity(disco.ServerIdentity, module.Server)
			h.Feature(ping.NS, module.Server)
			h.Feature(disco.NSInfo, module.Server)
			return nil
		})
	env := modtest.Start(t, modtest.Options{Config: "modules: {ping: false}"}, ping.Module, echo, disco.Module)
	alice := env.Login(t, "alice", "phone")
	alice.Send(t, `<iq type='get' id='i1' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
	alice.Expect(t, `<iq type='result' id='i1'><query xmlns='http://jabber.org/protocol/disco#info'>
	    <identity category='server' type='im' name='Parley'/>
	    <feature var='http://jabber.org/protocol/disco#info'/>
	    <feature var='http://jabber.org/protocol/disco#items'/>
	    <feature var='urn:xmpp:ping'/>
	  </query></iq>`)
	alice.Send(t, `<iq type='get' id='i2'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
	// Ping is disabled, so the account has no ping feature.
	alice.Expect(t, `<iq type='result' id='i2'><query xmlns='http://jabber.org/protocol/disco#info'>
	    <identity category='account' type='registered'/>
	    <feature var='http://jabber.org/protocol/disco#info'/>
	    <feature var='http://jabber.org/protocol/disco#items'/>
	  </query></iq>`)
}
