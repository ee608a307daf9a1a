package blocking_test

// Module-level tests on modtest: each pins a rule of XEP-0191 with the
// stanzas the sessions receive.

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/mod/blocking"
	"github.com/parleyim/parley/internal/mod/disco"
	"github.com/parleyim/parley/internal/mod/modtest"
	"github.com/parleyim/parley/internal/mod/roster"
	"github.com/parleyim/parley/internal/stanza"
)

// §3.2: the list, empty or not, in a result; items as stored (prepared
// JIDs) and sorted.
func TestBlocklistGet(t *testing.T) {
	e := start(t, "")
	a := e.login(t, "alice", "phone")
	e.send(t, a, `<iq type='get' id='b1'><blocklist xmlns='urn:xmpp:blocking'/></iq>`)
	a.Expect(t, `<iq type='result' id='b1' from='alice@localhost' to='alice@localhost/phone'><blocklist xmlns='urn:xmpp:blocking'/></iq>`)

	// The get made the session an interested resource: it gets the push,
	// with the JIDs as given (prepared, each once), then the result.
	e.send(t, a, block("b2", "romeo@montague.net", "iago@shakespeare.lit", "montague.net/chat", "Example.NET", "romeo@montague.net"))
	a.Expect(t, push("alice@localhost/phone", "block", "romeo@montague.net", "iago@shakespeare.lit", "montague.net/chat", "example.net"))
	a.Expect(t, `<iq type='result' id='b2' from='alice@localhost' to='alice@localhost/phone'/>`)
	// Addressed to the own bare JID, as well as with no 'to'.
	e.send(t, a, `<iq type='get' id='b3' to='alice@localhost'><blocklist xmlns='urn:xmpp:blocking'/></iq>`)
	a.Expect(t, `<iq type='result' id='b3' from='alice@localhost' to='alice@localhost/phone'><blocklist xmlns='urn:xmpp:blocking'>
	  <item jid='example.net'/><item jid='iago@shakespeare.lit'/><item jid='montague.net/chat'/><item jid='romeo@montague.net'/>
	</blocklist></iq>`)
	none(t, a)
}

// §3.3–§3.5: each change is pushed to every resource that fetched the
// list, the changing one included, before the result; a command that
// changes nothing is only answered.
func TestPushes(t *testing.T) {
	e := start(t, "")
	phone := e.login(t, "alice", "phone")
	laptop := e.login(t, "alice", "laptop")
	tablet := e.login(t, "alice", "tablet") // never fetches the list
	e.fetch(t, phone)
	e.fetch(t, laptop)

	// §3.3: several items; the push lists them in the order given.
	e.send(t, phone, block("b1", "romeo@montague.net", "iago@shakespeare.lit"))
	p1 := phone.Expect(t, push("alice@localhost/phone", "block", "romeo@montague.net", "iago@shakespeare.lit"))
	phone.Expect(t, `<iq type='result' id='b1'/>`)
	p2 := laptop.Expect(t, push("alice@localhost/laptop", "block", "romeo@montague.net", "iago@shakespeare.lit"))
	if p1.Attr("id") == p2.Attr("id") {
		t.Fatalf("two pushes share the id %q", p1.Attr("id"))
	}
	none(t, phone, laptop, tablet)

	// Only what is new is pushed.
	e.send(t, laptop, block("b2", "romeo@montague.net", "tybalt@capulet.com"))
	laptop.Expect(t, push("alice@localhost/laptop", "block", "tybalt@capulet.com"))
	laptop.Expect(t, `<iq type='result' id='b2'/>`)
	phone.Expect(t, push("alice@localhost/phone", "block", "tybalt@capulet.com"))
	none(t, phone, laptop, tablet)

	// Nothing new: a result, no push.
	e.ok(t, tablet, block("b3", "romeo@montague.net"))
	none(t, phone, laptop, tablet)

	// §3.4: only what was blocked is pushed as unblocked.
	e.send(t, tablet, unblock("u1", "romeo@montague.net", "nobody@example.com"))
	tablet.Expect(t, `<iq type='result' id='u1'/>`)
	phone.Expect(t, push("alice@localhost/phone", "unblock", "romeo@montague.net"))
	laptop.Expect(t, push("alice@localhost/laptop", "unblock", "romeo@montague.net"))
	e.ok(t, tablet, unblock("u2", "nobody@example.com"))
	none(t, phone, laptop, tablet)
	if got := e.fetchList(t, tablet); !slices.Equal(got, []string{"iago@shakespeare.lit", "tybalt@capulet.com"}) {
		t.Fatalf("list %v", got)
	}

	// The tablet fetched the list just now: it is interested too. §3.5:
	// unblocking all is pushed as an empty <unblock/>.
	e.send(t, phone, unblock("u3"))
	phone.Expect(t, push("alice@localhost/phone", "unblock"))
	phone.Expect(t, `<iq type='result' id='u3'/>`)
	laptop.Expect(t, push("alice@localhost/laptop", "unblock"))
	tablet.Expect(t, push("alice@localhost/tablet", "unblock"))
	none(t, phone, laptop, tablet)
	if got := e.fetchList(t, phone); len(got) != 0 {
		t.Fatalf("list after unblocking all: %v", got)
	}
	// Unblocking all of an empty list changes nothing.
	e.ok(t, phone, unblock("u4"))
	none(t, phone, laptop, tablet)

	// A new session is not interested until it fetches the list, even
	// with the JID of one that was.
	e.logout(laptop)
	laptop = e.login(t, "alice", "laptop")
	e.send(t, phone, block("b4", "iago@shakespeare.lit"))
	phone.Expect(t, push("alice@localhost/phone", "block", "iago@shakespeare.lit"))
	phone.Expect(t, `<iq type='result' id='b4'/>`)
	tablet.Expect(t, push("alice@localhost/tablet", "block", "iago@shakespeare.lit"))
	none(t, phone, laptop, tablet)
}

// §3.3 and RFC 6120 §8.3.3: the errors of the commands, which change
// nothing.
func TestCommandErrors(t *testing.T) {
	e := start(t, "modules:\n  blocking: {max_items: 3}\n")
	a := e.login(t, "alice", "phone")
	e.login(t, "bob", "pc")
	e.fetch(t, a)
	e.send(t, a, block("pre", "iago@shakespeare.lit"))
	a.Expect(t, push("alice@localhost/phone", "block", "iago@shakespeare.lit"))
	a.Expect(t, `<iq type='result' id='pre'/>`)
	cases := []struct {
		name, xml string
		typ, cond string
	}{
		{"empty block", `<iq type='set' id='x'><block xmlns='urn:xmpp:blocking'/></iq>`, "modify", "bad-request"},
		{"block of other elements only", `<iq type='set' id='x'><block xmlns='urn:xmpp:blocking'><jid>romeo@montague.net</jid></block></iq>`, "modify", "bad-request"},
		{"no jid attribute", `<iq type='set' id='x'><block xmlns='urn:xmpp:blocking'><item/></block></iq>`, "modify", "bad-request"},
		{"empty jid", block("x", ""), "modify", "jid-malformed"},
		{"no local part", block("x", "@montague.net"), "modify", "jid-malformed"},
		{"no domain", block("x", "romeo@"), "modify", "jid-malformed"},
		{"bad character", block("x", "ro&lt;meo@montague.net"), "modify", "jid-malformed"},
		{"one bad among good", block("x", "romeo@montague.net", "a@b@c"), "modify", "jid-malformed"},
		{"unblock of a malformed jid", unblock("x", "romeo@"), "modify", "jid-malformed"},
		{"unblock item without jid", `<iq type='set' id='x'><unblock xmlns='urn:xmpp:blocking'><item/></unblock></iq>`, "modify", "bad-request"},
		// §3.5: only an <unblock/> with no child at all unblocks all; one
		// whose children are not items names nothing to unblock.
		{"unblock of foreign items only", `<iq type='set' id='x'><unblock xmlns='urn:xmpp:blocking'><item xmlns='urn:other' jid='iago@shakespeare.lit'/></unblock></iq>`, "modify", "bad-request"},
		{"unblock of other elements only", `<iq type='set' id='x'><unblock xmlns='urn:xmpp:blocking'><jid>iago@shakespeare.lit</jid></unblock></iq>`, "modify", "bad-request"},
		{"past max_items", block("x", "a@example.com", "b@example.com", "c@example.com"), "modify", "policy-violation"},
		{"more than max_items at once", block("x", "a@example.com", "b@example.com", "c@example.com", "d@example.com"), "modify", "policy-violation"},
		{"another account's list", `<iq type='get' id='x' to='bob@localhost'><blocklist xmlns='urn:xmpp:blocking'/></iq>`, "auth", "forbidden"},
		{"block for another account", `<iq type='set' id='x' to='bob@localhost'>` + cmd("block", "romeo@montague.net") + `</iq>`, "auth", "forbidden"},
		{"unblock for another account", `<iq type='set' id='x' to='bob@localhost'>` + cmd("unblock") + `</iq>`, "auth", "forbidden"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.send(t, a, tc.xml)
			got := a.Next(t)
			se := stanza.ParseError(got)
			if got.Attr("type") != "error" || got.Attr("id") != "x" || se == nil || se.Condition != tc.cond || se.Type != tc.typ {
				t.Fatalf("got %s, want a %s %s error", got, tc.typ, tc.cond)
			}
			none(t, a)
		})
	}
	if got := e.fetchList(t, a); !slices.Equal(got, []string{"iago@shakespeare.lit"}) {
		t.Fatalf("list after the errors: %v", got)
	}
	// Up to the limit is fine.
	e.send(t, a, block("b", "a@example.com", "b@example.com"))
	a.Expect(t, push("alice@localhost/phone", "block", "a@example.com", "b@example.com"))
	a.Expect(t, `<iq type='result' id='b'/>`)
}

// §3.3 inbound: a message from a blocked JID is not delivered, and the
// sender gets service-unavailable, whether the user is online or not.
func TestInboundMessage(t *testing.T) {
	e := start(t, "")
	phone := e.login(t, "alice", "phone")
	laptop := e.login(t, "alice", "laptop")
	bob := e.login(t, "bob", "pc")
	carol := e.login(t, "carol", "pc")
	e.ok(t, phone, block("b", "bob@localhost"))

	for _, to := range []string{"alice@localhost", "alice@localhost/phone"} {
		e.send(t, bob, `<message type='chat' id='m1' to='`+to+`'><body>hi</body></message>`)
		bob.Expect(t, `<message type='error' id='m1' from='`+to+`' to='bob@localhost/pc'><body>hi</body>`+errUnavailable+`</message>`)
	}
	for _, typ := range []string{"normal", "headline", "groupchat"} {
		e.send(t, bob, `<message type='`+typ+`' id='m2' to='alice@localhost/laptop'><body>hi</body></message>`)
		bob.Expect(t, `<message type='error' id='m2'><body>hi</body>`+errUnavailable+`</message>`)
	}
	// An error is never answered with an error.
	e.send(t, bob, `<message type='error' id='m3' to='alice@localhost/phone'>`+errUnavailable+`</message>`)
	none(t, phone, laptop, bob)

	// Others get through.
	e.send(t, carol, `<message type='chat' id='m4' to='alice@localhost'><body>hello</body></message>`)
	phone.Expect(t, `<message type='chat' id='m4' from='carol@localhost/pc'><body>hello</body></message>`)
	laptop.Expect(t, `<message type='chat' id='m4' from='carol@localhost/pc'><body>hello</body></message>`)

	// A message routed without the sender's stanza.in (as from a remote
	// server, or a module) is stopped on delivery, and answered once
	// although both sessions would have had it.
	e.route(t, "bob@localhost/pc", "alice@localhost", `<message type='chat' id='m5'><body>again</body></message>`)
	bob.Expect(t, `<message type='error' id='m5' from='alice@localhost' to='bob@localhost/pc'><body>again</body>`+errUnavailable+`</message>`)
	none(t, phone, laptop, bob)

	// Offline: still refused (and so never stored).
	e.logout(phone)
	e.logout(laptop)
	e.send(t, bob, `<message type='chat' id='m6' to='alice@localhost'><body>there?</body></message>`)
	bob.Expect(t, `<message type='error' id='m6' from='alice@localhost'><body>there?</body>`+errUnavailable+`</message>`)
	none(t, bob, carol)
}

// message.undelivered: a message from a blocked JID to a user with no
// session is dropped before offline storage (Drop: the router then
// answers service-unavailable); others are left to the next listener.
func TestMessageUndelivered(t *testing.T) {
	e := start(t, "")
	a := e.login(t, "alice", "phone")
	e.ok(t, a, block("b", "bob@localhost", "montague.net"))
	e.logout(a)
	cases := []struct {
		from string
		want hook.Verdict
	}{
		{"bob@localhost/pc", hook.Drop},
		{"bob@localhost", hook.Drop},
		{"romeo@montague.net/orchard", hook.Drop},
		{"carol@localhost/pc", hook.Continue},
		{"alice@localhost/laptop", hook.Continue},
		{"localhost", hook.Continue},
	}
	for _, tc := range cases {
		t.Run(tc.from, func(t *testing.T) {
			st := stanza.New(modtest.Parse(t, `<message type='chat'><body>x</body></message>`), jid.MustParse(tc.from), jid.MustParse("alice@localhost"))
			if got := hook.Run(context.Background(), e.Hooks, hook.MessageUndelivered, &hook.StanzaEvent{Stanza: st}); got != tc.want {
				t.Fatalf("verdict %v, want %v", got, tc.want)
			}
		})
	}
}

// §3.3 inbound: IQ gets and sets from a blocked JID get
// service-unavailable, also those the server answers for the account;
// results and errors are dropped.
func TestInboundIQ(t *testing.T) {
	e := start(t, "")
	a := e.login(t, "alice", "phone")
	bob := e.login(t, "bob", "pc")
	carol := e.login(t, "carol", "pc")

	// Before: the roster of another account is forbidden to bob.
	e.send(t, bob, `<iq type='get' id='r0' to='alice@localhost'><query xmlns='jabber:iq:roster'/></iq>`)
	if se := stanza.ParseError(bob.Next(t)); se == nil || se.Condition != "forbidden" {
		t.Fatalf("roster get of another account: %v", se)
	}
	e.ok(t, a, block("b", "bob@localhost"))

	for _, typ := range []string{"get", "set"} {
		e.send(t, bob, `<iq type='`+typ+`' id='q1' to='alice@localhost/phone'><query xmlns='jabber:iq:version'/></iq>`)
		bob.Expect(t, `<iq type='error' id='q1' from='alice@localhost/phone' to='bob@localhost/pc'><query xmlns='jabber:iq:version'/>`+errUnavailable+`</iq>`)
	}
	e.send(t, bob, `<iq type='get' id='r1' to='alice@localhost'><query xmlns='jabber:iq:roster'/></iq>`)
	bob.Expect(t, `<iq type='error' id='r1' from='alice@localhost'><query xmlns='jabber:iq:roster'/>`+errUnavailable+`</iq>`)
	for _, typ := range []string{"result", "error"} {
		e.send(t, bob, `<iq type='`+typ+`' id='q2' to='alice@localhost/phone'/>`)
	}
	none(t, a, bob)

	e.send(t, carol, `<iq type='get' id='q3' to='alice@localhost/phone'><query xmlns='jabber:iq:version'/></iq>`)
	a.Expect(t, `<iq type='get' id='q3' from='carol@localhost/pc'><query xmlns='jabber:iq:version'/></iq>`)
}

// §3.3 outbound: what the user sends to a blocked JID is not routed; the
// user gets not-acceptable with <blocked/>, from the blocked JID. Results
// and errors are dropped; the user's own resources and server are never
// blocked.
func TestOutbound(t *testing.T) {
	e := start(t, "")
	phone := e.login(t, "alice", "phone")
	laptop := e.login(t, "alice", "laptop")
	bob := e.login(t, "bob", "pc")
	// Blocking oneself and one's server blocks neither (§5).
	e.ok(t, phone, block("b", "bob@localhost", "alice@localhost", "localhost"))

	cases := []struct{ name, send, want string }{
		{"message", `<message type='chat' id='o1' to='bob@localhost'><body>hi</body></message>`,
			`<message type='error' id='o1' from='bob@localhost' to='alice@localhost/phone'><body>hi</body>` + errBlocked + `</message>`},
		{"message to a resource", `<message id='o2' to='bob@localhost/pc'><body>hi</body></message>`,
			`<message type='error' id='o2' from='bob@localhost/pc'><body>hi</body>` + errBlocked + `</message>`},
		{"iq", `<iq type='get' id='o3' to='bob@localhost/pc'><query xmlns='jabber:iq:version'/></iq>`,
			`<iq type='error' id='o3' from='bob@localhost/pc'><query xmlns='jabber:iq:version'/>` + errBlocked + `</iq>`},
		{"iq for the account", `<iq type='get' id='o4' to='bob@localhost'><vCard xmlns='vcard-temp'/></iq>`,
			`<iq type='error' id='o4' from='bob@localhost'><vCard xmlns='vcard-temp'/>` + errBlocked + `</iq>`},
		{"directed presence", `<presence id='o5' to='bob@localhost/pc'/>`,
			`<presence type='error' id='o5' from='bob@localhost/pc'>` + errBlocked + `</presence>`},
		{"subscription request", `<presence type='subscribe' id='o6' to='bob@localhost'/>`,
			`<presence type='error' id='o6' from='bob@localhost'>` + errBlocked + `</presence>`},
		{"iq result", `<iq type='result' id='o7' to='bob@localhost/pc'/>`, ""},
		{"message error", `<message type='error' id='o8' to='bob@localhost/pc'>` + errUnavailable + `</message>`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.send(t, phone, tc.send)
			if tc.want != "" {
				phone.Expect(t, tc.want)
			}
			none(t, phone, laptop, bob)
		})
	}

	// Own resources and the server.
	e.send(t, phone, `<message type='chat' id='s1' to='alice@localhost/laptop'><body>me</body></message>`)
	laptop.Expect(t, `<message type='chat' id='s1' from='alice@localhost/phone'><body>me</body></message>`)
	e.send(t, phone, `<iq type='get' id='s2' to='localhost'><query xmlns='jabber:iq:version'/></iq>`)
	if got := phone.Next(t); got.Attr("id") != "s2" || got.Attr("from") != "localhost" {
		t.Fatalf("iq to the server: %s", got)
	}
	none(t, phone, laptop, bob)
}

// Presence (§3.3): from a blocked JID it is dropped without an answer —
// subscription requests included, online or not; and the user's own
// presence, routed to each contact by the presence module, does not reach
// a JID the user blocked.
func TestPresence(t *testing.T) {
	e := start(t, "")
	a := e.login(t, "alice", "phone")
	bob := e.login(t, "bob", "pc")
	carol := e.login(t, "carol", "pc")
	e.ok(t, a, block("b", "bob@localhost"))

	// Inbound, as the presence module routes a broadcast: bob's is
	// dropped, carol's delivered.
	e.route(t, "bob@localhost/pc", "alice@localhost", `<presence/>`)
	e.route(t, "carol@localhost/pc", "alice@localhost", `<presence/>`)
	a.Expect(t, `<presence from='carol@localhost/pc' to='alice@localhost/phone'/>`)
	none(t, a, bob, carol)

	// Subscription requests: dropped, no answer; carol's delivered (no
	// presence module here: the router delivers it as it is).
	e.send(t, bob, `<presence type='subscribe' to='alice@localhost'/>`)
	none(t, a, bob)
	e.send(t, carol, `<presence type='subscribe' to='alice@localhost'/>`)
	a.Expect(t, `<presence type='subscribe' from='carol@localhost/pc'/>`)
	// Directed presence to a resource.
	e.send(t, bob, `<presence to='alice@localhost/phone'/>`)
	none(t, a, bob)
	// And when alice is offline, presence.in drops it before anything.
	e.logout(a)
	ev := &hook.StanzaEvent{Stanza: stanza.New(modtest.Parse(t, `<presence type='subscribe'/>`), jid.MustParse("bob@localhost"), jid.MustParse("alice@localhost"))}
	if v := hook.Run(context.Background(), e.Hooks, hook.PresenceIn, ev); v != hook.Drop {
		t.Fatalf("presence.in verdict for a blocked subscriber: %v", v)
	}
	a = e.login(t, "alice", "phone")

	// Outbound, as the presence module broadcasts alice's presence: not
	// to bob, whom she blocked; to carol.
	e.route(t, "alice@localhost/phone", "bob@localhost", `<presence><show>away</show></presence>`)
	e.route(t, "alice@localhost/phone", "carol@localhost", `<presence><show>away</show></presence>`)
	carol.Expect(t, `<presence from='alice@localhost/phone' to='carol@localhost/pc'><show>away</show></presence>`)
	none(t, a, bob, carol)
	// An error the server sends for alice passes.
	e.route(t, "alice@localhost", "bob@localhost/pc", `<message type='error' id='e1'>`+errUnavailable+`</message>`)
	bob.Expect(t, `<message type='error' id='e1' from='alice@localhost'>`+errUnavailable+`</message>`)
}

// §6: items that are a domain, a full JID, or domain/resource.
func TestDomainAndResourceItems(t *testing.T) {
	e := start(t, "")
	a := e.login(t, "alice", "phone")
	a2 := e.login(t, "alice", "laptop")
	pc := e.login(t, "bob", "pc")
	bobLaptop := e.login(t, "bob", "laptop")
	carol := e.login(t, "carol", "pc")

	msg := func(id, to string) string {
		return `<message type='chat' id='` + id + `' to='` + to + `'><body>x</body></message>`
	}
	// A full JID: only that resource.
	e.ok(t, a, block("b1", "bob@localhost/pc"))
	e.send(t, pc, msg("m1", "alice@localhost/phone"))
	pc.Expect(t, `<message type='error' id='m1'><body>x</body>`+errUnavailable+`</message>`)
	e.send(t, bobLaptop, msg("m2", "alice@localhost/phone"))
	a.Expect(t, `<message id='m2' from='bob@localhost/laptop'><body>x</body></message>`)
	// Sending to the blocked resource is refused, to the other one not.
	e.send(t, a, msg("m3", "bob@localhost/pc"))
	a.Expect(t, `<message type='error' id='m3' from='bob@localhost/pc'><body>x</body>`+errBlocked+`</message>`)
	e.send(t, a, msg("m4", "bob@localhost/laptop"))
	bobLaptop.Expect(t, `<message id='m4' from='alice@localhost/phone'><body>x</body></message>`)
	none(t, a, a2, pc, bobLaptop, carol)

	// The own domain: every other user of it, not alice's own resources
	// nor the server.
	e.ok(t, a, block("b2", "localhost"))
	for _, s := range []*modtest.Session{bobLaptop, carol} {
		e.send(t, s, msg("m5", "alice@localhost"))
		s.Expect(t, `<message type='error' id='m5' from='alice@localhost'><body>x</body>`+errUnavailable+`</message>`)
	}
	e.send(t, a2, msg("m6", "alice@localhost/phone"))
	a.Expect(t, `<message id='m6' from='alice@localhost/laptop'><body>x</body></message>`)
	e.send(t, a, `<iq type='get' id='p' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`)
	if got := a.Next(t); got.Attr("id") != "p" || got.Attr("from") != "localhost" {
		t.Fatalf("iq to the server: %s", got)
	}
	// A remote domain: refused before the router looks for the server.
	e.ok(t, a, block("b3", "montague.net"))
	e.send(t, a, msg("m7", "romeo@montague.net/orchard"))
	a.Expect(t, `<message type='error' id='m7' from='romeo@montague.net/orchard'><body>x</body>`+errBlocked+`</message>`)
	// domain/resource: only that JID.
	e.ok(t, a, block("b4", "shakespeare.lit/globe"))
	e.send(t, a, msg("m8", "shakespeare.lit/globe"))
	a.Expect(t, `<message type='error' id='m8' from='shakespeare.lit/globe'><body>x</body>`+errBlocked+`</message>`)
	e.send(t, a, msg("m9", "iago@shakespeare.lit/globe"))
	if se := stanza.ParseError(a.Next(t)); se == nil || se.Condition != "remote-server-not-found" {
		t.Fatalf("iago@shakespeare.lit/globe: %v, want the router's remote-server-not-found", se)
	}
	none(t, a, a2, pc, bobLaptop, carol)

	// Unblocking the domain leaves the resource item in force.
	e.ok(t, a, unblock("u1", "localhost"))
	e.send(t, bobLaptop, msg("m10", "alice@localhost/phone"))
	a.Expect(t, `<message id='m10' from='bob@localhost/laptop'><body>x</body></message>`)
	e.send(t, pc, msg("m11", "alice@localhost/phone"))
	pc.Expect(t, `<message type='error' id='m11'><body>x</body>`+errUnavailable+`</message>`)
	none(t, a, a2, pc, bobLaptop, carol)
}

// §3.3: blocking sends unavailable presence from each available resource
// to each newly blocked contact subscribed to the user's presence; §3.4:
// unblocking sends the current presence to those no item still blocks.
func TestBlockPresenceNotifications(t *testing.T) {
	e := start(t, "")
	ctx := context.Background()
	alice := jid.MustParse("alice@localhost")
	for c, sub := range map[string]roster.Subscription{
		"bob": roster.From, "carol": roster.Both, "dave": roster.To, "eve": roster.None,
	} {
		if _, err := e.roster.Put(ctx, alice, roster.Item{JID: jid.MustParse(c + "@localhost"), Subscription: sub}); err != nil {
			t.Fatal(err)
		}
	}
	phone := e.login(t, "alice", "phone")
	laptop := e.login(t, "alice", "laptop")
	e.login(t, "alice", "tablet") // bound, never available
	e.send(t, phone, `<presence><show>away</show></presence>`)
	e.send(t, laptop, `<presence/>`)
	bob := e.login(t, "bob", "pc")
	carolPC := e.login(t, "carol", "pc")
	carolTablet := e.login(t, "carol", "tablet")
	dave := e.login(t, "dave", "pc")
	eve := e.login(t, "eve", "pc")
	all := []*modtest.Session{phone, laptop, bob, carolPC, carolTablet, dave, eve}

	e.ok(t, phone, block("b1", "bob@localhost", "dave@localhost", "eve@localhost"))
	bob.Expect(t, `<presence type='unavailable' from='alice@localhost/laptop' to='bob@localhost/pc'/>`)
	bob.Expect(t, `<presence type='unavailable' from='alice@localhost/phone' to='bob@localhost/pc'/>`)
	none(t, all...)

	// A full JID item: to that resource.
	e.ok(t, phone, block("b2", "carol@localhost/pc"))
	carolPC.Expect(t, `<presence type='unavailable' from='alice@localhost/laptop' to='carol@localhost/pc'/>`)
	carolPC.Expect(t, `<presence type='unavailable' from='alice@localhost/phone' to='carol@localhost/pc'/>`)
	none(t, all...)

	// An unavailable resource sends nothing.
	e.send(t, laptop, `<presence type='unavailable'/>`)
	e.ok(t, phone, unblock("u1", "bob@localhost", "dave@localhost"))
	bob.Expect(t, `<presence from='alice@localhost/phone' to='bob@localhost/pc'><show>away</show></presence>`)
	none(t, all...)

	// A domain item covers every subscriber at it; then unblocking all
	// tells those no other item blocks (carol's pc was blocked already:
	// nothing more for it; eve is no subscriber).
	e.ok(t, phone, block("b3", "localhost"))
	bob.Expect(t, `<presence type='unavailable' from='alice@localhost/phone' to='bob@localhost/pc'/>`)
	carolPC.Expect(t, `<presence type='unavailable' from='alice@localhost/phone' to='carol@localhost/pc'/>`)
	carolTablet.Expect(t, `<presence type='unavailable' from='alice@localhost/phone' to='carol@localhost/tablet'/>`)
	none(t, all...)
	e.ok(t, phone, unblock("u2"))
	bob.Expect(t, `<presence from='alice@localhost/phone' to='bob@localhost/pc'><show>away</show></presence>`)
	// Once to carol's bare JID, which covers the item carol@localhost/pc.
	carolPC.Expect(t, `<presence from='alice@localhost/phone' to='carol@localhost/pc'><show>away</show></presence>`)
	carolTablet.Expect(t, `<presence from='alice@localhost/phone' to='carol@localhost/tablet'><show>away</show></presence>`)
	none(t, all...)
}

// The store is the truth: the list outlives the sessions, is enforced
// for a user with none, and goes with the account (user.removed).
func TestListLifetime(t *testing.T) {
	e := start(t, "")
	a := e.login(t, "alice", "phone")
	bob := e.login(t, "bob", "pc")
	e.ok(t, a, block("b", "bob@localhost"))
	e.logout(a)

	e.send(t, bob, `<message type='chat' id='m1' to='alice@localhost'><body>x</body></message>`)
	bob.Expect(t, `<message type='error' id='m1'><body>x</body>`+errUnavailable+`</message>`)
	a = e.login(t, "alice", "phone")
	if got := e.fetchList(t, a); !slices.Equal(got, []string{"bob@localhost"}) {
		t.Fatalf("list after logging in again: %v", got)
	}
	e.send(t, bob, `<message type='chat' id='m2' to='alice@localhost'><body>x</body></message>`)
	bob.Expect(t, `<message type='error' id='m2'><body>x</body>`+errUnavailable+`</message>`)

	// The account is removed and registered again: an empty list.
	e.logout(a)
	ctx := context.Background()
	if err := e.Accounts.Remove(ctx, e.Domain, "alice"); err != nil {
		t.Fatal(err)
	}
	for range 2 { // idempotent
		hook.Run(ctx, e.Hooks, hook.UserRemoved, &hook.UserEvent{Host: e.Domain, Username: "alice"})
	}
	a = e.login(t, "alice", "phone")
	if got := e.fetchList(t, a); len(got) != 0 {
		t.Fatalf("list of the new account: %v", got)
	}
	e.send(t, bob, `<message type='chat' id='m3' to='alice@localhost'><body>x</body></message>`)
	a.Expect(t, `<message type='chat' id='m3' from='bob@localhost/pc'><body>x</body></message>`)
	none(t, a, bob)
}

// §3.1: the server advertises urn:xmpp:blocking.
func TestDiscoFeature(t *testing.T) {
	e := start(t, "", disco.Module)
	a := e.login(t, "alice", "phone")
	e.send(t, a, `<iq type='get' id='d' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
	got := a.Next(t)
	q := got.Child("http://jabber.org/protocol/disco#info", "query")
	if got.Attr("type") != "result" || q == nil {
		t.Fatalf("disco#info: %s", got)
	}
	found := false
	for _, f := range q.Elements() {
		if f.Name.Local == "feature" && f.Attr("var") == blocking.NS {
			found = true
		}
	}
	if !found {
		t.Fatalf("no %s feature in %s", blocking.NS, got)
	}
}

// Commands from several resources at once: each change is stored once
// and pushed once to each interested resource, while stanzas are checked
// against the list being changed (run with -race).
func TestConcurrentCommands(t *testing.T) {
	e := start(t, "")
	phone := e.login(t, "alice", "phone")
	laptop := e.login(t, "alice", "laptop")
	bob := e.login(t, "bob", "pc")
	e.fetch(t, phone)
	e.fetch(t, laptop)
	const n = 8
	var wg sync.WaitGroup
	for i := range n {
		s := phone
		if i%2 == 1 {
			s = laptop
		}
		wg.Go(func() {
			e.send(t, s, block("c"+strconv.Itoa(i), "u"+strconv.Itoa(i)+"@example.com"))
		})
		wg.Go(func() {
			e.send(t, bob, `<message type='chat' to='alice@localhost'><body>x</body></message>`)
		})
	}
	wg.Wait()
	for _, s := range []*modtest.Session{phone, laptop} {
		pushes, results := 0, 0
		for s.Pending() > 0 {
			got := s.Next(t)
			switch {
			case got.Attr("type") == "set" && got.Child(blocking.NS, "block") != nil:
				pushes++
			case got.Attr("type") == "result":
				results++
			}
		}
		if pushes != n || results != n/2 {
			t.Fatalf("%s: %d pushes, %d results; want %d, %d", s.JID(), pushes, results, n, n/2)
		}
	}
	if got := e.fetchList(t, phone); len(got) != n {
		t.Fatalf("list %v", got)
	}
}
