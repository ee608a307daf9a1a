package offline_test

// End-to-end tests over TCP, STARTTLS and SCRAM on the in-process server:
// what XEP-0160 asks of storage and delivery, seen by real clients.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/client"
	"github.com/parleyim/parley/internal/mod/offline"
	"github.com/parleyim/parley/internal/xmlstream"
	"github.com/parleyim/parley/internal/xmpptest"
)

// next returns the next stanza c receives that is not presence: the
// presence module's broadcasts are not what these tests are about.
func next(t *testing.T, c *client.Conn) *xmlstream.Element {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		e, err := c.Recv(ctx)
		if err != nil {
			t.Fatalf("%s: waiting for a stanza: %v", c.JID(), err)
		}
		if e.Name.Local != "presence" {
			return e
		}
	}
}

// expect takes the next stanza that is not presence and checks it
// against the pattern want (xmpptest.Match).
func expect(t *testing.T, c *client.Conn, want string) *xmlstream.Element {
	t.Helper()
	got := next(t, c)
	w := xmpptest.Parse(t, want)
	if !xmpptest.Match(w, got) {
		t.Fatalf("%s got  %s\nwant %s", c.JID(), got, w)
	}
	return got
}

// nothing proves that c has been sent nothing but presence: a ping round
// trip, then an empty queue. Whatever the server did because of what c
// sent before — storing, bouncing, delivering stored messages on its
// presence — happened on c's session before it answered the ping, so it
// is queued ahead of the result.
func nothing(t *testing.T, c *client.Conn, domain string) {
	t.Helper()
	ping(t, c, domain)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for {
		e, err := c.Recv(ctx)
		if err != nil {
			return
		}
		if e.Name.Local != "presence" {
			t.Fatalf("%s received %s", c.JID(), e)
		}
	}
}

func ping(t *testing.T, c *client.Conn, domain string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reply, err := c.IQ(ctx, xmpptest.Parse(t, `<iq type='get' to='`+domain+`'><ping xmlns='urn:xmpp:ping'/></iq>`))
	if err != nil || reply.Attr("type") != "result" {
		t.Fatalf("ping: %v, %v", reply, err)
	}
}

func send(t *testing.T, c *client.Conn, xml string) {
	t.Helper()
	if err := c.Send(xmpptest.Parse(t, xml)); err != nil {
		t.Fatalf("send: %v", err)
	}
}

// stampOf checks the XEP-0203 delay of a delivered message and returns
// its time.
func stampOf(t *testing.T, e *xmlstream.Element, domain string) time.Time {
	t.Helper()
	d := e.Child("urn:xmpp:delay", "delay")
	if d == nil {
		t.Fatalf("no delay in %s", e)
	}
	if d.Attr("from") != domain {
		t.Errorf("delay from %q, want %q", d.Attr("from"), domain)
	}
	at, err := time.Parse(time.RFC3339Nano, d.Attr("stamp"))
	if err != nil || !strings.HasSuffix(d.Attr("stamp"), "Z") {
		t.Fatalf("stamp %q: want XEP-0082 UTC (%v)", d.Attr("stamp"), err)
	}
	return at
}

// TestStoreAndDeliver: messages to a user with no session are stored
// without an error to the sender, and delivered on the user's next initial
// presence, in order, unchanged but for a delay stamp (XEP-0160 §2).
func TestStoreAndDeliver(t *testing.T) {
	srv := xmpptest.Start(t, "")
	d := srv.Domain
	srv.CreateUser(t, "bob")
	alice := srv.User(t, "alice", "home")
	before := time.Now().Add(-time.Second)

	send(t, alice, `<message to='bob@`+d+`' id='m1'><body>first</body></message>`)
	send(t, alice, `<message to='bob@`+d+`' id='m2' type='chat'><thread>t1</thread><body>second</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>`)
	// A chat message to a resource that is not online is handled as if
	// sent to the bare JID (RFC 6121 §8.5.3.2.1).
	send(t, alice, `<message to='bob@`+d+`/phone' id='m3' type='chat'><body>third</body></message>`)
	// No body, but something to keep (a XEP-0184 receipt).
	send(t, alice, `<message to='bob@`+d+`' id='m4'><received xmlns='urn:xmpp:receipts' id='m0'/></message>`)
	nothing(t, alice, d) // stored: no error came back
	after := time.Now().Add(time.Second)

	bob := srv.User(t, "bob", "laptop")
	const delay = `<delay xmlns='urn:xmpp:delay' from='{any}' stamp='{any}'>Offline Storage</delay>`
	from := alice.JID().String()
	got := []*xmlstream.Element{
		expect(t, bob, `<message from='`+from+`' to='bob@`+d+`' id='m1'><body>first</body>`+delay+`</message>`),
		expect(t, bob, `<message from='`+from+`' to='bob@`+d+`' id='m2' type='chat'><thread>t1</thread><body>second</body><active xmlns='http://jabber.org/protocol/chatstates'/>`+delay+`</message>`),
		expect(t, bob, `<message from='`+from+`' to='bob@`+d+`/phone' id='m3' type='chat'><body>third</body>`+delay+`</message>`),
		expect(t, bob, `<message from='`+from+`' to='bob@`+d+`' id='m4'><received xmlns='urn:xmpp:receipts' id='m0'/>`+delay+`</message>`),
	}
	var last time.Time
	for _, e := range got {
		at := stampOf(t, e, d)
		if at.Before(before) || at.After(after) || at.Before(last) {
			t.Errorf("stamp %v not between %v and %v, or before the previous %v", at, before, after, last)
		}
		last = at
	}
	nothing(t, bob, d)

	// Delivered means gone: another resource gets none of them, nor does
	// the same account on its next login.
	bob2 := srv.User(t, "bob", "phone")
	nothing(t, bob2, d)
	bob.Close()
	bob3 := srv.User(t, "bob", "laptop")
	nothing(t, bob3, d)
}

// TestNotStored: what XEP-0160 §3 and XEP-0334 keep out of storage, and
// what the sender gets for each — one error or none.
func TestNotStored(t *testing.T) {
	srv := xmpptest.Start(t, "")
	d := srv.Domain
	srv.CreateUser(t, "bob")
	alice := srv.User(t, "alice", "home")
	bob := "bob@" + d
	unavailable := `<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`

	cases := []struct {
		name, msg, reply string // reply "": none
	}{
		// Ignored by the router, as RFC 6121 §8.5.2.2.1 allows.
		{"headline", `<message to='` + bob + `' id='h' type='headline'><body>news</body></message>`, ""},
		{"error", `<message to='` + bob + `' id='e' type='error'><body>oops</body>` + unavailable + `</message>`, ""},
		// Bounced by the router (no user-level groupchat).
		{"groupchat", `<message to='` + bob + `' id='g' type='groupchat'><body>room</body></message>`,
			`<message from='` + bob + `' id='g' type='error'><body>room</body>` + unavailable + `</message>`},
		// XEP-0334 §4: not stored, so bounced like any message a server
		// cannot store (XEP-0160 §2).
		{"no-store", `<message to='` + bob + `' id='n' type='chat'><body>secret</body><no-store xmlns='urn:xmpp:hints'/></message>`,
			`<message from='` + bob + `' id='n' type='error'><body>secret</body><no-store xmlns='urn:xmpp:hints'/>` + unavailable + `</message>`},
		// XEP-0085 §5.8: not stored, and dropped without an error.
		{"chat state", `<message to='` + bob + `' id='c' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			send(t, alice, tc.msg)
			if tc.reply != "" {
				expect(t, alice, tc.reply)
			}
			nothing(t, alice, d)
		})
	}

	// A <store/> hint keeps what would not be kept (XEP-0334 §4).
	send(t, alice, `<message to='`+bob+`' id='s' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/><store xmlns='urn:xmpp:hints'/></message>`)
	nothing(t, alice, d)

	b := srv.User(t, "bob", "laptop")
	expect(t, b, `<message id='s' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/><store xmlns='urn:xmpp:hints'/>`+
		`<delay xmlns='urn:xmpp:delay' from='`+d+`' stamp='{any}'>Offline Storage</delay></message>`)
	nothing(t, b, d)
}

// TestQuota: past max_messages the sender gets exactly one error, the
// one XEP-0160 §2 names for a full queue; what was stored is delivered.
func TestQuota(t *testing.T) {
	srv := xmpptest.Start(t, "modules:\n  offline:\n    max_messages: 2\n")
	d := srv.Domain
	srv.CreateUser(t, "bob")
	alice := srv.User(t, "alice", "home")
	for i := 1; i <= 2; i++ {
		send(t, alice, fmt.Sprintf(`<message to='bob@%s' id='m%d'><body>%d</body></message>`, d, i, i))
	}
	nothing(t, alice, d)
	send(t, alice, `<message to='bob@`+d+`' id='m3' type='chat'><body>3</body></message>`)
	expect(t, alice, `<message from='bob@`+d+`' to='`+alice.JID().String()+`' id='m3' type='error'><body>3</body>`+
		`<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>`+
		`<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>offline storage is full</text></error></message>`)
	nothing(t, alice, d)

	bob := srv.User(t, "bob", "laptop")
	const delay = `<delay xmlns='urn:xmpp:delay' from='{any}' stamp='{any}'>Offline Storage</delay>`
	expect(t, bob, `<message id='m1'><body>1</body>`+delay+`</message>`)
	expect(t, bob, `<message id='m2'><body>2</body>`+delay+`</message>`)
	nothing(t, bob, d)

	// Delivery made room again.
	bob.Close()
	send(t, alice, `<message to='bob@`+d+`' id='m4'><body>4</body></message>`)
	nothing(t, alice, d)
}

// TestSurvivesRestart: stored messages are in the database, so a server
// started again on the same data directory delivers them.
func TestSurvivesRestart(t *testing.T) {
	yaml := "data_dir: " + t.TempDir() + "\n"
	srv := xmpptest.Start(t, yaml)
	d := srv.Domain
	srv.CreateUser(t, "bob")
	alice := srv.User(t, "alice", "home")
	send(t, alice, `<message to='bob@`+d+`' id='r1'><body>before the restart</body></message>`)
	send(t, alice, `<message to='bob@`+d+`' id='r2' type='chat'><body>me too</body></message>`)
	nothing(t, alice, d)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	srv.App.Stop(ctx)
	cancel()

	srv = xmpptest.Start(t, yaml)
	bob := srv.User(t, "bob", "laptop")
	expect(t, bob, `<message id='r1'><body>before the restart</body><delay xmlns='urn:xmpp:delay' from='`+d+`' stamp='{any}'>Offline Storage</delay></message>`)
	expect(t, bob, `<message id='r2' type='chat'><body>me too</body><delay xmlns='urn:xmpp:delay' from='`+d+`' stamp='{any}'>Offline Storage</delay></message>`)
	nothing(t, bob, d)
}

// TestUserRemoved: a deleted account loses its stored messages; the same
// name registered again starts empty.
func TestUserRemoved(t *testing.T) {
	srv := xmpptest.Start(t, "")
	d := srv.Domain
	srv.CreateUser(t, "bob")
	alice := srv.User(t, "alice", "home")
	send(t, alice, `<message to='bob@`+d+`' id='x'><body>for the old bob</body></message>`)
	nothing(t, alice, d)
	if err := srv.App.RemoveUser(context.Background(), d, "bob"); err != nil {
		t.Fatal(err)
	}
	srv.CreateUser(t, "bob")
	bob := srv.User(t, "bob", "laptop")
	nothing(t, bob, d)
}

// TestTwoResourcesAtOnce: two resources sending initial presence at the
// same moment share the stored messages; each message reaches exactly one
// of them, and each gets its share in order.
func TestTwoResourcesAtOnce(t *testing.T) {
	srv := xmpptest.Start(t, "")
	d := srv.Domain
	srv.CreateUser(t, "bob")
	alice := srv.User(t, "alice", "home")
	const total = 300
	for i := range total {
		send(t, alice, fmt.Sprintf(`<message to='bob@%s' id='%d'><body>%d</body></message>`, d, i, i))
	}
	nothing(t, alice, d)

	var conns []*client.Conn
	for _, res := range []string{"a", "b"} {
		cfg := srv.ClientConfig("bob")
		cfg.Resource = res
		conns = append(conns, srv.Dial(t, cfg))
	}
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() { _ = c.Send(xmlstream.New("jabber:client", "presence")) })
	}
	wg.Wait()
	// Each resource has had its stored messages once its ping comes back.
	for _, c := range conns {
		ping(t, c, d)
	}
	seen := map[string]int{}
	for _, c := range conns {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		last := -1
		for {
			e, err := c.Recv(ctx)
			if err != nil {
				break
			}
			if e.Name.Local != "message" {
				continue
			}
			seen[e.Attr("id")]++
			var n int
			fmt.Sscan(e.Attr("id"), &n)
			if n <= last {
				t.Errorf("%s got %d after %d", c.JID(), n, last)
			}
			last = n
		}
	}
	if len(seen) != total {
		t.Errorf("%d distinct messages delivered, want %d", len(seen), total)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("message %s delivered %d times", id, n)
		}
	}
}

// TestNegativePriority: XEP-0160 §2 delivers on non-negative presence
// only. A resource with a negative priority gets its messages when it
// raises its priority.
func TestNegativePriority(t *testing.T) {
	srv := xmpptest.Start(t, "")
	d := srv.Domain
	srv.CreateUser(t, "bob")
	alice := srv.User(t, "alice", "home")
	send(t, alice, `<message to='bob@`+d+`' id='p1'><body>before</body></message>`)
	nothing(t, alice, d)

	cfg := srv.ClientConfig("bob")
	cfg.Resource = "pager"
	bob := srv.Dial(t, cfg)
	send(t, bob, `<presence><priority>-1</priority></presence>`)
	nothing(t, bob, d)

	// A message to the bare JID skips a negative resource (RFC 6121
	// §8.5.2.1.1) and is stored.
	send(t, alice, `<message to='bob@`+d+`' id='p2'><body>meanwhile</body></message>`)
	nothing(t, alice, d)
	nothing(t, bob, d)

	send(t, bob, `<presence><priority>-5</priority><show>away</show></presence>`)
	nothing(t, bob, d)
	send(t, bob, `<presence><priority>0</priority></presence>`)
	const delay = `<delay xmlns='urn:xmpp:delay' from='{any}' stamp='{any}'>Offline Storage</delay>`
	expect(t, bob, `<message id='p1'><body>before</body>`+delay+`</message>`)
	expect(t, bob, `<message id='p2'><body>meanwhile</body>`+delay+`</message>`)
	nothing(t, bob, d)

	// Unavailable, then available with a negative priority again: still
	// nothing stored is delivered, and a new initial presence with a
	// non-negative priority brings what came meanwhile.
	send(t, bob, `<presence type='unavailable'/>`)
	send(t, bob, `<presence><priority>-1</priority></presence>`)
	nothing(t, bob, d)
	send(t, alice, `<message to='bob@`+d+`' id='p3'><body>again</body></message>`)
	nothing(t, alice, d)
	nothing(t, bob, d)
	send(t, bob, `<presence type='unavailable'/>`)
	send(t, bob, `<presence/>`)
	expect(t, bob, `<message id='p3'><body>again</body>`+delay+`</message>`)
	nothing(t, bob, d)
}

// TestDisco: the server advertises msgoffline (XEP-0160 §4).
func TestDisco(t *testing.T) {
	srv := xmpptest.Start(t, "")
	alice := srv.User(t, "alice", "home")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reply, err := alice.IQ(ctx, xmpptest.Parse(t, `<iq type='get' to='`+srv.Domain+`'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`))
	if err != nil {
		t.Fatal(err)
	}
	q := reply.Child("http://jabber.org/protocol/disco#info", "query")
	if q == nil {
		t.Fatalf("no query in %s", reply)
	}
	for _, f := range q.Elements() {
		if f.Name.Local == "feature" && f.Attr("var") == offline.Feature {
			return
		}
	}
	t.Fatalf("no %s feature in %s", offline.Feature, reply)
}

// TestForgedStamp: a client cannot pass off its own time as the server's
// (XEP-0203 from='<domain>'): the delay is removed from what it sends, so
// a stored message gets the server's real stamp and no other, and a
// message delivered at once carries no server stamp at all.
func TestForgedStamp(t *testing.T) {
	srv := xmpptest.Start(t, "")
	d := srv.Domain
	srv.CreateUser(t, "bob")
	alice := srv.User(t, "alice", "home")
	forged := `<delay xmlns='urn:xmpp:delay' from='` + d + `' stamp='2000-01-01T00:00:00Z'>Offline Storage</delay>`
	before := time.Now().Add(-time.Second)
	send(t, alice, `<message to='bob@`+d+`' id='f1'><body>stored</body>`+forged+`</message>`)
	nothing(t, alice, d)
	after := time.Now().Add(time.Second)

	bob := srv.User(t, "bob", "laptop")
	got := expect(t, bob, `<message id='f1'><body>stored</body><delay xmlns='urn:xmpp:delay' from='`+d+`' stamp='{any}'>Offline Storage</delay></message>`)
	if n := len(got.Elements()); n != 2 {
		t.Fatalf("want the body and one delay: %s", got)
	}
	if at := stampOf(t, got, d); at.Before(before) || at.After(after) {
		t.Errorf("stamp %v, want the time it was stored, between %v and %v", at, before, after)
	}
	nothing(t, bob, d)

	send(t, alice, `<message to='bob@`+d+`' id='f2' type='chat'><body>online</body>`+forged+`</message>`)
	got = expect(t, bob, `<message id='f2' type='chat'><body>online</body></message>`)
	if n := len(got.Elements()); n != 1 {
		t.Fatalf("want the body only: %s", got)
	}
	nothing(t, bob, d)
}

// TestPrefixedAttributes: a message the stream accepted is stored and
// delivered, however many namespaced attributes it carries (the stored
// copy declares a prefix per namespace, so it may hold twice as many
// attributes as the stream allows).
func TestPrefixedAttributes(t *testing.T) {
	srv := xmpptest.Start(t, "")
	d := srv.Domain
	srv.CreateUser(t, "bob")
	alice := srv.User(t, "alice", "home")
	var decls, attrs strings.Builder
	for i := range 40 {
		fmt.Fprintf(&decls, " xmlns:p%d='urn:x%d'", i, i)
		fmt.Fprintf(&attrs, " p%d:a='%d'", i, i)
	}
	// Raw: written again by Append, the body would declare its 40
	// namespaces itself, which the stream refuses (80 attributes).
	if err := alice.SendRaw(`<message to='bob@` + d + `' id='m1'` + decls.String() + `><body` + attrs.String() + `>hi</body></message>`); err != nil {
		t.Fatal(err)
	}
	nothing(t, alice, d)
	bob := srv.User(t, "bob", "laptop")
	got := expect(t, bob, `<message id='m1'><body>hi</body><delay xmlns='urn:xmpp:delay' from='{any}' stamp='{any}'>Offline Storage</delay></message>`)
	if body := got.Child("jabber:client", "body"); body == nil || len(body.Attrs) != 40 {
		t.Fatalf("delivered %s", got)
	}
}
