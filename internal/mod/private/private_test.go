package private_test

// Module tests on the real registry and router (internal/mod/modtest),
// each pinning what XEP-0049 asks for: results, errors and what stays
// stored.

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/mod/modtest"
	"github.com/parleyim/parley/internal/mod/private"
	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/xmpptest"
)

func start(t *testing.T, yaml string) *modtest.Env {
	t.Helper()
	return modtest.Start(t, modtest.Options{Config: yaml}, private.Module)
}

func query(body string) string { return `<query xmlns='jabber:iq:private'>` + body + `</query>` }

func get(id, body string) string { return `<iq type='get' id='` + id + `'>` + query(body) + `</iq>` }

func set(id, body string) string { return `<iq type='set' id='` + id + `'>` + query(body) + `</iq>` }

func result(id string) string { return `<iq type='result' id='` + id + `'/>` }

func stanzaErr(typ, cond, text string) string {
	t := ""
	if text != "" {
		t = `<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>` + text + `</text>`
	}
	return `<error type='` + typ + `'><` + cond + ` xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>` + t + `</error>`
}

// expectQuery takes the next stanza, a result with a query, and checks
// that its children serialize exactly as want's.
func expectQuery(t *testing.T, s *modtest.Session, id, want string) {
	t.Helper()
	got := s.Expect(t, `<iq type='result' id='`+id+`'>`+query(want)+`</iq>`)
	w := xmpptest.Parse(t, query(want))
	if g := got.FirstChild().String(); g != w.String() {
		t.Fatalf("got  %s\nwant %s", g, w)
	}
}

const (
	prefs     = `<exodus xmlns='exodus:prefs'><defaultnick>Hamlet</defaultnick></exodus>`
	bookmarks = `<storage xmlns='storage:bookmarks'><conference jid='council@chat.example' autojoin='true' name='Council &amp; Co'><nick>Ham</nick></conference></storage>`
)

// XEP-0049 §2.3, Examples 1 and 2: store, then retrieve; nothing stored
// gives the empty element back.
func TestStoreRetrieve(t *testing.T) {
	env := start(t, "")
	alice := env.Login(t, "alice", "home")

	alice.Send(t, get("g0", `<exodus xmlns='exodus:prefs'/>`))
	expectQuery(t, alice, "g0", `<exodus xmlns='exodus:prefs'/>`)

	alice.Send(t, set("s1", prefs))
	alice.Expect(t, `<iq type='result' id='s1' from='alice@localhost' to='alice@localhost/home'/>`)
	alice.Send(t, get("g1", `<exodus xmlns='exodus:prefs'/>`))
	alice.Expect(t, `<iq type='result' id='g1' from='alice@localhost' to='alice@localhost/home'>`+query(prefs)+`</iq>`)

	// Addressed to the own bare JID is the same.
	alice.Send(t, `<iq type='get' id='g2' to='alice@localhost'>`+query(`<exodus xmlns='exodus:prefs'/>`)+`</iq>`)
	expectQuery(t, alice, "g2", prefs)

	// A get that carries content is answered with what is stored.
	alice.Send(t, get("g3", `<exodus xmlns='exodus:prefs'><junk/></exodus>`))
	expectQuery(t, alice, "g3", prefs)

	// A set replaces.
	alice.Send(t, set("s2", `<exodus xmlns='exodus:prefs'><defaultnick>Ophelia</defaultnick></exodus>`))
	alice.Expect(t, result("s2"))
	alice.Send(t, get("g4", `<exodus xmlns='exodus:prefs'/>`))
	expectQuery(t, alice, "g4", `<exodus xmlns='exodus:prefs'><defaultnick>Ophelia</defaultnick></exodus>`)
}

// Elements are keyed by namespace and name together; one set may carry
// several, and a get naming several is answered in order.
func TestKeys(t *testing.T) {
	env := start(t, "")
	alice := env.Login(t, "alice", "home")
	alice.Send(t, set("s1", bookmarks+
		`<storage xmlns='storage:rosternotes'><note jid='bob@example.com'>met at &lt;the&gt; café</note></storage>`+
		`<other xmlns='storage:bookmarks' x='1'/>`))
	alice.Expect(t, result("s1"))
	cases := []struct{ name, ask, want string }{
		{"bookmarks", `<storage xmlns='storage:bookmarks'/>`, bookmarks},
		{"same name, other namespace", `<storage xmlns='storage:rosternotes'/>`,
			`<storage xmlns='storage:rosternotes'><note jid='bob@example.com'>met at &lt;the&gt; café</note></storage>`},
		{"same namespace, other name", `<other xmlns='storage:bookmarks'/>`, `<other xmlns='storage:bookmarks' x='1'/>`},
		{"neither", `<storage xmlns='storage:metacontacts'/>`, `<storage xmlns='storage:metacontacts'/>`},
		{"several", `<other xmlns='storage:bookmarks'/><nothing xmlns='urn:x'/><storage xmlns='storage:bookmarks'/>`,
			`<other xmlns='storage:bookmarks' x='1'/><nothing xmlns='urn:x'/>` + bookmarks},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			alice.Send(t, get("g", tc.ask))
			expectQuery(t, alice, "g", tc.want)
		})
	}
}

// An empty element deletes what was stored under its name; one with
// attributes only is data.
func TestDelete(t *testing.T) {
	env := start(t, "")
	alice := env.Login(t, "alice", "home")
	alice.Send(t, set("s1", prefs+`<flags xmlns='urn:x' dark='1'/>`))
	alice.Expect(t, result("s1"))
	alice.Send(t, set("s2", `<exodus xmlns='exodus:prefs'> </exodus>`))
	alice.Expect(t, result("s2"))
	alice.Send(t, get("g1", `<exodus xmlns='exodus:prefs'/><flags xmlns='urn:x'/>`))
	expectQuery(t, alice, "g1", `<exodus xmlns='exodus:prefs'/><flags xmlns='urn:x' dark='1'/>`)
}

// XEP-0049 §2.3 and its error table: the errors, and that a refused set
// changes nothing.
func TestErrors(t *testing.T) {
	env := start(t, "modules:\n  private: {max_size: 60}\n")
	alice := env.Login(t, "alice", "home")
	alice.Send(t, set("s0", `<keep xmlns='urn:keep'>1</keep>`))
	alice.Expect(t, result("s0"))

	notAcceptable := stanzaErr("modify", "not-acceptable", "an element must be qualified by its own namespace")
	// Serialized, <big xmlns="urn:b"></big> is 25 bytes plus the text.
	fits, big := `<big xmlns='urn:b'>`+strings.Repeat("a", 35)+`</big>`, `<big xmlns='urn:b'>`+strings.Repeat("a", 36)+`</big>`
	cases := []struct {
		name, typ, body, err string
	}{
		{"get without child", "get", ``, stanzaErr("modify", "bad-request", "the query names no element")},
		// §2.3: "At least one child element ... MUST be included;
		// otherwise the server MUST respond with a 'Not Acceptable'
		// error"; for a get the XEP asks for "Bad Format" instead.
		{"set without child", "set", ``, stanzaErr("modify", "not-acceptable", "the query holds no element to store")},
		{"get in no namespace of its own", "get", `<foo/>`, notAcceptable},
		{"set in no namespace of its own", "set", `<foo>x</foo>`, notAcceptable},
		{"set in the empty namespace", "set", `<foo xmlns=''>x</foo>`, notAcceptable},
		{"jabber:client", "set", `<message xmlns='jabber:client'/>`, notAcceptable},
		{"jabber:server", "get", `<message xmlns='jabber:server'/>`, notAcceptable},
		{"one bad child of two", "set", `<keep xmlns='urn:keep'>2</keep><foo/>`, notAcceptable},
		{"too large", "set", `<keep xmlns='urn:keep'>3</keep>` + big, stanzaErr("modify", "not-acceptable", "an element larger than 60")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			alice.Send(t, `<iq type='`+tc.typ+`' id='e'>`+query(tc.body)+`</iq>`)
			alice.Expect(t, `<iq type='error' id='e'>`+query(tc.body)+tc.err+`</iq>`)
		})
	}
	alice.Send(t, get("g", `<keep xmlns='urn:keep'/><big xmlns='urn:b'/>`))
	expectQuery(t, alice, "g", `<keep xmlns='urn:keep'>1</keep><big xmlns='urn:b'/>`)
	alice.Send(t, set("s1", fits))
	alice.Expect(t, result("s1"))
}

// XEP-0049 §2.3 and Security Considerations: another user's storage is
// forbidden, to read and to write.
func TestOtherUser(t *testing.T) {
	env := start(t, "")
	alice := env.Login(t, "alice", "home")
	bob := env.Login(t, "bob", "phone")
	alice.Send(t, set("s1", prefs))
	alice.Expect(t, result("s1"))
	for _, typ := range []string{"get", "set"} {
		t.Run(typ, func(t *testing.T) {
			body := `<exodus xmlns='exodus:prefs'><defaultnick>Macbeth</defaultnick></exodus>`
			bob.Send(t, `<iq type='`+typ+`' id='b1' to='alice@localhost'>`+query(body)+`</iq>`)
			bob.Expect(t, `<iq type='error' id='b1' from='alice@localhost' to='bob@localhost/phone'>`+query(body)+
				stanzaErr("auth", "forbidden", "")+`</iq>`)
		})
	}
	if alice.Pending() != 0 {
		t.Fatalf("alice's client was sent %s", alice.Next(t))
	}
	alice.Send(t, get("g1", `<exodus xmlns='exodus:prefs'/>`))
	expectQuery(t, alice, "g1", prefs)
}

// max_elements caps the names a user stores: a set adding one more gets
// policy-violation, while replacing and deleting at the limit work.
func TestMaxElements(t *testing.T) {
	env := start(t, "modules:\n  private: {max_elements: 2}\n")
	alice := env.Login(t, "alice", "home")
	alice.Send(t, set("s1", `<a xmlns='urn:a'>1</a><b xmlns='urn:b'>1</b>`))
	alice.Expect(t, result("s1"))
	alice.Send(t, set("s2", `<c xmlns='urn:c'>1</c>`))
	alice.Expect(t, `<iq type='error' id='s2'>`+query(`<c xmlns='urn:c'>1</c>`)+
		stanzaErr("modify", "policy-violation", "more than 2 stored elements")+`</iq>`)
	alice.Send(t, set("s3", `<a xmlns='urn:a'>2</a>`))
	alice.Expect(t, result("s3"))
	// Deleting one and adding another in the same set keeps the count.
	alice.Send(t, set("s4", `<b xmlns='urn:b'/><c xmlns='urn:c'>1</c>`))
	alice.Expect(t, result("s4"))
	alice.Send(t, get("g", `<a xmlns='urn:a'/><b xmlns='urn:b'/>`))
	expectQuery(t, alice, "g", `<a xmlns='urn:a'>2</a><b xmlns='urn:b'/>`)
	alice.Send(t, get("g", `<c xmlns='urn:c'/>`))
	expectQuery(t, alice, "g", `<c xmlns='urn:c'>1</c>`)
}

// One query holds at most max_elements children, counted as sent
// (same-named ones too), so that one IQ costs a bounded amount of work;
// within that, each name is written or read once.
func TestQuerySize(t *testing.T) {
	env := start(t, "modules:\n  private: {max_elements: 3}\n")
	alice := env.Login(t, "alice", "home")
	tooMany := stanzaErr("modify", "policy-violation", "more than 3 elements in one query")
	cases := []struct{ name, typ, body string }{
		{"set of one name four times", "set", strings.Repeat(`<a xmlns='urn:a'>1</a>`, 4)},
		{"set of four names", "set", `<a xmlns='urn:a'>1</a><b xmlns='urn:b'>1</b><c xmlns='urn:c'>1</c><d xmlns='urn:d'>1</d>`},
		{"get of four", "get", strings.Repeat(`<a xmlns='urn:a'/>`, 4)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			alice.Send(t, `<iq type='`+tc.typ+`' id='e'>`+query(tc.body)+`</iq>`)
			alice.Expect(t, `<iq type='error' id='e'>`+query(tc.body)+tooMany+`</iq>`)
		})
	}
	alice.Send(t, get("g1", `<a xmlns='urn:a'/><b xmlns='urn:b'/>`))
	expectQuery(t, alice, "g1", `<a xmlns='urn:a'/><b xmlns='urn:b'/>`)

	// Of several children with one name, the last is stored.
	alice.Send(t, set("s1", `<a xmlns='urn:a'>1</a><b xmlns='urn:b'>1</b><a xmlns='urn:a'>2</a>`))
	alice.Expect(t, result("s1"))
	alice.Send(t, set("s2", `<b xmlns='urn:b'/><b xmlns='urn:b'>2</b><a xmlns='urn:a'>3</a>`))
	alice.Expect(t, result("s2"))
	alice.Send(t, set("s3", `<c xmlns='urn:c'>1</c><c xmlns='urn:c'/>`))
	alice.Expect(t, result("s3"))
	// A get naming one element twice is answered once per name.
	alice.Send(t, get("g2", `<b xmlns='urn:b'/><a xmlns='urn:a'/><b xmlns='urn:b'/>`))
	expectQuery(t, alice, "g2", `<b xmlns='urn:b'>2</b><a xmlns='urn:a'>3</a>`)
	alice.Send(t, get("g3", `<c xmlns='urn:c'/>`))
	expectQuery(t, alice, "g3", `<c xmlns='urn:c'/>`)
}

// user.removed deletes what the removed user stored and nothing else.
func TestUserRemoved(t *testing.T) {
	env := start(t, "")
	alice := env.Login(t, "alice", "home")
	bob := env.Login(t, "bob", "phone")
	alice.Send(t, set("a1", prefs+bookmarks))
	alice.Expect(t, result("a1"))
	bob.Send(t, set("b1", prefs))
	bob.Expect(t, result("b1"))
	for range 2 { // listeners must be idempotent
		hook.Run(context.Background(), env.Hooks, hook.UserRemoved, &hook.UserEvent{Host: env.Domain, Username: "alice"})
	}
	alice.Send(t, get("a2", `<exodus xmlns='exodus:prefs'/><storage xmlns='storage:bookmarks'/>`))
	expectQuery(t, alice, "a2", `<exodus xmlns='exodus:prefs'/><storage xmlns='storage:bookmarks'/>`)
	bob.Send(t, get("b2", `<exodus xmlns='exodus:prefs'/>`))
	expectQuery(t, bob, "b2", prefs)
}

func TestFeature(t *testing.T) {
	env := start(t, "")
	if got := env.Registry.Features(module.Server); !slices.Contains(got, private.NS) {
		t.Errorf("server features %q lack %s", got, private.NS)
	}
}
