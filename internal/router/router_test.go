package router_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/router"
	"github.com/parleyim/parley/internal/stanza"
	"github.com/parleyim/parley/internal/xmpptest"
)

// These tests drive the router alone with stand-in sessions, for what a
// real server cannot be made to do on demand: a session that refuses a
// stanza because it is closing, an offline-storage listener, the error
// values Route returns.

// fakeSession records what it is given. refuse makes Deliver fail, as a
// session that is closing or whose queue is full does.
type fakeSession struct {
	jid    jid.JID
	avail  bool
	prio   int
	refuse bool

	mu  sync.Mutex
	got []*stanza.Stanza
}

var _ router.Session = (*fakeSession)(nil)

func (s *fakeSession) JID() jid.JID      { return s.jid }
func (s *fakeSession) Available() bool   { return s.avail }
func (s *fakeSession) Priority() int     { return s.prio }
func (s *fakeSession) Close(_, _ string) {}
func (s *fakeSession) Deliver(st *stanza.Stanza) bool {
	if s.refuse {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, st)
	return true
}

func (s *fakeSession) take() []*stanza.Stanza {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.got
	s.got = nil
	return g
}

type users map[string]bool // bare JID → exists

func (u users) UserExists(_ context.Context, host, user string) (bool, error) {
	return u[user+"@"+host], nil
}

// fixture is a router for example.com with alice online at
// alice@example.com/a, and bob and carol as accounts without sessions
// until a case binds some.
type fixture struct {
	r      *router.Router
	hooks  *hook.Registry
	alice  *fakeSession
	stored []*stanza.Stanza // what the message.undelivered listener took
}

func newFixture(t *testing.T, offline bool) *fixture {
	t.Helper()
	f := &fixture{hooks: hook.NewRegistry()}
	f.r = router.New(router.Config{
		Hosts: []string{"example.com"},
		Hooks: f.hooks,
		Log:   xmpptest.Logger(t),
		Users: users{"alice@example.com": true, "bob@example.com": true, "carol@example.com": true},
	})
	if offline {
		hook.On(f.hooks, hook.MessageUndelivered, hook.Default, "offline", func(_ context.Context, e *hook.StanzaEvent) hook.Verdict {
			f.stored = append(f.stored, e.Stanza)
			return hook.Handled
		})
	}
	f.alice = f.bind(t, "alice@example.com/a", true, 0, false)
	return f
}

func (f *fixture) bind(t *testing.T, full string, avail bool, prio int, refuse bool) *fakeSession {
	t.Helper()
	s := &fakeSession{jid: jid.MustParse(full), avail: avail, prio: prio, refuse: refuse}
	if _, err := f.r.Bind(s, 0); err != nil {
		t.Fatal(err)
	}
	return s
}

// send routes raw from alice, as her session would after stamping it.
func (f *fixture) send(t *testing.T, raw string) error {
	t.Helper()
	el := xmpptest.Parse(t, raw)
	el.SetAttr("id", "u1")
	st := stanza.New(el, f.alice.jid, jid.MustParse(el.Attr("to")))
	return f.r.Route(context.Background(), st)
}

type session struct {
	full          string
	avail         bool
	prio          int
	refuse        bool
	wantDelivered bool
}

// TestDeliverRefused covers a resource that is in the table but refuses
// the stanza: it counts as gone, so the stanza goes where RFC 6121 §8.5
// sends it when that resource is not there, and nothing is bounced when
// another resource took it.
func TestDeliverRefused(t *testing.T) {
	cases := []struct {
		name     string
		sessions []session
		send     string
		bounce   *stanza.Error // what alice gets back
		stored   bool          // offered to offline storage
	}{
		{"bare: the highest priority refuses, the next one takes it",
			[]session{{"bob@example.com/hi", true, 5, true, false}, {"bob@example.com/lo", true, 1, false, true}},
			`<message type='chat' to='bob@example.com'><body>x</body></message>`, nil, false},
		{"bare: one of two equal priorities refuses",
			[]session{{"bob@example.com/a", true, 1, true, false}, {"bob@example.com/b", true, 1, false, true}},
			`<message type='chat' to='bob@example.com'><body>x</body></message>`, nil, false},
		{"bare: the only resource refuses",
			[]session{{"bob@example.com/a", true, 0, true, false}},
			`<message type='chat' to='bob@example.com'><body>x</body></message>`, errSU, true},
		{"bare: headline, one refuses",
			[]session{{"bob@example.com/a", true, 0, true, false}, {"bob@example.com/b", true, 3, false, true}},
			`<message type='headline' to='bob@example.com'><body>x</body></message>`, nil, false},
		{"bare: headline, all refuse",
			[]session{{"bob@example.com/a", true, 0, true, false}},
			`<message type='headline' to='bob@example.com'><body>x</body></message>`, nil, false},
		{"full: iq get, the resource refuses",
			[]session{{"bob@example.com/a", true, 0, true, false}},
			`<iq type='get' to='bob@example.com/a'><query xmlns='urn:example'/></iq>`, errSU, false},
		{"full: iq result, the resource refuses",
			[]session{{"bob@example.com/a", true, 0, true, false}},
			`<iq type='result' to='bob@example.com/a'/>`, nil, false},
		{"full: chat, the resource refuses, another takes it",
			[]session{{"bob@example.com/a", true, 9, true, false}, {"bob@example.com/b", true, 0, false, true}},
			`<message type='chat' to='bob@example.com/a'><body>x</body></message>`, nil, false},
		{"full: chat, the only resource refuses",
			[]session{{"bob@example.com/a", true, 9, true, false}},
			`<message type='chat' to='bob@example.com/a'><body>x</body></message>`, errSU, true},
		{"full: normal, the resource refuses",
			[]session{{"bob@example.com/a", true, 0, true, false}, {"bob@example.com/b", true, 0, false, false}},
			`<message to='bob@example.com/a'><body>x</body></message>`, errSU, false},
	}
	for _, tc := range cases {
		for _, offline := range []bool{false, true} {
			name := tc.name
			if offline {
				name += ", offline storage"
			}
			t.Run(name, func(t *testing.T) {
				f := newFixture(t, offline)
				var bob []*fakeSession
				for _, s := range tc.sessions {
					bob = append(bob, f.bind(t, s.full, s.avail, s.prio, s.refuse))
				}
				_ = f.send(t, tc.send)
				for i, s := range tc.sessions {
					if n := len(bob[i].take()); (n == 1) != s.wantDelivered || n > 1 {
						t.Errorf("%s got %d stanzas, want delivered=%v", s.full, n, s.wantDelivered)
					}
				}
				wantBounce, wantStored := tc.bounce, tc.stored
				if offline && tc.stored {
					wantBounce = nil
				}
				if !offline {
					wantStored = false
				}
				checkBounce(t, f.alice.take(), wantBounce)
				if got := len(f.stored); (got != 0) != wantStored {
					t.Errorf("offline storage took %d stanzas, want stored=%v", got, wantStored)
				}
			})
		}
	}
}

func checkBounce(t *testing.T, got []*stanza.Stanza, want *stanza.Error) {
	t.Helper()
	if want == nil {
		if len(got) != 0 {
			t.Errorf("alice got %d stanzas, first %s; want none", len(got), got[0].El)
		}
		return
	}
	if len(got) != 1 {
		t.Fatalf("alice got %d stanzas, want one error", len(got))
	}
	e := stanza.ParseError(got[0].El)
	if got[0].Type() != "error" || e == nil || !errors.Is(e, want) || e.Type != want.Type || got[0].ID() != "u1" {
		t.Errorf("alice got %s, want a %s error of type %s with id u1", got[0].El, want.Condition, want.Type)
	}
}

// TestUndelivered checks which messages RFC 6121 §8.5 lets the server
// store offline: normal and chat for an existing account with no resource
// that may take them (§8.5.2.2.1, §8.5.3.2.1 for chat), never headline,
// groupchat or error, and never for an account that does not exist
// (§8.5.1).
func TestUndelivered(t *testing.T) {
	cases := []struct {
		name   string
		neg    bool // bob has one available resource of priority -1
		send   string
		stored bool
		bounce *stanza.Error
	}{
		{"bare, normal", false, `<message to='bob@example.com'><body>x</body></message>`, true, nil},
		{"bare, chat", false, `<message type='chat' to='bob@example.com'><body>x</body></message>`, true, nil},
		{"bare, chat, negative priority only", true, `<message type='chat' to='bob@example.com'><body>x</body></message>`, true, nil},
		{"bare, headline", false, `<message type='headline' to='bob@example.com'><body>x</body></message>`, false, nil},
		{"bare, groupchat", false, `<message type='groupchat' to='bob@example.com'><body>x</body></message>`, false, errSU},
		{"bare, error", false, `<message type='error' to='bob@example.com'><body>x</body></message>`, false, nil},
		{"full, chat", false, `<message type='chat' to='bob@example.com/gone'><body>x</body></message>`, true, nil},
		{"full, chat, negative priority only", true, `<message type='chat' to='bob@example.com/gone'><body>x</body></message>`, true, nil},
		{"full, normal", false, `<message to='bob@example.com/gone'><body>x</body></message>`, false, errSU},
		{"no such user, bare", false, `<message type='chat' to='zed@example.com'><body>x</body></message>`, false, errSU},
		{"no such user, full", false, `<message type='chat' to='zed@example.com/r'><body>x</body></message>`, false, errSU},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, true)
			if tc.neg {
				f.bind(t, "bob@example.com/neg", true, -1, false)
			}
			_ = f.send(t, tc.send)
			checkBounce(t, f.alice.take(), tc.bounce)
			if (len(f.stored) == 1) != tc.stored || len(f.stored) > 1 {
				t.Fatalf("offline storage took %d stanzas, want stored=%v", len(f.stored), tc.stored)
			}
			if tc.stored && f.stored[0].ID() != "u1" {
				t.Errorf("stored %s, want the message sent", f.stored[0].El)
			}
		})
	}
}

// TestRouteErrors checks the delivery errors Route reports to its caller
// (STYLE.md §5.4), beside the bounce it routes.
func TestRouteErrors(t *testing.T) {
	cases := []struct {
		send string
		want error
	}{
		{`<message to='bob@example.net'/>`, router.ErrRemoteNotFound},
		{`<message to='zed@example.com'/>`, router.ErrNoSuchUser},
		{`<presence to='zed@example.com'/>`, router.ErrNoSuchUser},
		{`<iq type='get' to='zed@example.com'><q xmlns='urn:example'/></iq>`, router.ErrNoSuchUser},
		{`<message type='chat' to='zed@example.com/r'/>`, router.ErrNoSuchUser},
		{`<message to='bob@example.com/gone'/>`, router.ErrResourceGone},
		{`<message type='headline' to='bob@example.com/gone'/>`, router.ErrResourceGone},
		{`<presence to='bob@example.com/gone'/>`, router.ErrResourceGone},
		{`<iq type='get' to='bob@example.com/gone'><q xmlns='urn:example'/></iq>`, router.ErrResourceGone},
		{`<message to='bob@example.com'/>`, nil},
		{`<message to='alice@example.com/a'/>`, nil},
		{`<message to='example.com'/>`, nil},
	}
	for i, tc := range cases {
		f := newFixture(t, false)
		if err := f.send(t, tc.send); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("%d: %s: Route = %v, want %v", i, tc.send, err, tc.want)
		}
	}
}

// TestStanzaOutDrop checks that a stanza.out filter that drops a stanza
// (blocking, say) decides its fate: no fallback to another resource, no
// offline storage, no bounce.
func TestStanzaOutDrop(t *testing.T) {
	f := newFixture(t, true)
	bob := f.bind(t, "bob@example.com/a", true, 0, false)
	other := f.bind(t, "bob@example.com/b", true, 0, false)
	hook.On(f.hooks, hook.StanzaOut, hook.Default, "block", func(_ context.Context, e *hook.StanzaEvent) hook.Verdict {
		if e.Session == bob.jid {
			return hook.Drop
		}
		return hook.Continue
	})
	for _, raw := range []string{
		`<message type='chat' to='bob@example.com/a'><body>x</body></message>`,
		`<iq type='get' to='bob@example.com/a'><q xmlns='urn:example'/></iq>`,
	} {
		_ = f.send(t, raw)
		if n := len(bob.take()) + len(other.take()) + len(f.alice.take()) + len(f.stored); n != 0 {
			t.Errorf("%s: %d stanzas went somewhere, want none", raw, n)
		}
	}
}

// TestBind checks the session table: a second session for a full JID
// replaces the first (RFC 6120 §7.7.2.2), the per-account limit holds, and
// Unbind removes only the session that is bound.
func TestBind(t *testing.T) {
	r := router.New(router.Config{Hosts: []string{"example.com"}, Log: xmpptest.Logger(t)})
	s1 := &fakeSession{jid: jid.MustParse("bob@example.com/a")}
	s2 := &fakeSession{jid: jid.MustParse("bob@example.com/a")}
	s3 := &fakeSession{jid: jid.MustParse("bob@example.com/b")}
	if old, err := r.Bind(s1, 2); old != nil || err != nil {
		t.Fatalf("Bind(s1) = %v, %v", old, err)
	}
	if old, err := r.Bind(s2, 2); old != s1 || err != nil {
		t.Fatalf("Bind(s2) = %v, %v; want s1 replaced", old, err)
	}
	if r.Unbind(s1) {
		t.Error("Unbind of a replaced session removed something")
	}
	if old, err := r.Bind(s3, 2); old != nil || err != nil {
		t.Fatalf("Bind(s3) = %v, %v", old, err)
	}
	if _, err := r.Bind(&fakeSession{jid: jid.MustParse("bob@example.com/c")}, 2); !errors.Is(err, router.ErrTooManySessions) {
		t.Errorf("third session: err = %v, want ErrTooManySessions", err)
	}
	if got := r.Sessions(jid.MustParse("bob@example.com")); !slices.Equal(got, []router.Session{s2, s3}) {
		t.Errorf("Sessions = %v", got)
	}
	if r.Session(jid.MustParse("bob@example.com/a")) != s2 || r.Count() != 2 {
		t.Errorf("Session(/a) = %v, Count = %d", r.Session(jid.MustParse("bob@example.com/a")), r.Count())
	}
	if !r.Unbind(s2) || !r.Unbind(s3) || r.Count() != 0 {
		t.Errorf("Unbind left %d sessions", r.Count())
	}
}
