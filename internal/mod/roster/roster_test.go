package roster_test

// End-to-end tests over TCP, STARTTLS and SCRAM on the in-process server.
// Each pins what RFC 6121 §2 asks for: the contents, 'from', 'id' and
// 'ver' of results and pushes, and the stanza errors of §2.3.3 and §2.5.3.

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/client"
	"github.com/parleyim/parley/internal/mod/roster"
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

// rosterGet asks for the roster, with 'ver' unless ver is "none".
func rosterGet(t *testing.T, c *client.Conn, ver string) *xmlstream.Element {
	t.Helper()
	q := `<query xmlns='jabber:iq:roster'/>`
	if ver != "none" {
		q = `<query xmlns='jabber:iq:roster' ver='` + ver + `'/>`
	}
	return result(t, c, `<iq type='get'>`+q+`</iq>`)
}

func set(item string) string {
	return `<iq type='set'><query xmlns='jabber:iq:roster'>` + item + `</query></iq>`
}

// queued fails if c has received anything not yet taken. Right after an
// IQ reply on c it proves that nothing was sent to c before that reply:
// the stream keeps the order. For another resource, use nothing.
func queued(t *testing.T, c *client.Conn) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if e, err := c.Recv(ctx); err == nil {
		t.Fatalf("%s received %s", c.JID(), e)
	}
}

// nothing proves that c has been sent nothing: a ping round trip, then an
// empty queue. A change is pushed to every resource before the changing
// client gets its result, so after that result a ping of c's own comes
// back behind any push c was sent.
func nothing(t *testing.T, c *client.Conn) {
	t.Helper()
	result(t, c, `<iq type='get' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`)
	queued(t, c)
}

// ver returns the 'ver' of a roster result or push and checks its form:
// "<epoch>-<n>", an opaque string to clients (RFC 6121 §2.6.1) that
// carries the per-user sequence number n.
func ver(t *testing.T, e *xmlstream.Element) (epoch string, n int) {
	t.Helper()
	q := e.Child(roster.NS, "query")
	if q == nil || !q.HasAttr("ver") {
		t.Fatalf("no ver in %s", e)
	}
	epoch, num, ok := strings.Cut(q.Attr("ver"), "-")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || epoch == "" {
		t.Fatalf("ver %q is not <epoch>-<n>", q.Attr("ver"))
	}
	return epoch, n
}

// push takes the next stanza on c and checks that it is a roster push
// (RFC 6121 §2.1.6): a set with an id, from the user's bare JID, to c's
// full JID, with one item matching want and version n of epoch.
func push(t *testing.T, c *client.Conn, epoch string, n int, item string) *xmlstream.Element {
	t.Helper()
	bare := c.JID().Bare().String()
	got := xmpptest.Expect(t, c, `<iq type='set' id='{any}' from='`+bare+`' to='`+c.JID().String()+`'>
	  <query xmlns='jabber:iq:roster' ver='{any}'>`+item+`</query></iq>`)
	if got.Attr("id") == "" {
		t.Fatalf("push without id: %s", got)
	}
	if e, m := ver(t, got); m != n || (epoch != xmpptest.Any && e != epoch) {
		t.Fatalf("push of version %s-%d, want %s-%d: %s", e, m, epoch, n, got)
	}
	return got
}

// RFC 6121 §2.6.1: the roster versioning feature, offered with bind.
func TestStreamFeature(t *testing.T) {
	srv := xmpptest.Start(t, noPresence)
	c := srv.User(t, "alice", "phone")
	f := c.Features()
	if f.Child("urn:ietf:params:xml:ns:xmpp-bind", "bind") == nil || f.Child(roster.NSVer, "ver") == nil {
		t.Fatalf("features after authentication: %s", f)
	}
}

// RFC 6121 §2.1.4: an empty roster is a result with an empty query, not
// an error; §2.6.3: with 'ver'.
func TestRosterGetEmpty(t *testing.T) {
	srv := xmpptest.Start(t, noPresence)
	c := srv.User(t, "alice", "phone")
	for _, v := range []string{"none", ""} {
		got := rosterGet(t, c, v)
		if !xmpptest.Match(xmpptest.Parse(t, `<iq type='result' to='alice@localhost/phone'><query xmlns='jabber:iq:roster'/></iq>`), got) {
			t.Fatalf("ver %q: got %s", v, got)
		}
		if _, n := ver(t, got); n != 0 {
			t.Fatalf("ver of a roster never written: %s", got)
		}
	}
	// Addressed to the own bare JID, as RFC 6121 §2.1.3 allows.
	got := result(t, c, `<iq type='get' to='alice@localhost'><query xmlns='jabber:iq:roster'/></iq>`)
	if got.Attr("from") != "alice@localhost" {
		t.Fatalf("result from %q: %s", got.Attr("from"), got)
	}
}

// RFC 6121 §2.3–§2.5 with the examples' items: each change is pushed to
// every interested resource, the changing one included, with a new
// version, then answered.
func TestAddUpdateRemove(t *testing.T) {
	srv := xmpptest.Start(t, noPresence)
	balcony := srv.User(t, "juliet", "balcony")
	chamber := srv.User(t, "juliet", "chamber")
	epoch, n := ver(t, rosterGet(t, balcony, ""))
	if n != 0 {
		t.Fatalf("fresh roster at version %d", n)
	}
	rosterGet(t, chamber, "none")

	// §2.3.1 (example: add the nurse).
	reply := result(t, balcony, set(`<item jid='nurse@example.com' name='Nurse'><group>Servants</group></item>`))
	if len(reply.Elements()) != 0 {
		t.Fatalf("roster set result with a payload: %s", reply)
	}
	const added = `<item jid='nurse@example.com' name='Nurse' subscription='none'><group>Servants</group></item>`
	p1 := push(t, balcony, "{any}", 1, added)
	e1, _ := ver(t, p1)
	if epoch != "0" && e1 != epoch {
		t.Fatalf("epoch changed from %s to %s", epoch, e1)
	}
	epoch = e1
	p2 := push(t, chamber, epoch, 1, added)
	if p1.Attr("id") == p2.Attr("id") {
		t.Fatalf("two pushes share the id %q", p1.Attr("id"))
	}
	nothing(t, balcony)
	nothing(t, chamber)

	// §2.4.1: the item as sent replaces name and groups; groups come back
	// sorted.
	result(t, chamber, set(`<item jid='nurse@example.com' name='Nurse Angelica'><group>Servants</group><group>Friends</group></item>`))
	const updated = `<item jid='nurse@example.com' name='Nurse Angelica' subscription='none'><group>Friends</group><group>Servants</group></item>`
	push(t, balcony, epoch, 2, updated)
	push(t, chamber, epoch, 2, updated)

	// A second item; the roster result lists both, sorted by JID, with
	// the current version.
	result(t, balcony, set(`<item jid='benvolio@example.net'/>`))
	const second = `<item jid='benvolio@example.net' subscription='none'/>`
	push(t, balcony, epoch, 3, second)
	push(t, chamber, epoch, 3, second)
	got := rosterGet(t, chamber, "none")
	want := `<iq type='result' from='juliet@localhost' to='juliet@localhost/chamber'>
	  <query xmlns='jabber:iq:roster' ver='` + epoch + `-3'>` + second + updated + `</query></iq>`
	if !xmpptest.Match(xmpptest.Parse(t, want), got) {
		t.Fatalf("roster: got  %s\nwant %s", got, want)
	}
	// Without a name or groups, the item has none.
	if it := got.Child(roster.NS, "query").Elements()[0]; it.HasAttr("name") || len(it.Elements()) != 0 {
		t.Fatalf("item without name or groups: %s", it)
	}

	// §2.5.1: remove.
	result(t, balcony, set(`<item jid='nurse@example.com' subscription='remove'/>`))
	const removed = `<item jid='nurse@example.com' subscription='remove'/>`
	push(t, balcony, epoch, 4, removed)
	push(t, chamber, epoch, 4, removed)
	got = rosterGet(t, balcony, "none")
	if !xmpptest.Match(xmpptest.Parse(t, `<iq type='result'><query xmlns='jabber:iq:roster' ver='`+epoch+`-4'>`+second+`</query></iq>`), got) {
		t.Fatalf("roster after removal: %s", got)
	}
	// Pushes are IQ sets: the clients' results are taken without reply.
	pr := xmlstream.New("jabber:client", "iq", "type", "result", "id", p1.Attr("id"))
	if err := balcony.Send(pr); err != nil {
		t.Fatal(err)
	}
	nothing(t, balcony)
	nothing(t, chamber)
}

// RFC 6121 §2.2: pushes go to interested resources only — those that
// requested the roster in their session.
func TestPushesOnlyToInterested(t *testing.T) {
	srv := xmpptest.Start(t, noPresence)
	phone := srv.User(t, "alice", "phone")
	desk := srv.User(t, "alice", "desk")
	rosterGet(t, phone, "")

	result(t, phone, set(`<item jid='bob@localhost'/>`))
	epoch, _ := ver(t, push(t, phone, "{any}", 1, `<item jid='bob@localhost' subscription='none'/>`))
	nothing(t, desk)

	// Once desk asks, it is interested too.
	rosterGet(t, desk, "none")
	result(t, desk, set(`<item jid='carol@localhost'/>`))
	push(t, phone, epoch, 2, `<item jid='carol@localhost' subscription='none'/>`)
	push(t, desk, epoch, 2, `<item jid='carol@localhost' subscription='none'/>`)

	// A new session with phone's resource starts uninterested, whatever
	// its predecessor asked (the predecessor's late close does not matter
	// either).
	phone.Close()
	phone2 := srv.User(t, "alice", "phone")
	nothing(t, phone2)
	result(t, desk, set(`<item jid='dave@localhost'/>`))
	push(t, desk, epoch, 3, `<item jid='dave@localhost' subscription='none'/>`)
	nothing(t, phone2)
}

func stanzaError(typ, cond string) string {
	return `<error type='` + typ + `'><` + cond + ` xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`
}

// RFC 6121 §2.3.3, §2.4.3 and §2.5.3, and the authorization rule of
// §2.1.5: every refused request gets its stanza error, changes nothing
// and pushes nothing.
func TestRosterErrors(t *testing.T) {
	srv := xmpptest.Start(t, noPresence)
	alice := srv.User(t, "alice", "phone")
	srv.CreateUser(t, "bob")
	rosterGet(t, alice, "")
	result(t, alice, set(`<item jid='nurse@example.com'/>`))
	epoch, _ := ver(t, push(t, alice, "{any}", 1, `<item jid='nurse@example.com' subscription='none'/>`))

	long := strings.Repeat("x", roster.MaxNameBytes+1)
	var many string // one group more than allowed
	for i := range roster.MaxGroups + 1 {
		many += "<group>g" + strconv.Itoa(i) + "</group>"
	}
	cases := []struct {
		name, req, err string
	}{
		// §2.3.3: bad-request.
		{"two items", set(`<item jid='a@example.com'/><item jid='b@example.com'/>`), stanzaError("modify", "bad-request")},
		{"no item", set(``), stanzaError("modify", "bad-request")},
		{"duplicate groups", set(`<item jid='a@example.com'><group>G</group><group>G</group></item>`), stanzaError("modify", "bad-request")},
		{"duplicate groups on update", set(`<item jid='nurse@example.com'><group>G</group><group>G</group></item>`), stanzaError("modify", "bad-request")},
		// §2.1.2.3: the jid is required.
		{"no jid", set(`<item name='Nobody'/>`), stanzaError("modify", "bad-request")},
		// §2.3.3: not-acceptable.
		{"empty group", set(`<item jid='a@example.com'><group></group></item>`), stanzaError("modify", "not-acceptable")},
		{"long name", set(`<item jid='a@example.com' name='` + long + `'/>`), stanzaError("modify", "not-acceptable")},
		{"long group", set(`<item jid='a@example.com'><group>` + long + `</group></item>`), stanzaError("modify", "not-acceptable")},
		{"too many groups", set(`<item jid='a@example.com'>` + many + `</item>`), stanzaError("modify", "not-acceptable")},
		// RFC 6120 §8.3.3.8; items are bare JIDs.
		{"malformed jid", set(`<item jid='@example.com'/>`), stanzaError("modify", "jid-malformed")},
		{"full jid", set(`<item jid='a@example.com/res'/>`), stanzaError("modify", "jid-malformed")},
		{"own jid", set(`<item jid='alice@localhost'/>`), stanzaError("cancel", "not-allowed")},
		// §2.5.3.
		{"remove absent", set(`<item jid='a@example.com' subscription='remove'/>`), stanzaError("cancel", "item-not-found")},
		// §2.1.5 Security Warning, §2.3.3: forbidden.
		{"set for someone else", `<iq type='set' to='bob@localhost'><query xmlns='jabber:iq:roster'><item jid='a@example.com'/></query></iq>`, stanzaError("auth", "forbidden")},
		{"get for someone else", `<iq type='get' to='bob@localhost'><query xmlns='jabber:iq:roster'/></iq>`, stanzaError("auth", "forbidden")},
		// §2.1.3: a roster get carries no items.
		{"get with item", `<iq type='get'><query xmlns='jabber:iq:roster'><item jid='a@example.com'/></query></iq>`, stanzaError("modify", "bad-request")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := iq(t, alice, tc.req)
			want := `<iq type='error' to='alice@localhost/phone'><query xmlns='jabber:iq:roster'/>` + tc.err + `</iq>`
			w := xmpptest.Parse(t, want)
			// Compare the error alone: the reply may echo the request.
			if got.Attr("type") != "error" || !xmpptest.Match(w.Child("jabber:client", "error"), got.Child("jabber:client", "error")) {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
			queued(t, alice)
		})
	}
	got := rosterGet(t, alice, "none")
	if !xmpptest.Match(xmpptest.Parse(t, `<iq type='result'><query xmlns='jabber:iq:roster' ver='`+epoch+`-1'><item jid='nurse@example.com' subscription='none'/></query></iq>`), got) {
		t.Fatalf("roster after the errors: %s", got)
	}
}

// RFC 6121 §2.1.5 rule 2: a roster set's 'subscription' other than
// "remove" is ignored; §2.1.2.2 and §2.1.2.1: so are 'ask' and
// 'approved'.
func TestRosterSetIgnoresState(t *testing.T) {
	srv := xmpptest.Start(t, noPresence)
	alice := srv.User(t, "alice", "phone")
	rosterGet(t, alice, "")
	for i, attrs := range []string{
		`subscription='both' ask='subscribe' approved='true'`,
		`subscription='from'`,
		`subscription='bogus'`,
	} {
		result(t, alice, set(`<item jid='bob@example.com' `+attrs+`/>`))
		p := push(t, alice, "{any}", i+1, `<item jid='bob@example.com' subscription='none'/>`)
		it := p.Child(roster.NS, "query").Child(roster.NS, "item")
		if it.HasAttr("ask") || it.HasAttr("approved") {
			t.Fatalf("%s: pushed %s", attrs, it)
		}
	}
}

// RFC 6121 §2.6.3: with a cached version the server answers with an empty
// result and pushes what changed since, in order of modification, or with
// the whole roster; a version it cannot use gets the whole roster.
func TestVersioning(t *testing.T) {
	srv := xmpptest.Start(t, noPresence)
	phone := srv.User(t, "alice", "phone")
	rosterGet(t, phone, "")
	for i, j := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		result(t, phone, set(`<item jid='`+j+`'/>`))
		push(t, phone, "{any}", i+1, `<item jid='`+j+`' subscription='none'/>`)
	}
	epoch, n := ver(t, rosterGet(t, phone, "none"))
	if n != 3 {
		t.Fatalf("version %d after three changes", n)
	}
	v := func(n int) string { return epoch + "-" + strconv.Itoa(n) }
	empty := func(t *testing.T, got *xmlstream.Element) {
		t.Helper()
		// §2.6.3: an empty IQ-result, not an empty <query/>.
		if len(got.Elements()) != 0 {
			t.Fatalf("want an empty result, got %s", got)
		}
	}

	// Up to date: an empty result and no pushes.
	desk := srv.User(t, "alice", "desk")
	empty(t, rosterGet(t, desk, v(3)))
	nothing(t, desk)

	// Two changes behind: b is updated, then a is updated (b again
	// later); the pushes come in order of modification, each item once
	// with the version of its last change.
	result(t, phone, set(`<item jid='b@example.com' name='B'/>`))
	result(t, phone, set(`<item jid='a@example.com' name='A'/>`))
	result(t, phone, set(`<item jid='b@example.com' name='Bee'/>`))
	tablet := srv.User(t, "alice", "tablet")
	empty(t, rosterGet(t, tablet, v(4)))
	push(t, tablet, epoch, 5, `<item jid='a@example.com' name='A' subscription='none'/>`)
	push(t, tablet, epoch, 6, `<item jid='b@example.com' name='Bee' subscription='none'/>`)
	nothing(t, tablet)
	// The session is interested from then on.
	result(t, phone, set(`<item jid='c@example.com' name='C'/>`))
	push(t, tablet, epoch, 7, `<item jid='c@example.com' name='C' subscription='none'/>`)

	// When every item changed, the whole roster is shorter.
	all := `<iq type='result'><query xmlns='jabber:iq:roster' ver='` + v(7) + `'>
	  <item jid='a@example.com' name='A' subscription='none'/>
	  <item jid='b@example.com' name='Bee' subscription='none'/>
	  <item jid='c@example.com' name='C' subscription='none'/></query></iq>`
	for _, cached := range []string{
		v(3),      // every item changed since
		"",        // bootstrap (§2.6.2)
		"garbage", // not ours
		v(8),      // from the future
		"zz-2",    // another epoch: the roster was deleted and created again
	} {
		c := srv.User(t, "alice", "")
		got := rosterGet(t, c, cached)
		if !xmpptest.Match(xmpptest.Parse(t, all), got) {
			t.Fatalf("ver %q: got %s", cached, got)
		}
		nothing(t, c)
		c.Close()
	}

	// A deletion leaves nothing to push: a cache from before it gets the
	// whole roster, one from after it pushes.
	result(t, phone, set(`<item jid='a@example.com' subscription='remove'/>`))
	result(t, phone, set(`<item jid='d@example.com'/>`))
	c := srv.User(t, "alice", "")
	got := rosterGet(t, c, v(7))
	want := `<iq type='result'><query xmlns='jabber:iq:roster' ver='` + v(9) + `'>
	  <item jid='b@example.com' name='Bee' subscription='none'/>
	  <item jid='c@example.com' name='C' subscription='none'/>
	  <item jid='d@example.com' subscription='none'/></query></iq>`
	if !xmpptest.Match(xmpptest.Parse(t, want), got) {
		t.Fatalf("cache from before a deletion: got %s", got)
	}
	c = srv.User(t, "alice", "")
	empty(t, rosterGet(t, c, v(8)))
	push(t, c, epoch, 9, `<item jid='d@example.com' subscription='none'/>`)
	nothing(t, c)
}

// modules.roster.max_items bounds the roster: one item more gets
// policy-violation (RFC 6120 §8.3.3.12); updates and removals still work.
func TestMaxItems(t *testing.T) {
	srv := xmpptest.Start(t, "modules:\n  roster: {max_items: 2}\n")
	alice := srv.User(t, "alice", "phone")
	result(t, alice, set(`<item jid='a@example.com'/>`))
	result(t, alice, set(`<item jid='b@example.com'/>`))
	got := iq(t, alice, set(`<item jid='c@example.com'/>`))
	if !xmpptest.Match(xmpptest.Parse(t, stanzaError("modify", "policy-violation")), got.Child("jabber:client", "error")) {
		t.Fatalf("third item: %s", got)
	}
	result(t, alice, set(`<item jid='b@example.com' name='B'/>`))
	result(t, alice, set(`<item jid='a@example.com' subscription='remove'/>`))
	result(t, alice, set(`<item jid='c@example.com'/>`))
	epoch, n := ver(t, rosterGet(t, alice, "none"))
	if n != 5 {
		t.Fatalf("version %s-%d: the refused add took a version", epoch, n)
	}
}

// user.removed deletes the roster; an account created again under the
// same name starts empty, in a new epoch, so that an old client cache of
// the same version number is not mistaken for the new roster.
func TestUserRemoved(t *testing.T) {
	srv := xmpptest.Start(t, noPresence)
	alice := srv.User(t, "alice", "phone")
	result(t, alice, set(`<item jid='a@example.com'/>`))
	old := rosterGet(t, alice, "none")
	oldVer := old.Child(roster.NS, "query").Attr("ver")
	alice.Kill()
	if err := srv.App.RemoveUser(context.Background(), "localhost", "alice"); err != nil {
		t.Fatal(err)
	}
	alice = srv.User(t, "alice", "phone")
	got := rosterGet(t, alice, oldVer)
	if q := got.Child(roster.NS, "query"); q == nil || len(q.Elements()) != 0 {
		t.Fatalf("roster of the new account with the old cache's ver: %s", got)
	}
	result(t, alice, set(`<item jid='b@example.com'/>`))
	got = rosterGet(t, alice, oldVer)
	if !xmpptest.Match(xmpptest.Parse(t, `<iq type='result'><query xmlns='jabber:iq:roster'><item jid='b@example.com' subscription='none'/></query></iq>`), got) {
		t.Fatalf("new roster with the old ver: %s", got)
	}
	if nv := got.Child(roster.NS, "query").Attr("ver"); nv == oldVer {
		t.Fatalf("the new roster reuses version %q", nv)
	}
}

// noPresence runs the server without the presence module: these tests are
// about the roster alone, and presence between a user's own resources
// (RFC 6121 §4.2.2) would interleave with the pushes they read.
const noPresence = "modules:\n  presence: false\n"
