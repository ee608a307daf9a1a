package presence_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/client"
	"github.com/parleyim/parley/internal/xmlstream"
	"github.com/parleyim/parley/internal/xmpptest"
)

// The end-to-end tests run a whole server and talk to it over TCP, TLS
// and SCRAM. A session routes what its client sends one stanza at a time,
// synchronously, so once the sender's session answered a ping sent after
// a stanza, everything that stanza caused is queued for its recipients;
// a recipient's own ping then comes back after all of it. Absence is
// proven that way, never by waiting.

const readTimeout = 10 * time.Second

type peer struct {
	*client.Conn
	t    *testing.T
	name string
}

func login(t *testing.T, srv *xmpptest.Server, user, res string) *peer {
	t.Helper()
	if ok, _ := srv.App.Accounts.Exists(context.Background(), srv.Domain, user); !ok {
		srv.CreateUser(t, user)
	}
	cfg := srv.ClientConfig(user)
	cfg.Resource = res
	return &peer{Conn: srv.Dial(t, cfg), t: t, name: user + "/" + res}
}

func (p *peer) full() string { return p.JID().String() }
func (p *peer) bare() string { return p.JID().Bare().String() }

func (p *peer) send(raw string) {
	p.t.Helper()
	if err := p.Send(xmpptest.Parse(p.t, raw)); err != nil {
		p.t.Fatalf("%s: send: %v", p.name, err)
	}
}

// drain returns everything p received before the answer to a ping sent
// now.
func (p *peer) drain() []*xmlstream.Element {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	if _, err := p.IQ(ctx, xmpptest.Parse(p.t, `<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>`)); err != nil {
		p.t.Fatalf("%s: ping: %v", p.name, err)
	}
	done, stop := context.WithCancel(context.Background())
	stop()
	var got []*xmlstream.Element
	for {
		el, err := p.Recv(done)
		if err != nil {
			return got
		}
		got = append(got, el)
	}
}

// matcher describes a stanza: kind, then attribute=value pairs, and
// optionally a child element by local name ("child=item").
type matcher []string

func (m matcher) match(el *xmlstream.Element) bool {
	if el.Name.Local != m[0] {
		return false
	}
	for _, kv := range m[1:] {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "child":
			found := false
			for _, c := range el.Elements() {
				if c.Name.Local == v {
					found = true
				}
			}
			if !found {
				return false
			}
		case "item":
			// item=subscription[/ask]: a roster push with that item state.
			q := el.FirstChild()
			if q == nil || q.Name.Local != "query" || len(q.Elements()) != 1 {
				return false
			}
			it := q.Elements()[0]
			got := it.Attr("subscription")
			if it.Attr("ask") != "" {
				got += "/ask"
			}
			if it.Attr("approved") == "true" {
				got += "/approved"
			}
			if got != v {
				return false
			}
		default:
			if el.Attr(k) != v {
				return false
			}
		}
	}
	return true
}

func (m matcher) String() string { return strings.Join(m, " ") }

func pres(kv ...string) matcher { return append(matcher{"presence"}, kv...) }
func push(kv ...string) matcher { return append(matcher{"iq", "type=set"}, kv...) }

// expect checks that exactly the described stanzas (in any order) were
// received before p's ping marker.
func (p *peer) expect(want ...matcher) []*xmlstream.Element {
	p.t.Helper()
	got := p.drain()
	p.check(got, want)
	return got
}

func (p *peer) check(got []*xmlstream.Element, want []matcher) {
	p.t.Helper()
	used := make([]bool, len(got))
	for _, m := range want {
		found := false
		for i, el := range got {
			if !used[i] && m.match(el) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			p.t.Errorf("%s: no stanza like [%s] among %s", p.name, m, dump(got))
		}
	}
	for i, el := range got {
		if !used[i] {
			p.t.Errorf("%s: unexpected %s", p.name, el)
		}
	}
}

// await reads until the described stanzas arrived (in any order), for
// what another goroutine of the server sends (a session that died).
func (p *peer) await(want ...matcher) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	var got []*xmlstream.Element
	left := append([]matcher(nil), want...)
	for len(left) > 0 {
		el, err := p.Recv(ctx)
		if err != nil {
			p.t.Fatalf("%s: waiting for %v after %s: %v", p.name, left, dump(got), err)
		}
		got = append(got, el)
		for i, m := range left {
			if m.match(el) {
				left = append(left[:i], left[i+1:]...)
				break
			}
		}
	}
}

func dump(els []*xmlstream.Element) string {
	var b strings.Builder
	b.WriteString("[")
	for _, el := range els {
		b.WriteString("\n\t" + el.String())
	}
	b.WriteString("]")
	return b.String()
}

// available sends initial presence and returns what it brought back.
func (p *peer) available(want ...matcher) {
	p.t.Helper()
	p.send(`<presence/>`)
	// §4.2.2: a resource's own presence comes back to it.
	p.expect(append(want, pres("from="+p.full()))...)
}

// roster requests the roster, making p an interested resource.
func (p *peer) roster() {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	if _, err := p.IQ(ctx, xmpptest.Parse(p.t, `<iq type='get'><query xmlns='jabber:iq:roster'/></iq>`)); err != nil {
		p.t.Fatalf("%s: roster get: %v", p.name, err)
	}
}

// subscribe runs the whole handshake of RFC 6121 §3.1: from asks to see
// to's presence, to approves. Both are online, available and interested.
func subscribe(t *testing.T, from, to *peer) {
	t.Helper()
	from.send(`<presence type='subscribe' to='` + to.bare() + `'/>`)
	from.expect(push("item=none/ask"))
	to.expect(pres("type=subscribe", "from="+from.bare()))
	to.send(`<presence type='subscribed' to='` + from.bare() + `'/>`)
	to.expect(push("item=from"))
	// §3.1.6 then §3.1.5: the push, the answer, and to's presence.
	from.expect(push("item=to"), pres("type=subscribed", "from="+to.bare()), pres("from="+to.full()))
}

// online starts a server with alice/a and bob/b logged in, interested
// in their rosters and available.
func online(t *testing.T) (srv *xmpptest.Server, alice, bob *peer) {
	t.Helper()
	srv = xmpptest.Start(t, "")
	alice = login(t, srv, "alice", "a")
	bob = login(t, srv, "bob", "b")
	for _, p := range []*peer{alice, bob} {
		p.roster()
		p.available()
	}
	return srv, alice, bob
}

// subscribeBack makes a subscription mutual: from, already a subscriber
// of to (subscription 'from'), asks back; both items end as 'both'.
func subscribeBack(t *testing.T, from, to *peer) {
	t.Helper()
	from.send(`<presence type='subscribe' to='` + to.bare() + `'/>`)
	from.expect(push("item=from/ask"))
	to.expect(pres("type=subscribe", "from="+from.bare()))
	to.send(`<presence type='subscribed' to='` + from.bare() + `'/>`)
	to.expect(push("item=both"))
	from.expect(push("item=both"), pres("type=subscribed", "from="+to.bare()), pres("from="+to.full()))
}

func TestSubscriptionHandshake(t *testing.T) {
	srv, alice, bob := online(t)
	subscribe(t, alice, bob)
	subscribeBack(t, bob, alice)

	// §4.4: a presence update reaches the subscriber and the sender.
	bob.send(`<presence><show>away</show></presence>`)
	bob.expect(pres("from=" + bob.full()))
	alice.expect(pres("from="+bob.full(), "child=show"))

	// A second resource of alice: probes bring bob's presence, and the
	// first resource learns of the second (§4.2).
	alice2 := login(t, srv, "alice", "a2")
	alice2.available(pres("from="+bob.full(), "child=show"), pres("from="+alice.full()))
	// The probe went from alice's bare JID (§4.3.1), so its answer goes to
	// every available resource of hers (§8.5.2.1.2).
	alice.expect(pres("from="+alice2.full()), pres("from="+bob.full(), "child=show"))
	bob.expect(pres("from=" + alice2.full()))

	// §4.5.2: a connection that dies without a word is made unavailable
	// for every subscriber and the user's other resources.
	alice2.Kill()
	alice.await(pres("from="+alice2.full(), "type=unavailable"))
	bob.await(pres("from="+alice2.full(), "type=unavailable"))

	// §4.5: unavailable presence sent by the client.
	bob.send(`<presence type='unavailable'/>`)
	bob.expect()
	alice.expect(pres("from="+bob.full(), "type=unavailable"))
}

// TestSubscriptionToOfflineUser: RFC 6121 §3.1.3, a request to a user who
// is offline is kept and delivered when the user next becomes available;
// the answer then flows back to the requester.
func TestSubscriptionToOfflineUser(t *testing.T) {
	srv := xmpptest.Start(t, "")
	alice := login(t, srv, "alice", "a")
	alice.roster()
	alice.available()
	srv.CreateUser(t, "carol")
	alice.send(`<presence type='subscribe' to='carol@` + srv.Domain + `'><status>hi, it is alice</status></presence>`)
	alice.expect(push("item=none/ask"))

	carol := login(t, srv, "carol", "c")
	carol.roster()
	carol.available(pres("type=subscribe", "from="+alice.bare(), "child=status"))
	// Until carol answers, each new available resource gets it again.
	carol2 := login(t, srv, "carol", "c2")
	carol2.available(pres("type=subscribe", "from="+alice.bare()), pres("from="+carol.full()))
	carol.expect(pres("from=" + carol2.full()))

	carol.send(`<presence type='subscribed' to='` + alice.bare() + `'/>`)
	carol.expect(push("item=from"))
	alice.expect(push("item=to"), pres("type=subscribed", "from=carol@"+srv.Domain),
		pres("from="+carol.full()), pres("from="+carol2.full()))
	// Answered: no longer delivered at login.
	carol3 := login(t, srv, "carol", "c3")
	carol3.available(pres("from="+carol.full()), pres("from="+carol2.full()))
}

// TestNoSuchContact: RFC 6121 §3.1.3, a request to an account that does
// not exist is answered with 'unsubscribed'.
func TestNoSuchContact(t *testing.T) {
	srv := xmpptest.Start(t, "")
	alice := login(t, srv, "alice", "a")
	alice.roster()
	alice.available()
	alice.send(`<presence type='subscribe' to='nobody@` + srv.Domain + `'/>`)
	alice.expect(push("item=none/ask"), push("item=none"), pres("type=unsubscribed", "from=nobody@"+srv.Domain))
}

// TestDeny: the contact refuses (RFC 6121 §3.2.1), and the requester's
// item loses its pending request.
func TestDeny(t *testing.T) {
	srv, alice, bob := online(t)
	alice.send(`<presence type='subscribe' to='` + bob.bare() + `'/>`)
	alice.expect(push("item=none/ask"))
	bob.expect(pres("type=subscribe", "from="+alice.bare()))
	bob.send(`<presence type='unsubscribed' to='` + alice.bare() + `'/>`)
	bob.expect()
	alice.expect(push("item=none"), pres("type=unsubscribed", "from="+bob.bare()))
	// The request is no longer pending: bob's next login does not see it.
	bob2 := login(t, srv, "bob", "b2")
	bob2.available(pres("from=" + bob.full()))
	bob.expect(pres("from=" + bob2.full()))
}

// TestCancelAndUnsubscribe covers RFC 6121 §3.2 and §3.3 between two
// online users with a mutual subscription.
func TestCancelAndUnsubscribe(t *testing.T) {
	_, alice, bob := online(t)
	subscribe(t, alice, bob)
	// §3.3: alice no longer wants bob's presence. bob's server tells
	// alice bob is gone for her.
	alice.send(`<presence type='unsubscribe' to='` + bob.bare() + `'/>`)
	alice.expect(push("item=none"), pres("type=unavailable", "from="+bob.full()))
	bob.expect(push("item=none"), pres("type=unsubscribe", "from="+alice.bare()))
	// Broadcasts no longer reach alice.
	bob.send(`<presence><show>dnd</show></presence>`)
	bob.expect(pres("from=" + bob.full()))
	alice.expect()

	// §3.2: bob lets alice subscribe again, then cancels it.
	subscribe(t, alice, bob)
	bob.send(`<presence type='unsubscribed' to='` + alice.bare() + `'/>`)
	bob.expect(push("item=none"))
	alice.expect(push("item=none"), pres("type=unsubscribed", "from="+bob.bare()), pres("type=unavailable", "from="+bob.full()))
}

// TestPreApprovalEndToEnd: RFC 6121 §3.4, the pre-approval is kept, not
// routed, and answers the contact's later request at once.
func TestPreApprovalEndToEnd(t *testing.T) {
	_, alice, bob := online(t)
	if alice.Features().Child("urn:xmpp:features:pre-approval", "sub") == nil {
		t.Errorf("no pre-approval stream feature in %s", alice.Features())
	}
	bob.send(`<presence type='subscribed' to='` + alice.bare() + `'/>`)
	bob.expect(push("item=none/approved"))
	alice.expect()
	alice.send(`<presence type='subscribe' to='` + bob.bare() + `'/>`)
	alice.expect(push("item=none/ask"), push("item=to"), pres("type=subscribed", "from="+bob.bare()), pres("from="+bob.full()))
	bob.expect(push("item=from"))
}

// TestRosterRemove: RFC 6121 §2.5.2, removing a contact cancels the
// subscriptions both ways.
func TestRosterRemove(t *testing.T) {
	_, alice, bob := online(t)
	subscribe(t, alice, bob)
	subscribeBack(t, bob, alice)
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	if _, err := alice.IQ(ctx, xmpptest.Parse(t, `<iq type='set'><query xmlns='jabber:iq:roster'><item jid='`+bob.bare()+`' subscription='remove'/></query></iq>`)); err != nil {
		t.Fatal(err)
	}
	alice.expect(push("item=remove"), pres("type=unavailable", "from="+bob.full()))
	// Two steps at bob's: the unsubscribe takes 'both' to 'to', the
	// unsubscribed 'to' to 'none'.
	bob.expect(push("item=to"), push("item=none"), pres("type=unsubscribe", "from="+alice.bare()),
		pres("type=unsubscribed", "from="+alice.bare()), pres("type=unavailable", "from="+alice.full()))
}

// TestDirectedPresence: RFC 6121 §4.6, an entity that got directed
// presence and is not a subscriber gets unavailable presence when the
// resource goes, and nothing of later broadcasts.
func TestDirectedPresence(t *testing.T) {
	srv := xmpptest.Start(t, "")
	alice := login(t, srv, "alice", "a")
	dave := login(t, srv, "dave", "d")
	alice.available()
	dave.available()
	alice.send(`<presence to='` + dave.bare() + `'><status>hello dave</status></presence>`)
	alice.expect()
	dave.expect(pres("from="+alice.full(), "child=status"))
	alice.send(`<presence><show>away</show></presence>`)
	alice.expect(pres("from=" + alice.full()))
	dave.expect()
	alice.Kill()
	dave.await(pres("from="+alice.full(), "type=unavailable"))
}

// TestProbes: RFC 6121 §4.3.2, the server answers probes for the user:
// unsubscribed for a stranger, unavailable when the user is offline.
func TestProbes(t *testing.T) {
	_, alice, bob := online(t)
	// A probe from a client that is not subscribed gets no presence: the
	// 'unsubscribed' bob's server answers (§4.3.2) finds nothing to
	// cancel at alice's (Appendix A.3.4) and ends there.
	alice.send(`<presence type='probe' to='` + bob.bare() + `'/>`)
	alice.expect()
	bob.expect()
	subscribe(t, alice, bob)
	alice.send(`<presence type='probe' to='` + bob.bare() + `'/>`)
	alice.expect(pres("from=" + bob.full()))
	bob.Close()
	alice.await(pres("type=unavailable", "from="+bob.full()))
	alice.send(`<presence type='probe' to='` + bob.bare() + `'/>`)
	alice.expect(pres("type=unavailable", "from="+bob.bare()))
}

// TestReplacedSession: a session replaced by a new one with the same full
// JID (RFC 6120 §7.7.2.2) goes unavailable for its subscribers (RFC 6121
// §4.5.2), even before the new one says anything.
func TestReplacedSession(t *testing.T) {
	srv, alice, bob := online(t)
	subscribe(t, bob, alice)
	full := alice.full()
	login(t, srv, "alice", "a")
	bob.await(pres("from="+full, "type=unavailable"))
}

// TestRepeatedRequest: RFC 6121 Appendix A.3.1, a request that is already
// pending is not delivered twice.
func TestRepeatedRequest(t *testing.T) {
	_, alice, bob := online(t)
	alice.send(`<presence type='subscribe' to='` + bob.bare() + `'/>`)
	alice.expect(push("item=none/ask"))
	bob.expect(pres("type=subscribe", "from="+alice.bare()))
	alice.send(`<presence type='subscribe' to='` + bob.bare() + `'/>`)
	alice.expect()
	bob.expect()
}

// TestStoredRequestBounded: what a stranger's request makes the server
// keep until the user answers is small — the status and nickname a client
// shows, or nothing but the request when they are too big.
func TestStoredRequestBounded(t *testing.T) {
	srv := xmpptest.Start(t, "")
	alice := login(t, srv, "alice", "a")
	mallory := login(t, srv, "mallory", "m")
	srv.CreateUser(t, "carol")
	alice.send(`<presence type='subscribe' to='carol@` + srv.Domain + `'><status>hi</status><nick xmlns='http://jabber.org/protocol/nick'>Alice</nick><x xmlns='urn:example:junk'/></presence>`)
	mallory.send(`<presence type='subscribe' to='carol@` + srv.Domain + `'><status>` + strings.Repeat("x", 10000) + `</status></presence>`)
	alice.expect()
	mallory.expect()
	carol := login(t, srv, "carol", "c")
	carol.send(`<presence/>`)
	got := carol.drain()
	var fromAlice, fromMallory *xmlstream.Element
	for _, el := range got {
		switch el.Attr("from") {
		case alice.bare():
			fromAlice = el
		case mallory.bare():
			fromMallory = el
		}
	}
	if fromAlice == nil || fromMallory == nil {
		t.Fatalf("stored requests not delivered: %s", dump(got))
	}
	if fromAlice.ChildText("jabber:client", "status") != "hi" || fromAlice.Child("http://jabber.org/protocol/nick", "nick") == nil || fromAlice.Child("urn:example:junk", "x") != nil {
		t.Errorf("alice's stored request: %s", fromAlice)
	}
	if len(fromMallory.Elements()) != 0 {
		t.Errorf("mallory's oversized request kept its children: %d bytes", len(fromMallory.String()))
	}
}
