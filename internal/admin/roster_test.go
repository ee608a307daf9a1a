package admin_test

import (
	"context"
	"net/http"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/admin"
	"github.com/parleyim/parley/internal/app"
	"github.com/parleyim/parley/internal/client"
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/mod/roster"
	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/xmlstream"
	"github.com/parleyim/parley/internal/xmpptest"
)

// The roster and message tests talk to real clients logged in over TCP,
// STARTTLS and SCRAM. The admin API routes what it sends before it
// answers, so once a call returned, a ping of the client's own comes back
// behind anything the call sent it: absence is proven that way, never by
// waiting.

// expectQueued waits for the first stanza on c matching the pattern want
// (xmpptest.Match), leaving the others queued.
func expectQueued(t *testing.T, c *client.Conn, want string) {
	t.Helper()
	w := xmpptest.Parse(t, want)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := c.RecvMatch(ctx, func(e *xmlstream.Element) bool { return xmpptest.Match(w, e) }); err != nil {
		t.Fatalf("%s: waiting for %s: %v", c.JID(), want, err)
	}
}

// nothing proves that c was sent nothing so far: a ping round trip, then
// an empty queue.
func nothing(t *testing.T, c *client.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := c.IQ(ctx, xmpptest.Parse(t, `<iq type='get' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`)); err != nil {
		t.Fatalf("%s: ping: %v", c.JID(), err)
	}
	done, stop := context.WithCancel(t.Context())
	stop()
	if e, err := c.Recv(done); err == nil {
		t.Fatalf("%s received %s, want nothing", c.JID(), e)
	}
}

// rosterGet makes c an interested resource (RFC 6121 §2.2), which gets
// roster pushes.
func rosterGet(t *testing.T, c *client.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := c.IQ(ctx, xmpptest.Parse(t, `<iq type='get'><query xmlns='jabber:iq:roster'/></iq>`)); err != nil {
		t.Fatalf("%s: roster get: %v", c.JID(), err)
	}
}

// rosterService is the running roster module's service, to set up and
// check states the API does not set.
func rosterService(t *testing.T, srv *xmpptest.Server) roster.Service {
	t.Helper()
	rs, ok := module.Lookup[roster.Service](srv.App.Registry())
	if !ok {
		t.Fatal("no roster.Service: the roster module is not running")
	}
	return rs
}

func TestRoster(t *testing.T) {
	srv, c := start(t, "", nil)
	ctx := t.Context()
	alice := srv.User(t, "alice", "phone")
	rosterGet(t, alice)

	// An empty roster is a list, not an error.
	l, err := c.Roster(ctx, "alice@localhost")
	if err != nil || l.JID != "alice@localhost" || l.Items == nil || len(l.Items) != 0 {
		t.Fatalf("Roster of a new account = %+v, %v; want an empty list", l, err)
	}

	// Added: the contact is prepared, the groups sorted, the subscription
	// none (RFC 6121 §2.1.5), and the client gets the push (§2.1.6).
	res, err := c.RosterPut(ctx, "Alice@LocalHost", "Bob@LocalHost", admin.RosterItemRequest{Name: "Bob B.", Groups: []string{"Work", "Friends"}})
	if err != nil {
		t.Fatal(err)
	}
	want := admin.RosterResult{JID: "alice@localhost", Change: admin.RosterAdded, Item: admin.RosterItem{
		JID: "bob@localhost", Name: "Bob B.", Subscription: "none", Groups: []string{"Friends", "Work"}}}
	if !reflect.DeepEqual(res, want) {
		t.Fatalf("RosterPut = %+v, want %+v", res, want)
	}
	xmpptest.Expect(t, alice, `<iq type='set' from='alice@localhost' to='alice@localhost/phone'><query xmlns='jabber:iq:roster' ver='{any}'>
	  <item jid='bob@localhost' name='Bob B.' subscription='none'><group>Friends</group><group>Work</group></item></query></iq>`)

	// The same name and groups again change nothing and push nothing.
	res, err = c.RosterPut(ctx, "alice@localhost", "bob@localhost", admin.RosterItemRequest{Name: "Bob B.", Groups: []string{"Friends", "Work"}})
	if err != nil || res.Change != admin.RosterUnchanged || res.Item.Name != "Bob B." {
		t.Fatalf("RosterPut unchanged = %+v, %v", res, err)
	}
	nothing(t, alice)

	// Updated: name and groups are replaced, the subscription state is
	// kept (§2.4).
	if _, _, err := rosterService(t, srv).Update(ctx, jid.MustParse("alice@localhost"), jid.MustParse("bob@localhost"), func(it *roster.Item, _ bool) bool {
		it.Subscription, it.Ask = roster.From, true
		return true
	}); err != nil {
		t.Fatal(err)
	}
	xmpptest.Expect(t, alice, `<iq type='set'><query xmlns='jabber:iq:roster' ver='{any}'>
	  <item jid='bob@localhost' name='Bob B.' subscription='from' ask='subscribe'><group>Friends</group><group>Work</group></item></query></iq>`)
	res, err = c.RosterPut(ctx, "alice@localhost", "bob@localhost", admin.RosterItemRequest{Name: "Robert"})
	if err != nil || res.Change != admin.RosterUpdated {
		t.Fatalf("RosterPut update = %+v, %v", res, err)
	}
	xmpptest.Expect(t, alice, `<iq type='set'><query xmlns='jabber:iq:roster' ver='{any}'>
	  <item jid='bob@localhost' name='Robert' subscription='from' ask='subscribe'/></query></iq>`)

	// A remote contact, without name or groups.
	if _, err := c.RosterPut(ctx, "alice@localhost", "carol@example.org", admin.RosterItemRequest{}); err != nil {
		t.Fatal(err)
	}
	xmpptest.Expect(t, alice, `<iq type='set'><query xmlns='jabber:iq:roster' ver='{any}'><item jid='carol@example.org' subscription='none'/></query></iq>`)

	l, err = c.Roster(ctx, "alice@localhost")
	wantList := admin.RosterList{JID: "alice@localhost", Items: []admin.RosterItem{
		{JID: "bob@localhost", Name: "Robert", Subscription: "from", Ask: "subscribe", Groups: []string{}},
		{JID: "carol@example.org", Subscription: "none", Groups: []string{}},
	}}
	if err != nil || !reflect.DeepEqual(l, wantList) {
		t.Fatalf("Roster = %+v, %v; want %+v", l, err, wantList)
	}

	res, err = c.RosterDelete(ctx, "alice@localhost", "carol@example.org")
	if err != nil || res.Change != admin.RosterRemoved || res.Item.JID != "carol@example.org" {
		t.Fatalf("RosterDelete = %+v, %v", res, err)
	}
	xmpptest.Expect(t, alice, `<iq type='set'><query xmlns='jabber:iq:roster' ver='{any}'><item jid='carol@example.org' subscription='remove'/></query></iq>`)
	if l, err := c.Roster(ctx, "alice@localhost"); err != nil || len(l.Items) != 1 || l.Items[0].JID != "bob@localhost" {
		t.Fatalf("Roster after the removal = %+v, %v; want only bob", l, err)
	}
}

func TestRosterErrors(t *testing.T) {
	srv, c := start(t, "", nil)
	ctx := t.Context()
	srv.CreateUser(t, "alice")
	if _, err := c.RosterPut(ctx, "alice@localhost", "bob@localhost", admin.RosterItemRequest{}); err != nil {
		t.Fatal(err)
	}
	put := func(user, contact string, req admin.RosterItemRequest) func() error {
		return func() error { _, err := c.RosterPut(ctx, user, contact, req); return err }
	}
	del := func(user, contact string) func() error {
		return func() error { _, err := c.RosterDelete(ctx, user, contact); return err }
	}
	cases := []struct {
		name   string
		call   func() error
		status int
		msg    string
	}{
		{"list of unknown user", func() error { _, err := c.Roster(ctx, "nobody@localhost"); return err }, http.StatusNotFound, "nobody@localhost is not registered"},
		{"list of unknown host", func() error { _, err := c.Roster(ctx, "alice@elsewhere.example"); return err }, http.StatusNotFound, "elsewhere.example is not a host of this server (hosts: localhost)"},
		{"list of a domain", func() error { _, err := c.Roster(ctx, "localhost"); return err }, http.StatusBadRequest, `want an account like user@host, got "localhost"`},
		{"list of a full JID", func() error { _, err := c.Roster(ctx, "alice@localhost/phone"); return err }, http.StatusBadRequest, `want an account like user@host, got "alice@localhost/phone"`},
		{"add to unknown user", put("nobody@localhost", "bob@localhost", admin.RosterItemRequest{}), http.StatusNotFound, "nobody@localhost is not registered"},
		{"add malformed contact", put("alice@localhost", "a b@localhost", admin.RosterItemRequest{}), http.StatusBadRequest, `want a contact like user@host (a bare JID), got "a b@localhost"`},
		{"add full JID", put("alice@localhost", "bob@localhost/phone", admin.RosterItemRequest{}), http.StatusBadRequest, `want a contact like user@host (a bare JID), got "bob@localhost/phone"`},
		{"add dot", put("alice@localhost", "..", admin.RosterItemRequest{}), http.StatusBadRequest, `want a contact like user@host (a bare JID), got ".."`},
		{"add oneself", put("alice@localhost", "Alice@localhost", admin.RosterItemRequest{}), http.StatusBadRequest, "the account's own JID cannot be a roster item"},
		{"add empty group", put("alice@localhost", "carol@localhost", admin.RosterItemRequest{Groups: []string{""}}), http.StatusBadRequest, "a group name is empty; leave the group out instead"},
		{"add group twice", put("alice@localhost", "carol@localhost", admin.RosterItemRequest{Groups: []string{"a", "a"}}), http.StatusBadRequest, "the item lists a group twice"},
		// RFC 6120 §11.1: pushed to clients, so XML 1.0 characters only.
		{"add name with control characters", put("alice@localhost", "carol@localhost", admin.RosterItemRequest{Name: "evil\x00\x07name"}), http.StatusBadRequest, "the roster name holds the character U+0000, which XML cannot carry"},
		{"add group with an escape", put("alice@localhost", "carol@localhost", admin.RosterItemRequest{Groups: []string{"ok", "esc\x1b[2J"}}), http.StatusBadRequest, "the group name holds the character U+001B, which XML cannot carry"},
		{"update name with a non-character", put("alice@localhost", "bob@localhost", admin.RosterItemRequest{Name: "bob\uFFFF"}), http.StatusBadRequest, "the roster name holds the character U+FFFF, which XML cannot carry"},
		{"remove absent item", del("alice@localhost", "carol@localhost"), http.StatusNotFound, "carol@localhost is not in the roster of alice@localhost"},
		{"remove from unknown user", del("nobody@localhost", "bob@localhost"), http.StatusNotFound, "nobody@localhost is not registered"},
		{"remove malformed contact", del("alice@localhost", "@localhost"), http.StatusBadRequest, `want a contact like user@host (a bare JID), got "@localhost"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			wantStatus(t, tc.name, err, tc.status)
			if err.Error() != tc.msg {
				t.Errorf("error %q, want %q", err, tc.msg)
			}
		})
	}
	// Nothing above changed the roster.
	l, err := c.Roster(ctx, "alice@localhost")
	if err != nil || len(l.Items) != 1 || l.Items[0].JID != "bob@localhost" {
		t.Fatalf("Roster = %+v, %v; want only bob", l, err)
	}
}

func TestRosterFull(t *testing.T) {
	srv, c := start(t, "modules:\n  roster:\n    max_items: 1\n", nil)
	srv.CreateUser(t, "alice")
	ctx := t.Context()
	if _, err := c.RosterPut(ctx, "alice@localhost", "bob@localhost", admin.RosterItemRequest{}); err != nil {
		t.Fatal(err)
	}
	_, err := c.RosterPut(ctx, "alice@localhost", "carol@localhost", admin.RosterItemRequest{})
	wantStatus(t, "add to a full roster", err, http.StatusConflict)
	if err.Error() != "the roster of alice@localhost is full (modules.roster.max_items)" {
		t.Errorf("error %q", err)
	}
}

func TestRosterModuleOff(t *testing.T) {
	// Off with every module that requires it, directly or not.
	off := map[string]bool{"roster": true}
	yaml := "modules:\n  roster: false\n"
	for _, d := range app.Modules {
		if slices.ContainsFunc(d.Requires, func(r string) bool { return off[r] }) {
			off[d.Name] = true
			yaml += "  " + d.Name + ": false\n"
		}
	}
	srv, c := start(t, yaml, nil)
	srv.CreateUser(t, "alice")
	_, err := c.Roster(t.Context(), "alice@localhost")
	wantStatus(t, "roster without the module", err, http.StatusNotImplemented)
	if err.Error() != "the roster module is not enabled (modules.roster)" {
		t.Errorf("error %q", err)
	}
}

// RFC 6121 §2.5.2: removing a contact through the API cancels the
// subscriptions both ways, as when the user's client removes it: the
// contact is told, and its own roster follows.
func TestRosterRemoveCancelsSubscriptions(t *testing.T) {
	srv, c := start(t, "", nil)
	ctx := t.Context()
	srv.CreateUser(t, "alice")
	rs := rosterService(t, srv)
	aliceJID, bobJID := jid.MustParse("alice@localhost"), jid.MustParse("bob@localhost")
	bob := srv.User(t, "bob", "laptop")
	for _, p := range [][2]jid.JID{{aliceJID, bobJID}, {bobJID, aliceJID}} {
		if _, err := rs.Put(ctx, p[0], roster.Item{JID: p[1], Subscription: roster.Both}); err != nil {
			t.Fatal(err)
		}
	}
	rosterGet(t, bob)

	if _, err := c.RosterDelete(ctx, "alice@localhost", "bob@localhost"); err != nil {
		t.Fatal(err)
	}
	// Alice no longer sees bob's presence, nor bob hers.
	expectQueued(t, bob, `<presence type='unsubscribe' from='alice@localhost'/>`)
	expectQueued(t, bob, `<presence type='unsubscribed' from='alice@localhost'/>`)
	expectQueued(t, bob, `<iq type='set'><query xmlns='jabber:iq:roster' ver='{any}'><item jid='alice@localhost' subscription='none'/></query></iq>`)

	if _, ok, err := rs.Get(ctx, aliceJID, bobJID); err != nil || ok {
		t.Fatalf("alice's item for bob after the removal: %v, %v", ok, err)
	}
	it, ok, err := rs.Get(ctx, bobJID, aliceJID)
	if err != nil || !ok || it.Subscription != roster.None || it.Ask {
		t.Fatalf("bob's item for alice = %+v, %v, %v; want subscription none", it, ok, err)
	}
}
