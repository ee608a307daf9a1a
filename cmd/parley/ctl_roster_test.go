package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/client"
	"github.com/parleyim/parley/internal/xmlstream"
	"github.com/parleyim/parley/internal/xmpptest"
)

// ask sends an IQ request on c and fails the test unless it gets a result.
func ask(t *testing.T, c *client.Conn, iq string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := c.IQ(ctx, xmpptest.Parse(t, iq)); err != nil {
		t.Fatalf("%s: %s: %v", c.JID(), iq, err)
	}
}

// quiet proves that c was sent nothing so far: a ping round trip (ctl
// returns after the server routed what the command sent), then an empty
// queue.
func quiet(t *testing.T, c *client.Conn) {
	t.Helper()
	ask(t, c, `<iq type='get' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`)
	done, stop := context.WithCancel(t.Context())
	stop()
	if e, err := c.Recv(done); err == nil {
		t.Fatalf("%s received %s, want nothing", c.JID(), e)
	}
}

// takeAll takes what c was sent so far.
func takeAll(t *testing.T, c *client.Conn) []*xmlstream.Element {
	t.Helper()
	ask(t, c, `<iq type='get' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`)
	done, stop := context.WithCancel(t.Context())
	stop()
	var got []*xmlstream.Element
	for {
		e, err := c.Recv(done)
		if err != nil {
			return got
		}
		got = append(got, e)
	}
}

func TestCtlRoster(t *testing.T) {
	srv, sock := startServer(t, "")
	alice := srv.User(t, "alice", "phone")
	ask(t, alice, `<iq type='get'><query xmlns='jabber:iq:roster'/></iq>`) // alice gets roster pushes

	if out := ok(t, sock, "roster", "list", "alice@localhost"); out != "the roster of alice@localhost is empty\n" {
		t.Errorf("roster list of an empty roster: %q", out)
	}

	out := ok(t, sock, "roster", "add", "alice@localhost", "Bob@LocalHost", "--name", "Bob", "--group", "Work", "--group", "Friends")
	if out != "added bob@localhost to the roster of alice@localhost\n" {
		t.Errorf("roster add output %q", out)
	}
	xmpptest.Expect(t, alice, `<iq type='set' from='alice@localhost' to='alice@localhost/phone'><query xmlns='jabber:iq:roster' ver='{any}'>
	  <item jid='bob@localhost' name='Bob' subscription='none'><group>Friends</group><group>Work</group></item></query></iq>`)

	// Options before the arguments; the item gets exactly what is given.
	if out := ok(t, sock, "roster", "add", "--name", "Bobby", "alice@localhost", "bob@localhost"); out != "updated bob@localhost in the roster of alice@localhost\n" {
		t.Errorf("roster add of an existing item: %q", out)
	}
	xmpptest.Expect(t, alice, `<iq type='set'><query xmlns='jabber:iq:roster' ver='{any}'><item jid='bob@localhost' name='Bobby' subscription='none'/></query></iq>`)
	if out := ok(t, sock, "roster", "add", "alice@localhost", "bob@localhost", "--name=Bobby"); out != "bob@localhost is already in the roster of alice@localhost with that name and those groups\n" {
		t.Errorf("roster add without a change: %q", out)
	}
	quiet(t, alice)

	ok(t, sock, "roster", "add", "alice@localhost", "carol@example.org", "--name", "Carol\tC.", "--group", "Best friends", "--group", "Book club")
	xmpptest.Expect(t, alice, `<iq type='set'><query xmlns='jabber:iq:roster' ver='{any}'><item jid='carol@example.org' name='Carol&#x9;C.' subscription='none'>
	  <group>Best friends</group><group>Book club</group></item></query></iq>`)
	out = ok(t, sock, "roster", "list", "alice@localhost")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "JID NAME SUBSCRIPTION ASK GROUPS" {
		t.Fatalf("roster list:\n%s", out)
	}
	if got := strings.Fields(lines[1]); strings.Join(got, " ") != "bob@localhost Bobby none - -" {
		t.Errorf("row of bob: %q", lines[1])
	}
	// The tab in the name cannot break the table.
	if got := strings.Join(strings.Fields(lines[2]), " "); got != "carol@example.org Carol C. none - Best friends, Book club" {
		t.Errorf("row of carol: %q", lines[2])
	}

	fails(t, sock, 1, "parley ctl: nobody@localhost is not registered", "roster", "list", "nobody@localhost")
	fails(t, sock, 1, "parley ctl: nobody@localhost is not registered", "roster", "add", "nobody@localhost", "bob@localhost")
	fails(t, sock, 1, `want a contact like user@host (a bare JID), got "bob@localhost/phone"`, "roster", "add", "alice@localhost", "bob@localhost/phone")
	fails(t, sock, 1, `want an account like user@host, got "localhost"`, "roster", "list", "localhost")
	fails(t, sock, 1, "the account's own JID cannot be a roster item", "roster", "add", "alice@localhost", "alice@localhost")
	fails(t, sock, 1, "a group name is empty", "roster", "add", "alice@localhost", "dave@localhost", "--group", "")
	quiet(t, alice)

	if out := ok(t, sock, "roster", "remove", "alice@localhost", "bob@localhost"); out != "removed bob@localhost from the roster of alice@localhost\n" {
		t.Errorf("roster remove output %q", out)
	}
	xmpptest.Expect(t, alice, `<iq type='set'><query xmlns='jabber:iq:roster' ver='{any}'><item jid='bob@localhost' subscription='remove'/></query></iq>`)
	fails(t, sock, 1, "parley ctl: bob@localhost is not in the roster of alice@localhost", "roster", "remove", "alice@localhost", "bob@localhost")
	if out := ok(t, sock, "roster", "list", "alice@localhost"); len(tableRows(out, "bob@localhost")) != 0 || len(tableRows(out, "carol@example.org")) != 1 {
		t.Errorf("roster list after the removal:\n%s", out)
	}
}

// Removing a contact cancels the subscriptions both ways (RFC 6121
// §2.5.2): the contact, online, is told and its roster follows.
func TestCtlRosterRemoveUnsubscribes(t *testing.T) {
	srv, sock := startServer(t, "")
	alice := srv.User(t, "alice", "phone")
	bob := srv.User(t, "bob", "laptop")
	// A mutual subscription, made by the clients (RFC 6121 §3.1).
	ask(t, alice, `<iq type='get'><query xmlns='jabber:iq:roster'/></iq>`)
	ask(t, bob, `<iq type='get'><query xmlns='jabber:iq:roster'/></iq>`)
	for _, p := range []struct {
		from, to *client.Conn
	}{{alice, bob}, {bob, alice}} {
		// A session routes what its client sends in order, so once the
		// sender's ping is answered the stanza has reached the other side.
		if err := p.from.Send(xpres(t, "subscribe", p.to)); err != nil {
			t.Fatal(err)
		}
		takeAll(t, p.from)
		takeAll(t, p.to)
		if err := p.to.Send(xpres(t, "subscribed", p.from)); err != nil {
			t.Fatal(err)
		}
		takeAll(t, p.to)
	}
	takeAll(t, alice)
	takeAll(t, bob)
	out := ok(t, sock, "roster", "list", "bob@localhost")
	if rows := tableRows(out, "alice@localhost"); len(rows) != 1 || rows[0][1] != "-" || rows[0][2] != "both" {
		t.Fatalf("bob's roster before the removal:\n%s", out)
	}

	ok(t, sock, "roster", "remove", "alice@localhost", "bob@localhost")
	xmpptest.Expect(t, alice, `<iq type='set'><query xmlns='jabber:iq:roster' ver='{any}'><item jid='bob@localhost' subscription='remove'/></query></iq>`)
	var unsubscribe, unsubscribed, none bool
	for _, e := range takeAll(t, bob) {
		switch {
		case xmpptest.Match(xmpptest.Parse(t, `<presence type='unsubscribe' from='alice@localhost'/>`), e):
			unsubscribe = true
		case xmpptest.Match(xmpptest.Parse(t, `<presence type='unsubscribed' from='alice@localhost'/>`), e):
			unsubscribed = true
		case xmpptest.Match(xmpptest.Parse(t, `<iq type='set'><query xmlns='jabber:iq:roster' ver='{any}'><item jid='alice@localhost' subscription='none'/></query></iq>`), e):
			none = true
		}
	}
	if !unsubscribe || !unsubscribed || !none {
		t.Errorf("bob got unsubscribe %v, unsubscribed %v, a push of subscription none %v; want all", unsubscribe, unsubscribed, none)
	}
	out = ok(t, sock, "roster", "list", "bob@localhost")
	if rows := tableRows(out, "alice@localhost"); len(rows) != 1 || rows[0][2] != "none" {
		t.Errorf("bob's roster after the removal:\n%s", out)
	}
}

// xpres is a subscription stanza of type typ to the bare JID of c.
func xpres(t *testing.T, typ string, to *client.Conn) *xmlstream.Element {
	return xmpptest.Parse(t, `<presence type='`+typ+`' to='`+to.JID().Bare().String()+`'/>`)
}
