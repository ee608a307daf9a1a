package lastactivity_test

// End to end over TCP, STARTTLS and SCRAM on the in-process server, with
// the real presence module making the subscription.

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/client"
	"github.com/parleyim/parley/internal/xmlstream"
	"github.com/parleyim/parley/internal/xmpptest"
)

// iq sends an IQ request and returns the reply, result or error.
func iq(t *testing.T, c *client.Conn, xml string) *xmlstream.Element {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reply, err := c.IQ(ctx, xmpptest.Parse(t, xml))
	var se *client.StanzaError
	if err != nil && !errors.As(err, &se) {
		t.Fatalf("iq %s: %v", xml, err)
	}
	return reply
}

// await reads from c until an element matches want, skipping others (the
// presence broadcasts and roster pushes around a subscription), for at
// most five seconds.
func await(t *testing.T, c *client.Conn, want string) *xmlstream.Element {
	t.Helper()
	w := xmpptest.Parse(t, want)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		got, err := c.Recv(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", want, err)
		}
		if xmpptest.Match(w, got) {
			return got
		}
	}
}

// lastSeconds checks a last activity result and returns its seconds.
func lastSeconds(t *testing.T, reply *xmlstream.Element, from, text string) int {
	t.Helper()
	if !xmpptest.Match(xmpptest.Parse(t, `<iq type='result' from='`+from+`'><query xmlns='jabber:iq:last' seconds='{any}'/></iq>`), reply) {
		t.Fatalf("got %s", reply)
	}
	q := reply.FirstChild()
	if q.Text() != text {
		t.Fatalf("text %q, want %q", q.Text(), text)
	}
	n, err := strconv.Atoi(q.Attr("seconds"))
	if err != nil || n < 0 {
		t.Fatalf("seconds %q", q.Attr("seconds"))
	}
	return n
}

// Romeo subscribes to Juliet's presence and she approves; then Romeo
// learns she is online (0), and after her unavailable presence how long
// ago she left and what she said; Paris, not subscribed, is refused, at
// her bare and at her full JID; the server reports its uptime.
func TestEndToEnd(t *testing.T) {
	srv := xmpptest.Start(t, "")
	juliet := srv.User(t, "juliet", "balcony")
	romeo := srv.User(t, "romeo", "orchard")
	paris := srv.User(t, "paris", "home")

	if err := romeo.Send(xmpptest.Parse(t, `<presence type='subscribe' to='juliet@localhost'/>`)); err != nil {
		t.Fatal(err)
	}
	await(t, juliet, `<presence type='subscribe' from='romeo@localhost'/>`)
	if err := juliet.Send(xmpptest.Parse(t, `<presence type='subscribed' to='romeo@localhost'/>`)); err != nil {
		t.Fatal(err)
	}
	// RFC 6121 §3.1.5: Juliet's server updates her roster before it sends
	// the approval on.
	await(t, romeo, `<presence type='subscribed' from='juliet@localhost'/>`)

	if n := lastSeconds(t, iq(t, romeo, `<iq type='get' to='juliet@localhost'><query xmlns='jabber:iq:last'/></iq>`), "juliet@localhost", ""); n != 0 {
		t.Errorf("juliet is online, seconds = %d", n)
	}
	forbidden := `<error type='auth'><forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`
	for _, to := range []string{"juliet@localhost", "juliet@localhost/balcony"} {
		got := iq(t, paris, `<iq type='get' id='p' to='`+to+`'><query xmlns='jabber:iq:last'/></iq>`)
		want := `<iq type='error' id='p' from='` + to + `'><query xmlns='jabber:iq:last'/>` + forbidden + `</iq>`
		if !xmpptest.Match(xmpptest.Parse(t, want), got) {
			t.Fatalf("paris asking %s: got %s", to, got)
		}
	}

	// Romeo may ask her client directly.
	if err := romeo.Send(xmpptest.Parse(t, `<iq type='get' id='direct' to='juliet@localhost/balcony'><query xmlns='jabber:iq:last'/></iq>`)); err != nil {
		t.Fatal(err)
	}
	await(t, juliet, `<iq type='get' id='direct' from='romeo@localhost/orchard'><query xmlns='jabber:iq:last'/></iq>`)

	if err := juliet.Send(xmpptest.Parse(t, `<presence type='unavailable'><status>Heading Home</status></presence>`)); err != nil {
		t.Fatal(err)
	}
	// Her stream is in order: once her ping is answered, the server has
	// taken in her unavailable presence.
	iq(t, juliet, `<iq type='get' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`)
	if n := lastSeconds(t, iq(t, romeo, `<iq type='get' to='juliet@localhost'><query xmlns='jabber:iq:last'/></iq>`), "juliet@localhost", "Heading Home"); n > 5 {
		t.Errorf("juliet left just now, seconds = %d", n)
	}

	uptime := lastSeconds(t, iq(t, paris, `<iq type='get' to='localhost'><query xmlns='jabber:iq:last'/></iq>`), "localhost", "")
	if uptime > 60 {
		t.Errorf("uptime of a server started by this test = %d s", uptime)
	}
}

// An account that removes itself (XEP-0077 §3.2) leaves no last activity
// behind: its session ends after the modules deleted the account's data,
// and that late logout is not recorded for a new account of the same name.
func TestRemovedAccountLeavesNoRecord(t *testing.T) {
	srv := xmpptest.Start(t, "")
	alice := srv.User(t, "alice", "phone")
	iq(t, alice, `<iq type='set'><query xmlns='jabber:iq:register'><remove/></query></iq>`)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		if _, err := alice.Recv(ctx); err != nil {
			break // the stream ended (not-authorized)
		}
	}
	// The session's close hooks run after its socket closed: wait until
	// the server no longer lists it.
	for len(srv.App.Sessions()) > 0 {
		if ctx.Err() != nil {
			t.Fatal("the removed account's session is still listed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	srv.CreateUser(t, "alice")
	cfg := srv.ClientConfig("alice")
	cfg.Resource = "desk"
	again := srv.Dial(t, cfg)
	reply := iq(t, again, `<iq type='get' to='alice@`+srv.Domain+`'><query xmlns='jabber:iq:last'/></iq>`)
	if reply.Attr("type") != "error" || reply.Child("jabber:client", "error").Child("urn:ietf:params:xml:ns:xmpp-stanzas", "item-not-found") == nil {
		t.Fatalf("the new account has a last activity: %s", reply)
	}
}
