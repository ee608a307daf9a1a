package blocking_test

// End-to-end tests on the whole server over TCP, STARTTLS and SCRAM, with
// every module of the default set (presence subscriptions and offline
// storage included), as a client sees XEP-0191.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/client"
	"github.com/parleyim/parley/internal/mod/blocking"
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

// result sends an IQ request and fails unless it gets a result.
func result(t *testing.T, c *client.Conn, xml string) *xmlstream.Element {
	t.Helper()
	reply := iq(t, c, xml)
	if reply.Attr("type") != "result" {
		t.Fatalf("iq %s: got %s", xml, reply)
	}
	return reply
}

func send(t *testing.T, c *client.Conn, xml string) {
	t.Helper()
	if err := c.Send(xmpptest.Parse(t, xml)); err != nil {
		t.Fatalf("send %s: %v", xml, err)
	}
}

// nothing proves that c has been sent nothing: a ping round trip, then an
// empty queue. The server handles a client's stanzas in order and routes
// synchronously, so whatever another client's earlier stanza caused was
// queued to c before the answer to c's ping. Callers first make sure the
// other client's stanza was processed (an IQ round trip of its own).
func nothing(t *testing.T, cs ...*client.Conn) {
	t.Helper()
	for _, c := range cs {
		result(t, c, `<iq type='get' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if e, err := c.Recv(ctx); err == nil {
			t.Fatalf("%s received %s", c.JID(), e)
		}
	}
}

// settle makes sure the server processed what c sent so far.
func settle(t *testing.T, c *client.Conn) {
	t.Helper()
	result(t, c, `<iq type='get' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`)
}

// takePresence takes the next presence from 'from' queued on c, leaving
// the rest in order: the broadcasts between a user's own resources
// (RFC 6121 §4.2.2) that the tests do not look at.
func takePresence(t *testing.T, c *client.Conn, from string) *xmlstream.Element {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e, err := c.RecvMatch(ctx, func(e *xmlstream.Element) bool {
		return e.Name.Local == "presence" && e.Attr("from") == from
	})
	if err != nil {
		t.Fatalf("%s: waiting for presence from %s: %v", c.JID(), from, err)
	}
	return e
}

func fetchE2E(t *testing.T, c *client.Conn) []string {
	t.Helper()
	got := result(t, c, `<iq type='get'><blocklist xmlns='urn:xmpp:blocking'/></iq>`)
	bl := got.Child(blocking.NS, "blocklist")
	if bl == nil {
		t.Fatalf("blocklist result without <blocklist/>: %s", got)
	}
	out := []string{}
	for _, it := range bl.Elements() {
		out = append(out, it.Attr("jid"))
	}
	return out
}

// §3.1–§3.5 over the wire: disco, get, block, unblock and unblock all,
// with the pushes to both interested resources.
func TestE2EBlockUnblock(t *testing.T) {
	srv := xmpptest.Start(t, "")
	phone := srv.User(t, "alice", "phone")
	laptop := srv.User(t, "alice", "laptop")
	takePresence(t, phone, "alice@localhost/laptop")
	takePresence(t, laptop, "alice@localhost/phone")

	info := result(t, phone, `<iq type='get' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
	found := false
	for _, f := range info.Child("http://jabber.org/protocol/disco#info", "query").Elements() {
		found = found || f.Attr("var") == blocking.NS
	}
	if !found {
		t.Fatalf("no %s in %s", blocking.NS, info)
	}

	for _, c := range []*client.Conn{phone, laptop} {
		if l := fetchE2E(t, c); len(l) != 0 {
			t.Fatalf("new account's list: %v", l)
		}
	}
	reply := result(t, phone, block("b1", "romeo@montague.net", "montague.net/chat"))
	if len(reply.Elements()) != 0 {
		t.Fatalf("block result with a payload: %s", reply)
	}
	xmpptest.Expect(t, phone, push("alice@localhost/phone", "block", "romeo@montague.net", "montague.net/chat"))
	xmpptest.Expect(t, laptop, push("alice@localhost/laptop", "block", "romeo@montague.net", "montague.net/chat"))
	if l := fetchE2E(t, laptop); len(l) != 2 || l[0] != "montague.net/chat" || l[1] != "romeo@montague.net" {
		t.Fatalf("list: %v", l)
	}

	result(t, laptop, unblock("u1", "romeo@montague.net"))
	xmpptest.Expect(t, laptop, push("alice@localhost/laptop", "unblock", "romeo@montague.net"))
	xmpptest.Expect(t, phone, push("alice@localhost/phone", "unblock", "romeo@montague.net"))

	result(t, phone, block("b2", "iago@shakespeare.lit"))
	xmpptest.Expect(t, phone, push("alice@localhost/phone", "block", "iago@shakespeare.lit"))
	xmpptest.Expect(t, laptop, push("alice@localhost/laptop", "block", "iago@shakespeare.lit"))
	result(t, phone, unblock("u2"))
	xmpptest.Expect(t, phone, push("alice@localhost/phone", "unblock"))
	xmpptest.Expect(t, laptop, push("alice@localhost/laptop", "unblock"))
	if l := fetchE2E(t, phone); len(l) != 0 {
		t.Fatalf("list after unblocking all: %v", l)
	}
	// An empty block is a bad request.
	if e := iq(t, phone, `<iq type='set'><block xmlns='urn:xmpp:blocking'/></iq>`); e.Attr("type") != "error" ||
		e.Child("jabber:client", "error").Child(stanzas, "bad-request") == nil {
		t.Fatalf("empty block: %s", e)
	}
	if e := iq(t, phone, block("b3", "romeo@")); e.Attr("type") != "error" ||
		e.Child("jabber:client", "error").Child(stanzas, "jid-malformed") == nil {
		t.Fatalf("malformed jid: %s", e)
	}
	nothing(t, phone, laptop)
}

// §3.3: messages both ways, then after unblocking.
func TestE2EMessages(t *testing.T) {
	srv := xmpptest.Start(t, "")
	alice := srv.User(t, "alice", "phone")
	bob := srv.User(t, "bob", "pc")
	result(t, alice, block("b", "bob@localhost"))

	send(t, bob, `<message type='chat' id='m1' to='alice@localhost'><body>hi</body></message>`)
	xmpptest.Expect(t, bob, `<message type='error' id='m1' from='alice@localhost' to='bob@localhost/pc'><body>hi</body>`+errUnavailable+`</message>`)
	send(t, alice, `<message type='chat' id='m2' to='bob@localhost'><body>hi</body></message>`)
	xmpptest.Expect(t, alice, `<message type='error' id='m2' from='bob@localhost' to='alice@localhost/phone'><body>hi</body>`+errBlocked+`</message>`)
	nothing(t, alice, bob)

	result(t, alice, unblock("u", "bob@localhost"))
	send(t, bob, `<message type='chat' id='m3' to='alice@localhost'><body>hi</body></message>`)
	xmpptest.Expect(t, alice, `<message type='chat' id='m3' from='bob@localhost/pc'><body>hi</body></message>`)
	send(t, alice, `<message type='chat' id='m4' to='bob@localhost'><body>hi</body></message>`)
	xmpptest.Expect(t, bob, `<message type='chat' id='m4' from='alice@localhost/phone'><body>hi</body></message>`)
}

// §3.3: IQs from a blocked JID get service-unavailable, also those the
// server answers for the account (vcard-temp here); IQs to one are
// refused with not-acceptable.
func TestE2EIQ(t *testing.T) {
	srv := xmpptest.Start(t, "")
	alice := srv.User(t, "alice", "phone")
	bob := srv.User(t, "bob", "pc")
	carol := srv.User(t, "carol", "pc")
	// alice has a vCard: carol gets it, bob the error of "no such user".
	result(t, alice, `<iq type='set'><vCard xmlns='vcard-temp'><FN>Alice</FN></vCard></iq>`)
	result(t, alice, block("b", "bob@localhost"))

	got := iq(t, bob, `<iq type='get' id='v1' to='alice@localhost/phone'><query xmlns='jabber:iq:version'/></iq>`)
	if !xmpptest.Match(xmpptest.Parse(t, `<iq type='error' id='v1' from='alice@localhost/phone'><query xmlns='jabber:iq:version'/>`+errUnavailable+`</iq>`), got) {
		t.Fatalf("iq from a blocked JID: %s", got)
	}
	got = iq(t, bob, `<iq type='get' id='v2' to='alice@localhost'><vCard xmlns='vcard-temp'/></iq>`)
	if !xmpptest.Match(xmpptest.Parse(t, `<iq type='error' id='v2' from='alice@localhost'><vCard xmlns='vcard-temp'/>`+errUnavailable+`</iq>`), got) {
		t.Fatalf("vcard get from a blocked JID: %s", got)
	}
	if got := iq(t, carol, `<iq type='get' id='v3' to='alice@localhost'><vCard xmlns='vcard-temp'/></iq>`); got.Attr("type") != "result" || got.Child("vcard-temp", "vCard").ChildText("vcard-temp", "FN") != "Alice" {
		t.Fatalf("vcard get from carol: %s", got)
	}
	got = iq(t, alice, `<iq type='get' id='v4' to='bob@localhost/pc'><query xmlns='jabber:iq:version'/></iq>`)
	if !xmpptest.Match(xmpptest.Parse(t, `<iq type='error' id='v4' from='bob@localhost/pc'><query xmlns='jabber:iq:version'/>`+errBlocked+`</iq>`), got) {
		t.Fatalf("iq to a blocked JID: %s", got)
	}
	nothing(t, alice, bob)
}

// §3.3 with the presence module: the subscriber is told the user is
// gone, later presence does not reach it, its probes go unanswered, and
// subscription requests from a blocked JID vanish; §3.4: unblocking sends
// the current presence.
func TestE2EPresence(t *testing.T) {
	srv := xmpptest.Start(t, "")
	alice := srv.User(t, "alice", "phone")
	bob := srv.User(t, "bob", "pc")
	carol := srv.User(t, "carol", "pc")

	// bob subscribes to alice's presence; alice approves.
	send(t, bob, `<presence type='subscribe' to='alice@localhost'/>`)
	xmpptest.Expect(t, alice, `<presence type='subscribe' from='bob@localhost'/>`)
	send(t, alice, `<presence type='subscribed' to='bob@localhost'/>`)
	xmpptest.Expect(t, bob, `<presence type='subscribed' from='alice@localhost'/>`)
	xmpptest.Expect(t, bob, `<presence from='alice@localhost/phone'/>`)

	result(t, alice, block("b", "bob@localhost", "carol@localhost"))
	xmpptest.Expect(t, bob, `<presence type='unavailable' from='alice@localhost/phone' to='bob@localhost/pc'/>`)

	// alice's broadcast no longer reaches bob.
	send(t, alice, `<presence><show>dnd</show></presence>`)
	takePresence(t, alice, "alice@localhost/phone") // RFC 6121 §4.4.2: to the sender too
	nothing(t, bob)

	// bob's new resource probes alice (bob is subscribed): no answer.
	tablet := srv.User(t, "bob", "tablet")
	takePresence(t, bob, "bob@localhost/tablet")
	takePresence(t, tablet, "bob@localhost/pc")
	nothing(t, bob, tablet)

	// A subscription request from carol, whom alice blocked, vanishes.
	send(t, carol, `<presence type='subscribe' to='alice@localhost'/>`)
	settle(t, carol)
	nothing(t, alice, carol)

	// Unblocking bob: both of his resources get alice's current presence.
	result(t, alice, unblock("u", "bob@localhost"))
	xmpptest.Expect(t, bob, `<presence from='alice@localhost/phone' to='bob@localhost/pc'><show>dnd</show></presence>`)
	xmpptest.Expect(t, tablet, `<presence from='alice@localhost/phone' to='bob@localhost/tablet'><show>dnd</show></presence>`)
	// Unblocking carol: her request goes through again.
	result(t, alice, unblock("u2", "carol@localhost"))
	send(t, carol, `<presence type='subscribe' to='alice@localhost'/>`)
	xmpptest.Expect(t, alice, `<presence type='subscribe' from='carol@localhost'/>`)
	nothing(t, alice, bob, tablet, carol)
}

// §6: a domain item blocks every user of the domain, but never the
// user's own resources or server (§5).
func TestE2EDomainBlock(t *testing.T) {
	srv := xmpptest.Start(t, "")
	phone := srv.User(t, "alice", "phone")
	laptop := srv.User(t, "alice", "laptop")
	takePresence(t, phone, "alice@localhost/laptop")
	takePresence(t, laptop, "alice@localhost/phone")
	bob := srv.User(t, "bob", "pc")
	result(t, phone, block("b", "localhost"))

	send(t, bob, `<message type='chat' id='m1' to='alice@localhost'><body>hi</body></message>`)
	xmpptest.Expect(t, bob, `<message type='error' id='m1' from='alice@localhost'><body>hi</body>`+errUnavailable+`</message>`)
	send(t, phone, `<message type='chat' id='m2' to='bob@localhost'><body>hi</body></message>`)
	xmpptest.Expect(t, phone, `<message type='error' id='m2' from='bob@localhost'><body>hi</body>`+errBlocked+`</message>`)
	send(t, phone, `<message type='chat' id='m3' to='alice@localhost/laptop'><body>me</body></message>`)
	xmpptest.Expect(t, laptop, `<message type='chat' id='m3' from='alice@localhost/phone'><body>me</body></message>`)
	nothing(t, phone, laptop, bob) // the pings to the server are answered
}

// Offline storage does not keep a blocked JID's message: its sender gets
// service-unavailable, and the user finds only the others' messages on
// logging in.
func TestE2EOffline(t *testing.T) {
	srv := xmpptest.Start(t, "")
	alice := srv.User(t, "alice", "phone")
	bob := srv.User(t, "bob", "pc")
	carol := srv.User(t, "carol", "pc")
	result(t, alice, block("b", "bob@localhost"))
	if err := alice.Close(); err != nil {
		t.Fatal(err)
	}

	send(t, bob, `<message type='chat' id='m1' to='alice@localhost'><body>from bob</body></message>`)
	xmpptest.Expect(t, bob, `<message type='error' id='m1' from='alice@localhost'><body>from bob</body>`+errUnavailable+`</message>`)
	send(t, carol, `<message type='chat' id='m2' to='alice@localhost'><body>from carol</body></message>`)
	settle(t, carol)
	nothing(t, carol) // stored, not bounced

	alice = srv.User(t, "alice", "phone")
	xmpptest.Expect(t, alice, `<message type='chat' id='m2' from='carol@localhost/pc' to='alice@localhost'><body>from carol</body><delay xmlns='urn:xmpp:delay' from='localhost' stamp='{any}'>{any}</delay></message>`)
	nothing(t, alice, bob)
}
