package c2s_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/client"
	"github.com/parleyim/parley/internal/xmpptest"
)

// RFC 6120 §7.6, §7.7: the client may choose its resource or let the
// server generate one; either way the result names the full JID.
func TestBindResource(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	srv.CreateUser(t, "alice")

	cases := []struct {
		name, res, want string
	}{
		{"chosen", "phone", "alice@localhost/phone"},
		{"with spaces and symbols", "my phone/2 @home", "alice@localhost/my phone/2 @home"},
		{"non-ASCII", "téléphone", "alice@localhost/téléphone"},
	}
	for _, tc := range cases {
		c := dial(t, srv.Addr)
		if got := c.login("alice", tc.res); got != tc.want {
			t.Errorf("%s: bound %q, want %q", tc.name, got, tc.want)
		}
	}

	// §7.6.2.1: server-generated resources are unique.
	seen := map[string]bool{}
	for _, body := range []string{"<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>", "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource></resource></bind>"} {
		for range 2 {
			c := dial(t, srv.Addr)
			c.open()
			c.startTLS()
			c.authPlain("alice", xmpptest.Password)
			c.send("<iq type='set' id='b'>" + body + "</iq>")
			r := c.expect("<iq type='result' id='b'><bind xmlns='" + nsBind + "'><jid>{any}</jid></bind></iq>")
			j := r.FirstChild().ChildText(nsBind, "jid")
			res, ok := strings.CutPrefix(j, "alice@localhost/")
			if !ok || res == "" {
				t.Fatalf("server-generated JID %q", j)
			}
			if seen[res] {
				t.Errorf("server generated resource %q twice", res)
			}
			seen[res] = true
		}
	}
}

// RFC 6120 §7.7.2.1: a resourcepart that cannot be prepared (RFC 7622
// §3.4) is bad-request (type modify); the stream stays open and a good
// resource can be bound next.
func TestBindBadResource(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	srv.CreateUser(t, "alice")
	for name, res := range map[string]string{
		"control character": "phone\u0085",
		"too long":          strings.Repeat("r", 1024),
		"unassigned":        "x\U000E0080",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := dial(t, srv.Addr)
			c.open()
			c.startTLS()
			c.authPlain("alice", xmpptest.Password)
			c.send("<iq type='set' id='bad'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>" + res + "</resource></bind></iq>")
			e := c.next()
			se := client.ParseStanzaError(e)
			if e.Name.Local != "iq" || e.Attr("type") != "error" || e.Attr("id") != "bad" || se == nil || se.Condition != "bad-request" || se.Type != "modify" {
				t.Fatalf("got %s, want a bad-request (modify) error for id bad", e)
			}
			if j := c.bind("good"); j != "alice@localhost/good" {
				t.Fatalf("bound %q after the error", j)
			}
		})
	}
}

// RFC 6120 §7.1: one resource per stream. A second bind is refused with a
// stanza error and the first binding stays.
func TestBindTwice(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	srv.CreateUser(t, "alice")
	c := dial(t, srv.Addr)
	first := c.login("alice", "one")
	c.send("<iq type='set' id='again'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>two</resource></bind></iq>")
	e := c.next()
	se := client.ParseStanzaError(e)
	if e.Attr("type") != "error" || e.Attr("id") != "again" || se == nil || se.Type != "cancel" {
		t.Fatalf("second bind: got %s, want an error of type cancel", e)
	}
	// Still the first JID: a message to ourselves comes back from it.
	c.send("<message to='" + first + "' id='m'><body>still</body></message>")
	if got := c.expect("<message id='m'><body>still</body></message>"); got.Attr("from") != first {
		t.Fatalf("from %q, want %q", got.Attr("from"), first)
	}
	// No session exists for the second resource.
	for _, s := range srv.App.Sessions() {
		if s.JID.String() == "alice@localhost/two" {
			t.Fatal("a second resource was bound on the same stream")
		}
	}
}

// RFC 6121 (legacy) session establishment: advertised as optional after
// SASL (draft-cridland-xmpp-session-01) and answered with an empty result,
// before and after binding.
func TestLegacySession(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	srv.CreateUser(t, "alice")
	c := dial(t, srv.Addr)
	c.open()
	c.startTLS()
	_, f := c.authPlain("alice", xmpptest.Password)
	s := f.Child(nsSession, "session")
	if s == nil || s.Child(nsSession, "optional") == nil {
		t.Fatalf("features %s, want <session><optional/></session>", f)
	}
	c.send("<iq type='set' id='sess1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>")
	if r := c.expect("<iq type='result' id='sess1'/>"); len(r.Elements()) != 0 {
		t.Errorf("session result with a payload: %s", r)
	}
	c.bind("r")
	c.send("<iq type='set' id='sess2'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>")
	c.expect("<iq type='result' id='sess2'/>")

	// The client does not need it.
	cfg := srv.ClientConfig("alice")
	cc := srv.Dial(t, cfg)
	if cc.Features().Child(nsSession, "session") == nil {
		t.Error("session not advertised to the client")
	}
}

// RFC 6120 §7.7.2.2: a second session for the same full JID replaces the
// first, which gets a <conflict/> stream error; the new one works and
// receives what is sent to that JID.
func TestBindConflict(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	old := srv.User(t, "alice", "phone")
	bob := srv.User(t, "bob", "pc")
	cur := srv.User(t, "alice", "phone")
	if cur.JID() != old.JID() {
		t.Fatalf("bound %v and %v", old.JID(), cur.JID())
	}
	if cond := recvStreamError(t, old); cond != "conflict" {
		t.Fatalf("old session ended with %q, want conflict", cond)
	}
	select {
	case <-old.Done():
	case <-time.After(wait):
		t.Fatal("old session still open after the conflict")
	}
	// The new session works.
	if _, err := iq(t, cur, "<iq type='get' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>"); err != nil {
		t.Fatalf("ping on the new session: %v", err)
	}
	if err := bob.Send(xmpptest.Parse(t, "<message to='alice@localhost/phone' id='x'><body>to the new one</body></message>")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		e, err := cur.Recv(ctx)
		if err != nil {
			t.Fatalf("new session did not get the message: %v", err)
		}
		if e.Name.Local == "message" && e.Attr("id") == "x" {
			break
		}
	}
	// One session in the table for that JID.
	n := 0
	for _, s := range srv.App.Sessions() {
		if s.JID == cur.JID() {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d sessions for %v, want 1", n, cur.JID())
	}
}

// RFC 6120 §7.6.2.1: past limits.max_sessions_per_user the bind is
// refused with resource-constraint (type wait); the stream stays open.
func TestBindSessionLimit(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "limits: {max_sessions_per_user: 2}")
	srv.User(t, "alice", "a")
	srv.User(t, "alice", "b")
	c := dial(t, srv.Addr)
	c.open()
	c.startTLS()
	c.authPlain("alice", xmpptest.Password)
	c.send("<iq type='set' id='c'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>c</resource></bind></iq>")
	e := c.next()
	se := client.ParseStanzaError(e)
	if e.Attr("id") != "c" || se == nil || se.Condition != "resource-constraint" || se.Type != "wait" {
		t.Fatalf("third session: got %s, want resource-constraint (wait)", e)
	}
	// Replacing an existing resource is not a new session.
	if j := c.bind("a"); j != "alice@localhost/a" {
		t.Fatalf("rebinding a: %q", j)
	}
}

// Stanzas routed to a session while it is still binding are delivered
// after the bind result, in order, and nothing races (run with -race):
// the router can see the session as soon as it is in the table.
func TestDeliverDuringBind(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	srv.CreateUser(t, "alice")
	bob := srv.User(t, "bob", "pc")
	for round := range 5 {
		res := "r" + string(rune('0'+round))
		c := dial(t, srv.Addr)
		c.open()
		c.startTLS()
		c.authPlain("alice", xmpptest.Password)
		// Flood the full JID that is about to be bound.
		msg := "<message to='alice@localhost/" + res + "' type='chat'><body>x</body></message>"
		if err := bob.SendRaw(strings.Repeat(msg, 50)); err != nil {
			t.Fatal(err)
		}
		c.send("<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>" + res + "</resource></bind></iq>")
		if err := bob.SendRaw(strings.Repeat(msg, 50)); err != nil {
			t.Fatal(err)
		}
		// The bind result comes first; then only messages.
		c.expect("<iq type='result' id='b'><bind xmlns='" + nsBind + "'><jid>alice@localhost/" + res + "</jid></bind></iq>")
		c.send("<iq type='get' id='end' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
		for {
			e := c.next()
			if e.Name.Local == "iq" {
				if e.Attr("id") != "end" {
					t.Fatalf("got %s, want the ping result", e)
				}
				break
			}
			if e.Name.Local != "message" {
				t.Fatalf("got %s, want messages", e)
			}
		}
	}
}
