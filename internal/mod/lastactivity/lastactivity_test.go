package lastactivity_test

// Module tests on the real registry, router and roster module
// (internal/mod/modtest), with the module's clock under the test's
// control. The c2s session's part — session.available, the stanza.in
// filters, session.closed — is played by the helpers below, in the order
// c2s runs them.

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/mod/lastactivity"
	"github.com/parleyim/parley/internal/mod/modtest"
	"github.com/parleyim/parley/internal/mod/roster"
	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/stanza"
)

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type env struct {
	*modtest.Env
	clock  *clock
	roster roster.Service
}

// start runs roster and lastactivity, with the clock at a fixed time.
func start(t *testing.T) *env {
	t.Helper()
	c := &clock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	e := &env{clock: c}
	grab := module.Define[struct{}]("grab", "takes roster.Service for the test", nil, true, nil,
		func(_ context.Context, h *module.Host, _ *struct{}) error {
			e.roster, _ = module.Use[roster.Service](h)
			return nil
		})
	e.Env = modtest.Start(t, modtest.Options{}, roster.Module, lastactivity.ModuleWithClock(c.Now), grab)
	if e.roster == nil {
		t.Fatal("no roster.Service")
	}
	return e
}

// subscribe gives user's roster an item for contact with the given
// subscription state, as the presence module would.
func (e *env) subscribe(t *testing.T, user, contact string, sub roster.Subscription) {
	t.Helper()
	it := roster.Item{JID: jid.MustParse(contact + "@" + e.Domain), Subscription: sub}
	if _, err := e.roster.Put(context.Background(), jid.MustParse(user+"@"+e.Domain), it); err != nil {
		t.Fatal(err)
	}
}

// available sends initial presence from s, as c2s reports it.
func (e *env) available(s *modtest.Session) {
	hook.Run(context.Background(), e.Hooks, hook.SessionAvailable, &hook.SessionEvent{JID: s.JID(), Addr: s.Origin().Addr})
}

// closed ends s, as c2s reports it.
func (e *env) closed(s *modtest.Session) {
	e.Router.Unbind(s)
	hook.Run(context.Background(), e.Hooks, hook.SessionClosed, &hook.SessionEvent{JID: s.JID(), Addr: s.Origin().Addr})
}

// send is what c2s does with a stanza from s: stamp it, run the stanza.in
// filters, then route it unless a filter took it (or it is presence
// without 'to', the presence module's business).
func (e *env) send(t *testing.T, s *modtest.Session, xml string) {
	t.Helper()
	el := modtest.Parse(t, xml)
	el.SetAttr("from", s.JID().String())
	st := &stanza.Stanza{El: el, From: s.JID(), To: s.JID().Bare()}
	if to := el.Attr("to"); to != "" {
		st.To = jid.MustParse(to)
	}
	ctx := module.WithOrigin(context.Background(), s.Origin())
	ev := &hook.StanzaEvent{Stanza: st, Session: s.JID()}
	if hook.Run(ctx, e.Hooks, hook.StanzaIn, ev) != hook.Continue {
		return
	}
	if st.IsPresence() && el.Attr("to") == "" {
		return
	}
	_ = e.Router.Route(ctx, ev.Stanza)
}

const (
	query     = `<query xmlns='jabber:iq:last'/>`
	forbidden = `<error type='auth'><forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`
)

func lastOf(to string) string { return `<iq type='get' id='l' to='` + to + `'>` + query + `</iq>` }

// expectLast takes the reply to lastOf and checks seconds and text.
func expectLast(t *testing.T, s *modtest.Session, from, seconds, text string) {
	t.Helper()
	got := s.Expect(t, `<iq type='result' id='l' from='`+from+`'><query xmlns='jabber:iq:last' seconds='`+seconds+`'/></iq>`)
	if g := got.FirstChild().Text(); g != text {
		t.Fatalf("query text %q, want %q", g, text)
	}
}

// XEP-0012 §5: the server answers with its uptime and no text.
func TestUptime(t *testing.T) {
	e := start(t)
	romeo := e.Login(t, "romeo", "orchard")
	e.clock.advance(123456 * time.Second)
	e.send(t, romeo, lastOf("localhost"))
	expectLast(t, romeo, "localhost", "123456", "")
}

// XEP-0012 §3: only the user and contacts allowed to see the user's
// presence (subscription from or both) learn the last activity; others
// get forbidden, whether the user is online or not.
func TestAuthorization(t *testing.T) {
	e := start(t)
	juliet := e.Login(t, "juliet", "balcony")
	e.subscribe(t, "juliet", "romeo", roster.From)
	e.subscribe(t, "juliet", "nurse", roster.Both)
	e.subscribe(t, "juliet", "tybalt", roster.To)
	e.subscribe(t, "juliet", "paris", roster.None)
	cases := []struct {
		who     string
		allowed bool
	}{
		{"juliet", true},
		{"romeo", true},
		{"nurse", true},
		{"tybalt", false},   // juliet sees tybalt's presence, not the reverse
		{"paris", false},    // in the roster, no subscription
		{"benvolio", false}, // not in the roster
	}
	sessions := map[string]*modtest.Session{"juliet": juliet}
	for _, tc := range cases[1:] {
		sessions[tc.who] = e.Login(t, tc.who, "r")
	}
	for _, online := range []bool{false, true} {
		if online {
			e.available(juliet)
		}
		t.Run(map[bool]string{false: "offline", true: "online"}[online], func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.who, func(t *testing.T) {
					s := sessions[tc.who]
					e.send(t, s, lastOf("juliet@localhost"))
					switch {
					case !tc.allowed:
						s.Expect(t, `<iq type='error' id='l' from='juliet@localhost'>`+query+forbidden+`</iq>`)
					case online:
						expectLast(t, s, "juliet@localhost", "0", "")
					default:
						s.Expect(t, `<iq type='error' id='l' from='juliet@localhost'>`+query+
							`<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>`+
							`<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>no last activity recorded</text></error></iq>`)
					}
				})
			}
		})
	}
}

// XEP-0012 §3, Example 4: the seconds since the last logout, and the
// status of the unavailable presence sent then; 0 while a resource is
// available.
func TestLastLogout(t *testing.T) {
	e := start(t)
	e.subscribe(t, "juliet", "romeo", roster.From)
	romeo := e.Login(t, "romeo", "orchard")
	balcony := e.Login(t, "juliet", "balcony")
	chamber := e.Login(t, "juliet", "chamber")
	e.available(balcony)
	e.available(chamber)

	e.send(t, balcony, `<presence type='unavailable'><status>Heading Home</status></presence>`)
	e.clock.advance(10 * time.Second)
	e.send(t, romeo, lastOf("juliet@localhost"))
	expectLast(t, romeo, "juliet@localhost", "0", "") // chamber is still available

	e.closed(chamber) // without unavailable presence: no status
	e.clock.advance(903 * time.Second)
	e.send(t, romeo, lastOf("juliet@localhost"))
	expectLast(t, romeo, "juliet@localhost", "903", "")

	// Back, then gone with a status; ending the stream afterwards changes
	// nothing, as the session was no longer available.
	e.available(balcony)
	e.send(t, balcony, `<presence type='unavailable'><status>Heading Home</status></presence>`)
	e.clock.advance(42 * time.Second)
	e.closed(balcony)
	e.clock.advance(3 * time.Second)
	e.send(t, romeo, lastOf("juliet@localhost"))
	expectLast(t, romeo, "juliet@localhost", "45", "Heading Home")

	// Directed unavailable presence is not a logout.
	balcony = e.Login(t, "juliet", "balcony")
	e.available(balcony)
	e.send(t, balcony, `<presence type='unavailable' to='romeo@localhost'><status>not you</status></presence>`)
	romeo.Next(t) // the directed presence itself
	e.send(t, romeo, lastOf("juliet@localhost"))
	expectLast(t, romeo, "juliet@localhost", "0", "")
}

// A session replaced by a newer one with the same full JID ends after its
// successor became available; the successor stays available.
func TestReplacedSession(t *testing.T) {
	e := start(t)
	e.subscribe(t, "juliet", "romeo", roster.From)
	romeo := e.Login(t, "romeo", "orchard")
	e.Login(t, "juliet", "desk") // creates the account; never available
	full := jid.MustParse("juliet@localhost/balcony")
	old, successor := netip.MustParseAddrPort("192.0.2.5:1000"), netip.MustParseAddrPort("192.0.2.5:1001")
	ctx := context.Background()
	hook.Run(ctx, e.Hooks, hook.SessionAvailable, &hook.SessionEvent{JID: full, Addr: old})
	hook.Run(ctx, e.Hooks, hook.SessionAvailable, &hook.SessionEvent{JID: full, Addr: successor})
	hook.Run(ctx, e.Hooks, hook.SessionClosed, &hook.SessionEvent{JID: full, Addr: old, Reason: "conflict"})
	e.send(t, romeo, lastOf("juliet@localhost"))
	expectLast(t, romeo, "juliet@localhost", "0", "")
}

// XEP-0012 §4: a query to a full JID reaches the resource only from a
// sender allowed to see the user's presence; others get forbidden from
// the server, and the resource sees nothing.
func TestFullJID(t *testing.T) {
	e := start(t)
	e.subscribe(t, "juliet", "romeo", roster.Both)
	juliet := e.Login(t, "juliet", "balcony")
	romeo := e.Login(t, "romeo", "orchard")
	paris := e.Login(t, "paris", "home")

	e.send(t, paris, lastOf("juliet@localhost/balcony"))
	paris.Expect(t, `<iq type='error' id='l' from='juliet@localhost/balcony' to='paris@localhost/home'>`+query+forbidden+`</iq>`)
	if juliet.Pending() != 0 {
		t.Fatalf("juliet was sent %s", juliet.Next(t))
	}

	e.send(t, romeo, lastOf("juliet@localhost/balcony"))
	juliet.Expect(t, `<iq type='get' id='l' from='romeo@localhost/orchard' to='juliet@localhost/balcony'>`+query+`</iq>`)

	// Her own resources may ask each other.
	other := e.Login(t, "juliet", "chamber")
	e.send(t, other, lastOf("juliet@localhost/balcony"))
	juliet.Expect(t, `<iq type='get' id='l' from='juliet@localhost/chamber'>`+query+`</iq>`)
}

// user.removed deletes the record.
func TestUserRemoved(t *testing.T) {
	e := start(t)
	juliet := e.Login(t, "juliet", "balcony")
	e.available(juliet)
	e.send(t, juliet, `<presence type='unavailable'><status>bye</status></presence>`)
	e.send(t, juliet, lastOf("juliet@localhost"))
	expectLast(t, juliet, "juliet@localhost", "0", "bye")
	for range 2 {
		hook.Run(context.Background(), e.Hooks, hook.UserRemoved, &hook.UserEvent{Host: e.Domain, Username: "juliet"})
	}
	e.send(t, juliet, lastOf("juliet@localhost"))
	juliet.Expect(t, `<iq type='error' id='l'>`+query+
		`<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>`+
		`<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>no last activity recorded</text></error></iq>`)
}

// XEP-0012 §6: the feature, on the server and on accounts.
func TestFeature(t *testing.T) {
	e := start(t)
	for _, target := range []module.Target{module.Server, module.Account} {
		if got := e.Registry.Features(target); !slices.Contains(got, lastactivity.NS) {
			t.Errorf("%s features %q lack %s", target, got, lastactivity.NS)
		}
	}
}

// A status longer than the module keeps is cut on a character boundary.
func TestClip(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"short", "Heading Home", "Heading Home"},
		{"exact", strings.Repeat("a", lastactivity.MaxStatus), strings.Repeat("a", lastactivity.MaxStatus)},
		{"long", strings.Repeat("a", lastactivity.MaxStatus+5), strings.Repeat("a", lastactivity.MaxStatus)},
		// é is two bytes: the one that would be split is dropped.
		{"split", "a" + strings.Repeat("é", lastactivity.MaxStatus/2), "a" + strings.Repeat("é", lastactivity.MaxStatus/2-1)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := lastactivity.Clip(tc.in); got != tc.want {
				t.Errorf("clip: %d bytes, want %d", len(got), len(tc.want))
			}
		})
	}
}
