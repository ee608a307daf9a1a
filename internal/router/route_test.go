package router_test

import (
	"testing"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/stanza"
)

// The tables below follow RFC 6120 §10 and RFC 6121 §8.5 one section at a
// time. No module stores messages offline in the default server, so where
// RFC 6121 §8.5.2.2.1 lets the server either store or bounce a message,
// these tests see the bounce (service-unavailable).

var (
	errSU   = stanza.ErrServiceUnavailable
	errRSNF = stanza.ErrRemoteServerNotFound
)

// messageTypes are the message types of RFC 6121 §5.2.2, with the absent
// type and an unknown one, both handled as "normal".
var messageTypes = []string{"", "normal", "chat", "headline", "groupchat", "bogus"}

// presenceTypes are the presence types a client may send (RFC 6121 §4.7.1,
// §3), error aside.
var presenceTypes = []string{"", "unavailable", "subscribe", "subscribed", "unsubscribe", "unsubscribed", "probe"}

func typeName(typ string) string {
	if typ == "" {
		return "no type"
	}
	return typ
}

// TestRouteToServer covers stanzas addressed to the domain itself and to a
// resource of the domain (RFC 6120 §10.5.1, §10.5.2).
func TestRouteToServer(t *testing.T) {
	e := start(t)
	alice := e.available(t, "alice", "a", 0)
	d := e.domain
	cases := []routeCase{
		// RFC 6120 §8.4 and §10.5.1: a request nobody handles.
		{"iq get, namespace nobody serves", iq("get", d, unknownNS), bounce(errSU)},
		{"iq set, namespace nobody serves", iq("set", d, unknownNS), bounce(errSU)},
		{"iq set, payload served for get only", iq("set", d, ns.Ping), bounce(errSU)},
		{"iq get, served", iq("get", d, ns.Ping),
			reply(`<iq type='result' from='` + d + `' to='` + alice.full() + `'/>`)},
		{"iq get, domain in upper case", iq("get", "LOCALHOST", ns.Ping),
			reply(`<iq type='result' from='` + d + `' to='` + alice.full() + `'/>`)},
		// RFC 6120 §8.2.3: results and errors are never answered.
		{"iq result", iq("result", d, ""), drop},
		{"iq error", iq("error", d, ""), drop},
		{"iq error, ping payload", `<iq type='error' to='` + d + `'><ping xmlns='urn:xmpp:ping'/>` + errorEl + `</iq>`, drop},
		{"message error", errorMsg(d), drop},
		{"presence error", pres("error", d), drop},
		// A resource of the domain: nothing lives there (§10.5.2 lets the
		// server answer with an error).
		{"resource: iq get", iq("get", d+"/nothing", ns.Ping), bounce(errSU)},
		{"resource: message", msg("chat", d+"/nothing"), bounce(errSU)},
		{"resource: presence", pres("", d+"/nothing"), bounce(errSU)},
		{"resource: iq result", iq("result", d+"/nothing", ""), drop},
		{"resource: iq error", iq("error", d+"/nothing", ""), drop},
		{"resource: message error", errorMsg(d + "/nothing"), drop},
		{"resource: presence error", pres("error", d+"/nothing"), drop},
	}
	// Messages and presence for the server itself: no module takes them,
	// and the server handles them by ignoring them (§10.5.1 (a)).
	for _, typ := range messageTypes {
		cases = append(cases, routeCase{"message " + typeName(typ), msg(typ, d), drop})
	}
	for _, typ := range presenceTypes {
		cases = append(cases, routeCase{"presence " + typeName(typ), pres(typ, d), drop})
	}
	runRoute(t, alice, nil, cases)
}

// TestRouteRemoteDomain covers domains this server does not serve, with no
// server-to-server connection to reach them (RFC 6120 §10.4.3).
func TestRouteRemoteDomain(t *testing.T) {
	e := start(t)
	alice := e.available(t, "alice", "a", 0)
	var cases []routeCase
	for _, dst := range []string{"example.net", "bob@example.net", "bob@example.net/phone"} {
		for _, typ := range messageTypes {
			cases = append(cases, routeCase{dst + ": message " + typeName(typ), msg(typ, dst), bounce(errRSNF)})
		}
		cases = append(cases,
			routeCase{dst + ": presence", pres("", dst), bounce(errRSNF)},
			routeCase{dst + ": presence subscribe", pres("subscribe", dst), bounce(errRSNF)},
			routeCase{dst + ": iq get", iq("get", dst, ns.Ping), bounce(errRSNF)},
			routeCase{dst + ": iq set", iq("set", dst, unknownNS), bounce(errRSNF)},
			// Never an error in answer to an error (RFC 6120 §8.3.1).
			routeCase{dst + ": iq result", iq("result", dst, ""), drop},
			routeCase{dst + ": iq error", iq("error", dst, ""), drop},
			routeCase{dst + ": message error", errorMsg(dst), drop},
			routeCase{dst + ": presence error", pres("error", dst), drop},
		)
	}
	runRoute(t, alice, nil, cases)
}

// TestRouteNoSuchUser covers a local domain and an account that does not
// exist, at its bare JID and at a full JID (RFC 6121 §8.5.1, RFC 6120
// §10.5.3.1).
func TestRouteNoSuchUser(t *testing.T) {
	e := start(t)
	alice := e.available(t, "alice", "a", 0)
	var cases []routeCase
	for _, dst := range []string{e.bare("nobody"), e.bare("nobody") + "/phone"} {
		full := dst != e.bare("nobody")
		for _, typ := range messageTypes {
			// §8.5.1: a message is ignored or answered with
			// service-unavailable; Parley answers. To a full JID, a
			// headline is ignored (§8.5.3.2.1 allows both).
			want := bounce(errSU)
			if full && typ == "headline" {
				want = drop
			}
			cases = append(cases, routeCase{dst + ": message " + typeName(typ), msg(typ, dst), want})
		}
		for _, typ := range presenceTypes {
			// §8.5.1: presence, subscriptions and probes are ignored.
			cases = append(cases, routeCase{dst + ": presence " + typeName(typ), pres(typ, dst), drop})
		}
		cases = append(cases,
			// §8.5.1: an IQ gets service-unavailable.
			routeCase{dst + ": iq get, served namespace", iq("get", dst, ns.Ping), bounce(errSU)},
			routeCase{dst + ": iq get", iq("get", dst, unknownNS), bounce(errSU)},
			routeCase{dst + ": iq set", iq("set", dst, unknownNS), bounce(errSU)},
			routeCase{dst + ": iq result", iq("result", dst, ""), drop},
			routeCase{dst + ": iq error", iq("error", dst, ""), drop},
			routeCase{dst + ": message error", errorMsg(dst), drop},
			routeCase{dst + ": presence error", pres("error", dst), drop},
		)
	}
	runRoute(t, alice, nil, cases)
}

// resState is how a recipient resource stands when the stanza arrives.
type resState int

const (
	// isAvailable: initial presence sent, with a priority.
	isAvailable resState = iota
	// isConnected: bound, but no initial presence yet (RFC 6121 §1.3).
	isConnected
	// wentUnavailable: available, then unavailable presence, stream open.
	wentUnavailable
)

type resSpec struct {
	name  string
	state resState
	prio  int
}

// login brings the resources of user up as specs say.
func (e *env) login(t *testing.T, user string, specs []resSpec) []*peer {
	t.Helper()
	var ps []*peer
	for _, s := range specs {
		var p *peer
		switch s.state {
		case isAvailable:
			p = e.available(t, user, s.name, s.prio)
		case isConnected:
			p = e.connected(t, user, s.name)
			p.sync(t)
		case wentUnavailable:
			p = e.available(t, user, s.name, s.prio)
			p.send(t, `<presence type='unavailable'/>`)
			p.sync(t)
		}
		ps = append(ps, p)
	}
	return ps
}

func pick(ps []*peer, idx []int) []*peer {
	var out []*peer
	for _, i := range idx {
		out = append(out, ps[i])
	}
	return out
}

// bareScenarios are the resource situations of RFC 6121 §8.5.2: for each,
// which resources get a normal or chat message ("most available"), which
// get a headline (every non-negative one) and which get presence (every
// available one). A nil most means the message is undeliverable.
var bareScenarios = []struct {
	name            string
	res             []resSpec
	most, all, pres []int
}{
	// §8.5.2.2: no available or connected resource.
	{"no resource", nil, nil, nil, nil},
	// §8.5.2.1.1: one available resource with non-negative priority.
	{"one available, priority 0", []resSpec{{"r0", isAvailable, 0}}, []int{0}, []int{0}, []int{0}},
	{"one available, priority 7", []resSpec{{"r7", isAvailable, 7}}, []int{0}, []int{0}, []int{0}},
	// §8.5.2.1.1 (a): "most available" is every resource sharing the
	// highest priority.
	{"equal priorities", []resSpec{{"a", isAvailable, 1}, {"b", isAvailable, 1}},
		[]int{0, 1}, []int{0, 1}, []int{0, 1}},
	{"different priorities", []resSpec{{"p1", isAvailable, 1}, {"p3", isAvailable, 3}, {"p0", isAvailable, 0}},
		[]int{1}, []int{0, 1, 2}, []int{0, 1, 2}},
	// §8.5.2.1.1: never to a negative priority; presence goes to every
	// available resource whatever its priority (§8.5.2.1.2).
	{"negative beside non-negative", []resSpec{{"neg", isAvailable, -1}, {"zero", isAvailable, 0}},
		[]int{1}, []int{1}, []int{0, 1}},
	// §8.5.2.1.1: only negative priorities: as if none were available.
	{"negative only", []resSpec{{"n1", isAvailable, -1}, {"n128", isAvailable, -128}},
		nil, nil, []int{0, 1}},
	// A connected resource has no presence priority: nothing sent to the
	// bare JID reaches it.
	{"connected, not available", []resSpec{{"idle", isConnected, 0}}, nil, nil, nil},
	{"connected beside available", []resSpec{{"idle", isConnected, 0}, {"on", isAvailable, 0}},
		[]int{1}, []int{1}, []int{1}},
	{"went unavailable", []resSpec{{"gone", wentUnavailable, 5}}, nil, nil, nil},
	{"went unavailable beside available", []resSpec{{"gone", wentUnavailable, 5}, {"on", isAvailable, 0}},
		[]int{1}, []int{1}, []int{1}},
}

// TestRouteBareJID covers stanzas to the bare JID of an existing account,
// table by table: messages (RFC 6121 §8.5.2.1.1, §8.5.2.2.1), presence
// (§8.5.2.1.2, §8.5.2.2.2) and IQs (§8.5.2.1.3, §8.5.2.2.3).
func TestRouteBareJID(t *testing.T) {
	e := start(t)
	alice := e.available(t, "alice", "a", 0)
	for i, sc := range bareScenarios {
		t.Run(sc.name, func(t *testing.T) {
			user := "bob" + string(rune('a'+i))
			e.srv.CreateUser(t, user)
			res := e.login(t, user, sc.res)
			dst := e.bare(user)
			var cases []routeCase
			for _, typ := range messageTypes {
				var want outcome
				switch {
				case typ == "groupchat":
					// §8.5.2.1.1, §8.5.2.2.1: never delivered; an error.
					want = bounce(errSU)
				case typ == "headline" && sc.all == nil:
					// §8.5.2.1.1, §8.5.2.2.1: silently ignored.
					want = drop
				case typ == "headline":
					want = to(pick(res, sc.all)...)
				case sc.most == nil:
					// §8.5.2.2.1: stored offline or service-unavailable.
					want = bounce(errSU)
				default:
					// §8.5.2.1.1: 'to' is left as the bare JID.
					want = to(pick(res, sc.most)...)
				}
				cases = append(cases, routeCase{"message " + typeName(typ), msg(typ, dst), want})
			}
			// §8.5.2.1.1, §8.5.2.2.1: an error message is silently ignored.
			cases = append(cases, routeCase{"message error", errorMsg(dst), drop})
			for _, typ := range []string{"", "unavailable", "subscribe"} {
				// §8.5.2.1.2: to every available resource; §8.5.2.2.2:
				// ignored when there is none. Subscription requests reach
				// the available resources (§3.1.3), as no roster module
				// handles them here.
				want := to(pick(res, sc.pres)...)
				want.rewritten = "{any}"
				cases = append(cases, routeCase{"presence " + typeName(typ), pres(typ, dst), want})
			}
			cases = append(cases,
				// §8.5.2.1.3, §8.5.2.2.3: the server answers for the user
				// and never hands the IQ to a resource.
				routeCase{"iq get, served for the account", iq("get", dst, ns.Ping),
					reply(`<iq type='result' from='` + dst + `' to='` + alice.full() + `'/>`)},
				routeCase{"iq get, namespace nobody serves", iq("get", dst, unknownNS), bounce(errSU)},
				routeCase{"iq set, namespace nobody serves", iq("set", dst, unknownNS), bounce(errSU)},
				routeCase{"iq result", iq("result", dst, ""), drop},
				routeCase{"iq error", iq("error", dst, ""), drop},
			)
			runRoute(t, alice, res, cases)
		})
	}
}

// TestRouteFullJID covers stanzas to a full JID (RFC 6121 §8.5.3): a
// resource that is online gets whatever is addressed to it (§8.5.3.1); for
// one that is not, each kind and type has its rule (§8.5.3.2).
func TestRouteFullJID(t *testing.T) {
	e := start(t)
	alice := e.available(t, "alice", "a", 0)
	bob := e.login(t, "bob", []resSpec{
		{"desk", isAvailable, 0},
		{"low", isAvailable, -1},
		{"idle", isConnected, 0},
	})
	desk, low := bob[0], bob[1]

	t.Run("online", func(t *testing.T) {
		var cases []routeCase
		for _, r := range bob {
			dst := r.full()
			for _, typ := range append(messageTypes, "error") {
				el := msg(typ, dst)
				if typ == "error" {
					el = errorMsg(dst)
				}
				cases = append(cases, routeCase{r.name + ": message " + typeName(typ), el, to(r)})
			}
			for _, typ := range append(presenceTypes, "error") {
				want := to(r)
				switch typ {
				case "probe":
					// §4.3.2: the server answers probes for the account;
					// with no presence module, nothing does.
					want = drop
				case "subscribe", "subscribed", "unsubscribe", "unsubscribed":
					// §3: handled for the account, as if to the bare JID:
					// every available resource gets it.
					want = to(pick(bob, []int{0, 1})...)
					want.rewritten = "{any}"
				}
				cases = append(cases, routeCase{r.name + ": presence " + typeName(typ), pres(typ, dst), want})
			}
			for _, typ := range []string{"get", "set", "result", "error"} {
				cases = append(cases, routeCase{r.name + ": iq " + typ, iq(typ, dst, unknownNS), to(r)})
			}
		}
		runRoute(t, alice, bob, cases)
	})

	t.Run("resource offline", func(t *testing.T) {
		dst := e.bare("bob") + "/gone"
		subscribe := to(desk, low) // as if to the bare JID: every available resource
		subscribe.rewritten = "{any}"
		cases := []routeCase{
			// §8.5.3.2.1: chat is handled as if sent to the bare JID; 'to'
			// stays as the sender wrote it.
			{"message chat", msg("chat", dst), to(desk)},
			// §8.5.3.2.1: normal, groupchat and headline are ignored or
			// answered with an error; error is ignored.
			{"message no type", msg("", dst), bounce(errSU)},
			{"message normal", msg("normal", dst), bounce(errSU)},
			{"message of unknown type", msg("bogus", dst), bounce(errSU)},
			{"message groupchat", msg("groupchat", dst), bounce(errSU)},
			{"message headline", msg("headline", dst), drop},
			{"message error", errorMsg(dst), drop},
			// §8.5.3.2.2: available, unavailable and probe presence are
			// ignored; subscription stanzas go as to the bare JID.
			{"presence", pres("", dst), drop},
			{"presence unavailable", pres("unavailable", dst), drop},
			{"presence probe", pres("probe", dst), drop},
			{"presence error", pres("error", dst), drop},
			{"presence subscribe", pres("subscribe", dst), subscribe},
			{"presence subscribed", pres("subscribed", dst), subscribe},
			// §8.5.3.2.3: an IQ gets service-unavailable.
			{"iq get", iq("get", dst, ns.Ping), bounce(errSU)},
			{"iq set", iq("set", dst, unknownNS), bounce(errSU)},
			{"iq result", iq("result", dst, ""), drop},
			{"iq error", iq("error", dst, ""), drop},
		}
		runRoute(t, alice, bob, cases)
	})

	t.Run("no non-negative resource", func(t *testing.T) {
		// §8.5.3.2.1 for chat, with every available resource negative or
		// none at all: offline storage or service-unavailable.
		carol := e.login(t, "carol", []resSpec{{"neg", isAvailable, -1}, {"idle", isConnected, 0}})
		e.srv.CreateUser(t, "dave") // no session at all
		var cases []routeCase
		for _, u := range []string{"carol", "dave"} {
			dst := e.bare(u) + "/gone"
			subscribe := drop
			if u == "carol" {
				subscribe = to(carol[0])
				subscribe.rewritten = "{any}"
			}
			cases = append(cases,
				routeCase{u + ": message chat", msg("chat", dst), bounce(errSU)},
				routeCase{u + ": message normal", msg("normal", dst), bounce(errSU)},
				routeCase{u + ": message groupchat", msg("groupchat", dst), bounce(errSU)},
				routeCase{u + ": message headline", msg("headline", dst), drop},
				routeCase{u + ": message error", errorMsg(dst), drop},
				routeCase{u + ": presence", pres("", dst), drop},
				routeCase{u + ": presence subscribe", pres("subscribe", dst), subscribe},
				routeCase{u + ": iq get", iq("get", dst, ns.Ping), bounce(errSU)},
				routeCase{u + ": iq result", iq("result", dst, ""), drop},
			)
		}
		runRoute(t, alice, carol, cases)
	})
}

// TestRouteOwnAccount covers what a user sends to its own account: no
// 'to' (RFC 6120 §10.3), its own bare JID (RFC 6121 §8.5.2) and its own
// resources (§8.5.3.1).
func TestRouteOwnAccount(t *testing.T) {
	e := start(t)
	res := e.login(t, "alice", []resSpec{
		{"main", isAvailable, 1},
		{"second", isAvailable, 0},
		{"idle", isConnected, 0},
	})
	main, second, idle := res[0], res[1], res[2]
	own := e.bare("alice")
	presence := to(main, second)
	presence.rewritten = "{any}"
	cases := []routeCase{
		// §10.3.1: a message without 'to' is for the sender's bare JID.
		{"message chat, no to", msg("chat", ""), to(main)},
		{"message headline, no to", msg("headline", ""), to(main, second)},
		{"message groupchat, no to", msg("groupchat", ""), bounce(errSU)},
		{"message chat to own bare JID", msg("chat", own), to(main)},
		{"message normal to own bare JID", msg("normal", own), to(main)},
		{"message headline to own bare JID", msg("headline", own), to(main, second)},
		{"message error to own bare JID", errorMsg(own), drop},
		{"message to itself", msg("chat", main.full()), to(main)},
		{"message to another resource", msg("chat", second.full()), to(second)},
		{"message to a connected resource", msg("normal", idle.full()), to(idle)},
		{"message to an offline resource", msg("normal", own+"/gone"), bounce(errSU)},
		{"directed presence to own bare JID", pres("", own), presence},
		// §10.3.3 and RFC 6121 §8.5.2.1.3: the server answers for the
		// account.
		{"iq get, no to", iq("get", "", ns.Ping), reply(`<iq type='result' to='` + main.full() + `'/>`)},
		{"iq get to own bare JID", iq("get", own, ns.Ping),
			reply(`<iq type='result' from='` + own + `' to='` + main.full() + `'/>`)},
		{"iq get, no to, namespace nobody serves", iq("get", "", unknownNS), bounce(errSU)},
		{"iq set to own bare JID, namespace nobody serves", iq("set", own, unknownNS), bounce(errSU)},
		{"iq result, no to", iq("result", "", ""), drop},
		{"iq error to own bare JID", iq("error", own, ""), drop},
		// §8.5.3.1: an IQ for a resource is delivered to it.
		{"iq get to another resource", iq("get", second.full(), unknownNS), to(second)},
		{"iq get to itself", iq("get", main.full(), unknownNS), to(main)},
	}
	runRoute(t, main, res, cases)
}

// TestIQRoundTrip checks that an IQ to another entity's full JID is
// forwarded, that the recipient's answer, result or error, is routed back,
// and that the requester gets that answer once and nothing else (RFC 6120
// §8.2.3, RFC 6121 §8.5.3.1).
func TestIQRoundTrip(t *testing.T) {
	e := start(t)
	alice := e.available(t, "alice", "a", 0)
	second := e.available(t, "alice", "b", 0)
	bob := e.login(t, "bob", []resSpec{{"desk", isAvailable, 0}, {"idle", isConnected, 0}})
	cases := []struct {
		name     string
		to       *peer
		typ      string
		answer   string // the answer's type
		answerEl string // the answer's children
	}{
		{"get answered with result", bob[0], "get", "result", `<query xmlns='` + unknownNS + `'><item/></query>`},
		{"set answered with empty result", bob[0], "set", "result", ``},
		{"get answered with error", bob[0], "get", "error", `<query xmlns='` + unknownNS + `'/>` + errorEl},
		{"connected resource", bob[1], "get", "result", ``},
		{"own other resource", second, "get", "result", ``},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sent := iq(tc.typ, tc.to.full(), unknownNS)
			id := nextID("rt")
			alice.send(t, withID(t, sent, id))
			got := settle(t, alice, alice, tc.to)
			expectSeq(t, alice.name, got[alice])
			expectSeq(t, tc.to.name, got[tc.to], parse(t,
				`<iq type='`+tc.typ+`' id='`+id+`' from='`+alice.full()+`' to='`+tc.to.full()+`'><query xmlns='`+unknownNS+`'/></iq>`))

			// The recipient answers the requester's full JID; the server
			// stamps 'from'.
			tc.to.send(t, `<iq type='`+tc.answer+`' id='`+id+`' to='`+alice.full()+`'>`+tc.answerEl+`</iq>`)
			got = settle(t, tc.to, alice, tc.to)
			expectSeq(t, tc.to.name, got[tc.to])
			expectSeq(t, alice.name, got[alice], parse(t,
				`<iq type='`+tc.answer+`' id='`+id+`' from='`+tc.to.full()+`' to='`+alice.full()+`'>`+tc.answerEl+`</iq>`))
		})
	}
}

// TestIQExactlyOneReply sends IQ get and set requests to every kind of
// address the server decides for and checks that each gets exactly one
// reply, result or error, with the request's id and from the address it
// was sent to (RFC 6120 §8.2.3, §8.3.1).
func TestIQExactlyOneReply(t *testing.T) {
	e := start(t)
	alice := e.available(t, "alice", "a", 0)
	e.available(t, "bob", "desk", 0)
	e.srv.CreateUser(t, "carol")
	d := e.domain
	dsts := []string{
		"", d, d + "/res", "example.net", "bob@example.net", "bob@example.net/r",
		e.bare("nobody"), e.bare("nobody") + "/r",
		e.bare("alice"), e.bare("bob"), e.bare("carol"),
		e.bare("alice") + "/gone", e.bare("bob") + "/gone", e.bare("carol") + "/gone",
	}
	for _, dst := range dsts {
		for _, typ := range []string{"get", "set"} {
			for _, payload := range []string{ns.Ping, ns.DiscoInfo, unknownNS} {
				name := dst + " " + typ + " " + payload
				t.Run(name, func(t *testing.T) {
					id := nextID("one")
					alice.send(t, withID(t, iq(typ, dst, payload), id))
					got := settle(t, alice, alice)[alice]
					if len(got) != 1 {
						t.Fatalf("%d replies %s, want 1", len(got), dump(got))
					}
					r := got[0]
					wantFrom := dst
					if dst == "" {
						wantFrom = e.bare("alice")
					}
					if r.Name.Local != "iq" || r.Attr("id") != id || r.Attr("to") != alice.full() ||
						(r.Attr("type") != "result" && r.Attr("type") != "error") ||
						(r.Attr("from") != wantFrom && !(dst == "" && r.Attr("from") == "")) {
						t.Errorf("reply %s, want a result or error with id %s from %q", r, id, wantFrom)
					}
				})
			}
		}
	}
}

// TestErrorNeverAnswered sends error stanzas of each kind to every address
// that would bounce a request and checks that nothing comes back: an error
// is never answered with an error (RFC 6120 §8.3.1).
func TestErrorNeverAnswered(t *testing.T) {
	e := start(t)
	alice := e.available(t, "alice", "a", 0)
	e.srv.CreateUser(t, "carol") // exists, never online
	d := e.domain
	var cases []routeCase
	for _, dst := range []string{
		d + "/res", "example.net", "bob@example.net/r",
		e.bare("nobody"), e.bare("nobody") + "/r",
		e.bare("carol"), e.bare("carol") + "/r", e.bare("alice") + "/gone",
	} {
		cases = append(cases,
			routeCase{dst + ": message", errorMsg(dst), drop},
			routeCase{dst + ": presence", pres("error", dst), drop},
			routeCase{dst + ": iq", iq("error", dst, ""), drop},
			routeCase{dst + ": iq result", iq("result", dst, ""), drop},
		)
	}
	runRoute(t, alice, nil, cases)
}
