package c2s_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/client"
	"github.com/parleyim/parley/internal/xmlstream"
	"github.com/parleyim/parley/internal/xmpptest"
)

// RFC 6120 §8.2.3: an IQ needs an id and a type of get, set, result or
// error, and a get or set carries exactly one payload; otherwise the
// server answers bad-request (modify). Each reply is checked to be the
// only one: the ping sent after it must be answered next.
func TestIQRules(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	srv.CreateUser(t, "alice")
	c := dial(t, srv.Addr)
	me := c.login("alice", "r")
	cases := []struct {
		name, in, id string
	}{
		{"no id", "<iq type='get' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>", ""},
		{"no type", "<iq id='t1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>", "t1"},
		{"unknown type", "<iq type='fetch' id='t2' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>", "t2"},
		{"get with two payloads", "<iq type='get' id='t3' to='localhost'><ping xmlns='urn:xmpp:ping'/><query xmlns='jabber:iq:version'/></iq>", "t3"},
		{"set with no payload", "<iq type='set' id='t4' to='localhost'/>", "t4"},
		{"get with only text", "<iq type='get' id='t5' to='localhost'>ping</iq>", "t5"},
	}
	for i, tc := range cases {
		c.send(tc.in)
		e := c.next()
		se := client.ParseStanzaError(e)
		if e.Name.Local != "iq" || e.Attr("type") != "error" || e.Attr("id") != tc.id || se == nil || se.Condition != "bad-request" || se.Type != "modify" {
			t.Fatalf("%s: got %s, want a bad-request iq error with id %q", tc.name, e, tc.id)
		}
		if e.Attr("to") != me {
			t.Errorf("%s: error addressed to %q, want %q", tc.name, e.Attr("to"), me)
		}
		pingID := "p" + string(rune('a'+i))
		c.send("<iq type='get' id='" + pingID + "' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
		c.expect("<iq type='result' id='" + pingID + "'/>")
	}

	// Results and errors are never answered (§8.3.1: no error about an
	// error, and nothing is owed for a result).
	for _, in := range []string{
		"<iq type='result' id='r1' to='localhost'/>",
		"<iq type='error' id='r2' to='localhost'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
		"<iq type='error' to='localhost'/>",
		"<iq type='result' id='r3' to='localhost'><ping xmlns='urn:xmpp:ping'/><ping xmlns='urn:xmpp:ping'/></iq>",
	} {
		c.send(in)
	}
	c.send("<iq type='get' id='last' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
	c.expect("<iq type='result' id='last'/>")
}

// RFC 6120 §8.2.3, §10, RFC 6121 §8.5: every IQ get or set gets exactly one
// reply, whoever it is addressed to. The peer session's replies are sent
// by the test.
func TestIQOneReply(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	srv.CreateUser(t, "alice")
	srv.CreateUser(t, "carol") // exists, never online
	bob := srv.User(t, "bob", "pc")

	c := dial(t, srv.Addr)
	me := c.login("alice", "r")
	cases := []struct {
		name, to, payload string
		cond              string // "" wants a result
	}{
		{"server, known", "localhost", "<ping xmlns='urn:xmpp:ping'/>", ""},
		{"server, no to", "", "<ping xmlns='urn:xmpp:ping'/>", ""},
		{"server, unknown namespace", "localhost", "<query xmlns='urn:example:nothing'/>", "service-unavailable"},
		{"own bare JID, unknown namespace", "alice@localhost", "<query xmlns='urn:example:nothing'/>", "service-unavailable"},
		{"offline user bare", "carol@localhost", "<query xmlns='urn:example:nothing'/>", "service-unavailable"},
		{"offline user full", "carol@localhost/x", "<query xmlns='urn:example:nothing'/>", "service-unavailable"},
		{"no such user", "nobody@localhost", "<query xmlns='urn:example:nothing'/>", "service-unavailable"},
		{"online user, gone resource", "bob@localhost/gone", "<query xmlns='urn:example:nothing'/>", "service-unavailable"},
		{"malformed to", "a@b@c", "<ping xmlns='urn:xmpp:ping'/>", "jid-malformed"},
		{"remote domain", "someone@example.org", "<ping xmlns='urn:xmpp:ping'/>", "remote-server-not-found"},
	}
	for i, tc := range cases {
		id := "q" + string(rune('a'+i))
		to := ""
		if tc.to != "" {
			to = " to='" + tc.to + "'"
		}
		c.send("<iq type='get' id='" + id + "'" + to + ">" + tc.payload + "</iq>")
		e := c.next()
		if e.Name.Local != "iq" || e.Attr("id") != id {
			t.Fatalf("%s: got %s, want the reply to %s", tc.name, e, id)
		}
		if tc.cond == "" {
			if e.Attr("type") != "result" {
				t.Errorf("%s: got %s, want a result", tc.name, e)
			}
		} else if se := client.ParseStanzaError(e); e.Attr("type") != "error" || se == nil || se.Condition != tc.cond {
			t.Errorf("%s: got %s, want %s", tc.name, e, tc.cond)
		}
		// Exactly one: the next thing is the answer to the next ping.
		pid := "ping-" + id
		c.send("<iq type='get' id='" + pid + "' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
		c.expect("<iq type='result' id='" + pid + "'/>")
	}

	// An IQ to an online full JID is delivered there, and its answer comes
	// back, once.
	c.send("<iq type='get' id='tobob' to='" + bob.JID().String() + "'><query xmlns='urn:example:q'/></iq>")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var req = waitFor(ctx, t, bob, "iq")
	if req.Attr("from") != me || req.Attr("id") != "tobob" {
		t.Fatalf("bob got %s", req)
	}
	reply := xmpptest.Parse(t, "<iq type='result' id='tobob'/>")
	reply.SetAttr("to", me)
	if err := bob.Send(reply); err != nil {
		t.Fatal(err)
	}
	if got := c.expect("<iq type='result' id='tobob'/>"); got.Attr("from") != bob.JID().String() {
		t.Errorf("reply from %q, want %v", got.Attr("from"), bob.JID())
	}
	c.send("<iq type='get' id='end' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
	c.expect("<iq type='result' id='end'/>")
}

// waitFor returns the next element named name that c receives.
func waitFor(ctx context.Context, t *testing.T, c *client.Conn, name string) *xmlstream.Element {
	t.Helper()
	for {
		e, err := c.Recv(ctx)
		if err != nil {
			t.Fatalf("waiting for <%s/>: %v", name, err)
		}
		if e.Name.Local == name {
			return e
		}
	}
}

// RFC 6120 §4.6.1: whitespace between top-level elements is a keepalive and
// is accepted in every state.
func TestWhitespaceKeepalive(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	srv.CreateUser(t, "alice")
	ws := " \n\t\r\n "
	c := dial(t, srv.Addr)
	// Whitespace may follow the XML declaration (XML 1.0 §2.8 Misc), not
	// precede it.
	c.send("<?xml version='1.0'?>" + ws + strings.TrimPrefix(header("localhost", ""), "<?xml version='1.0'?>"))
	c.readHeader()
	c.next() // features
	c.send(ws)
	c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
	c.expect("<proceed xmlns='" + nsTLS + "'/>")
	if err := c.r.StartTLS(nil); err != nil {
		t.Fatal(err)
	}
	// A new stream without an XML declaration may start with whitespace.
	openWS := func() {
		c.send(ws + strings.TrimPrefix(header("localhost", ""), "<?xml version='1.0'?>"))
		c.readHeader()
		if f := c.next(); f.Name.Local != "features" {
			t.Fatalf("got %s, want features", f)
		}
	}
	openWS()
	c.send(ws)
	c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'/>")
	c.expect("<challenge xmlns='" + nsSASL + "'/>")
	c.send(ws)
	c.send("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" + plain("", "alice", xmpptest.Password) + "</response>")
	c.expect("<success xmlns='" + nsSASL + "'/>")
	c.r.Restart()
	openWS()
	c.send(ws)
	me := c.bind("ws")
	for i := range 3 {
		c.send(ws)
		id := "k" + string(rune('0'+i))
		c.send("<message to='" + me + "' id='" + id + "'><body>b</body></message>" + ws)
		c.expect("<message id='" + id + "'><body>b</body></message>")
	}
}

// RFC 6120 §4.4: when the client closes its stream the server closes its
// own and then the TCP connection, in every state.
func TestClosingHandshake(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	srv.CreateUser(t, "alice")
	states := []struct {
		name  string
		setup func(c *conv)
	}{
		{"after header", func(c *conv) { c.open() }},
		{"after TLS", func(c *conv) { c.open(); c.startTLS() }},
		{"after SASL", func(c *conv) { c.open(); c.startTLS(); c.authPlain("alice", xmpptest.Password) }},
		{"bound", func(c *conv) { c.login("alice", xmpptest.UniqueName("close")) }},
	}
	for _, st := range states {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			c := dial(t, srv.Addr)
			st.setup(c)
			c.send("</stream:stream>")
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			if e, err := c.r.Next(ctx); !errors.Is(err, xmlstream.ErrStreamEnd) {
				t.Fatalf("after our closing tag: %v %v, want the server's closing tag", e, err)
			}
			// The server hangs up by itself: we keep our side open.
			c.expectEOF()
		})
	}

	// The client package's Close does the same dance.
	cc := srv.User(t, "alice", "closer")
	if err := cc.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := cc.Recv(ctx); !errors.Is(err, client.ErrClosed) && !errors.Is(err, io.EOF) {
		t.Fatalf("Recv after Close: %v", err)
	}
	// The session is gone from the server.
	for _, s := range srv.App.Sessions() {
		if s.JID == cc.JID() {
			t.Fatal("closed session still listed")
		}
	}
}

// RFC 6120 §4.9.3.22: stopping the server ends every stream, bound or
// still negotiating, with system-shutdown and then the closing tag.
func TestSystemShutdown(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	srv.CreateUser(t, "carol")
	alice := srv.User(t, "alice", "a")
	bob := srv.User(t, "bob", "b")
	pre := dial(t, srv.Addr)
	pre.open()
	tlsOnly := dial(t, srv.Addr)
	tlsOnly.open()
	tlsOnly.startTLS()
	authed := dial(t, srv.Addr)
	authed.open()
	authed.startTLS()
	authed.authPlain("carol", xmpptest.Password)
	bound := dial(t, srv.Addr)
	bound.login("carol", "raw")
	midSASL := dial(t, srv.Addr)
	midSASL.open()
	midSASL.startTLS()
	midSASL.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'/>")
	midSASL.expect("<challenge xmlns='" + nsSASL + "'/>")

	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.App.Stop(ctx)
	}()

	// Each stream got its error at once; reading them one after the other
	// is fine, they wait in the sockets.
	for _, c := range []*conv{pre, tlsOnly, midSASL, authed, bound} {
		c.expectStreamError("system-shutdown")
	}
	for _, c := range []*client.Conn{alice, bob} {
		if cond := recvStreamError(t, c); cond != "system-shutdown" {
			t.Errorf("%v: stream ended with %q, want system-shutdown", c.JID(), cond)
		}
	}
	select {
	case <-stopped:
	case <-time.After(15 * time.Second):
		t.Fatal("Stop did not return")
	}
	// Nothing listens any more.
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if r, err := client.DialRaw(ctx, srv.Addr); err == nil {
		r.Close()
		t.Error("c2s listener still accepts after Stop")
	}
}

// RFC 6120 §8.3, RFC 6121 §4.7: stanzas the server can check on its own
// are bounced to the sender with the right condition, and the stream
// goes on; an error stanza is never answered with another.
func TestStanzaChecks(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	srv.CreateUser(t, "alice")
	c := dial(t, srv.Addr)
	me := c.login("alice", "r")
	cases := []struct {
		name, in, kind, id, cond string
	}{
		{"unknown presence type", "<presence type='away' id='p1'/>", "presence", "p1", "bad-request"},
		{"priority not a number", "<presence id='p2'><priority>high</priority></presence>", "presence", "p2", "bad-request"},
		{"priority out of range", "<presence id='p3'><priority>128</priority></presence>", "presence", "p3", "bad-request"},
		{"message to a malformed JID", "<message to='a@b@c' id='m1'><body>x</body></message>", "message", "m1", "jid-malformed"},
		{"presence to a malformed JID", "<presence to='@localhost' id='p4'/>", "presence", "p4", "jid-malformed"},
	}
	for _, tc := range cases {
		c.send(tc.in)
		e := c.next()
		se := client.ParseStanzaError(e)
		if e.Name.Local != tc.kind || e.Attr("id") != tc.id || e.Attr("type") != "error" || se == nil || se.Condition != tc.cond {
			t.Fatalf("%s: got %s, want a %s %s error", tc.name, e, tc.kind, tc.cond)
		}
		if e.Attr("to") != me {
			t.Errorf("%s: bounce addressed to %q", tc.name, e.Attr("to"))
		}
	}
	// Errors are not bounced; the ping that follows is answered next.
	c.send("<message type='error' to='a@b@c' id='e1'/>")
	c.send("<iq type='get' id='after' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
	c.expect("<iq type='result' id='after'/>")
}

// A client may pipeline: many stanzas in one write, more than the session
// queues between reading and handling, then its closing tag. Each is
// handled once, in order, and all of them before the session ends.
func TestPipelined(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	srv.CreateUser(t, "alice")
	bob := srv.User(t, "bob", "pc")
	c := dial(t, srv.Addr)
	c.login("alice", "r")
	const n = 300
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "<iq type='get' id='p%d' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>", i)
		if i == n/2 {
			// Fails the checks: its error comes in its place.
			b.WriteString("<presence type='bogus' id='bad'/>")
		}
	}
	b.WriteString("<message to='bob@localhost/pc' id='last'><body>after the pings</body></message>")
	b.WriteString("</stream:stream>")
	c.send(b.String())
	for i := range n {
		c.expect(fmt.Sprintf("<iq type='result' id='p%d'/>", i))
		if i == n/2 {
			if e := c.next(); e.Name.Local != "presence" || e.Attr("type") != "error" || e.Attr("id") != "bad" {
				t.Fatalf("after p%d: got %s, want the error for the bogus presence", i, e)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if e, err := c.r.Next(ctx); !errors.Is(err, xmlstream.ErrStreamEnd) {
		t.Fatalf("after the replies: %v %v, want the server's closing tag", e, err)
	}
	if m := waitFor(ctx, t, bob, "message"); m.Attr("id") != "last" {
		t.Fatalf("bob got %s", m)
	}
}
