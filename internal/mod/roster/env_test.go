package roster_test

// A socketless harness for the Service tests: the real module registry,
// router and hook registry and the roster module on SQLite, with test
// sessions where c2s sessions would be. (internal/mod/modtest runs modules
// without a database, so it cannot run this one.) Dispatch is synchronous:
// everything a stanza causes has happened when send returns.

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"testing"

	"github.com/parleyim/parley/internal/config"
	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/mod/roster"
	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/router"
	"github.com/parleyim/parley/internal/stanza"
	"github.com/parleyim/parley/internal/storage/storagetest"
	"github.com/parleyim/parley/internal/xmlstream"
	"github.com/parleyim/parley/internal/xmpptest"
)

type env struct {
	hooks  *hook.Registry
	router *router.Router
	// svc is the roster.Service as another module gets it: through
	// module.Use in its Setup.
	svc roster.Service

	mu     sync.Mutex
	events []hook.RosterEvent
}

type everyone struct{}

func (everyone) UserExists(context.Context, string, string) (bool, error) { return true, nil }

func newEnv(t *testing.T, yaml string) *env {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	db := storagetest.Backends()[0].Migrated(t, roster.Migrations)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := &env{hooks: hook.NewRegistry()}
	e.router = router.New(router.Config{Hosts: cfg.Hosts, Hooks: e.hooks, Log: log, Users: everyone{}})
	reg := module.NewRegistry(module.Services{Router: e.router, Hooks: e.hooks, DB: db, Log: log, Hosts: cfg.Hosts})
	e.router.SetDispatcher(reg)
	consumer := module.Define[struct{}]("consumer", "uses the roster", nil, true, nil,
		func(_ context.Context, h *module.Host, _ *struct{}) error {
			svc, ok := module.Use[roster.Service](h)
			if !ok {
				t.Fatal("no roster.Service")
			}
			e.svc = svc
			module.On(h, hook.RosterItemChanged, hook.Default, func(_ context.Context, ev *hook.RosterEvent) hook.Verdict {
				e.mu.Lock()
				e.events = append(e.events, *ev)
				e.mu.Unlock()
				return hook.Continue
			})
			return nil
		})
	if err := reg.Load(context.Background(), []module.Definition{roster.Module, consumer}, cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Stop)
	return e
}

// takeEvents returns the roster events so far and forgets them.
func (e *env) takeEvents() []hook.RosterEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	ev := e.events
	e.events = nil
	return ev
}

// session is a bound client session.
type session struct {
	e    *env
	full jid.JID
	addr netip.AddrPort

	mu sync.Mutex
	q  []*xmlstream.Element
}

// login binds a session for full from addr, as c2s does (and fires
// session.bound).
func (e *env) login(t *testing.T, full, addr string) *session {
	t.Helper()
	s := &session{e: e, full: jid.MustParse(full), addr: netip.MustParseAddrPort(addr)}
	if _, err := e.router.Bind(s, 0); err != nil {
		t.Fatal(err)
	}
	hook.Run(context.Background(), e.hooks, hook.SessionBound, &hook.SessionEvent{JID: s.full, Addr: s.addr})
	return s
}

// logout unbinds the session and fires session.closed.
func (s *session) logout() {
	s.e.router.Unbind(s)
	hook.Run(context.Background(), s.e.hooks, hook.SessionClosed, &hook.SessionEvent{JID: s.full, Addr: s.addr})
}

func (s *session) JID() jid.JID    { return s.full }
func (s *session) Available() bool { return true }
func (s *session) Priority() int   { return 0 }
func (s *session) Close(string, string) {
	s.e.router.Unbind(s)
}

func (s *session) Deliver(st *stanza.Stanza) bool {
	s.mu.Lock()
	s.q = append(s.q, st.El)
	s.mu.Unlock()
	return true
}

// send routes a stanza from the session, stamped as c2s stamps it.
func (s *session) send(t *testing.T, xml string) {
	t.Helper()
	el := xmpptest.Parse(t, xml)
	el.SetAttr("from", s.full.String())
	st := &stanza.Stanza{El: el, From: s.full, To: s.full.Bare()}
	if to := el.Attr("to"); to != "" {
		st.To = jid.MustParse(to)
	}
	o := &module.Origin{Addr: s.addr, Host: s.full.Domain(), JID: s.full, Secure: true}
	_ = s.e.router.Route(module.WithOrigin(context.Background(), o), st)
}

// next takes the oldest stanza delivered to the session.
func (s *session) next(t *testing.T) *xmlstream.Element {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.q) == 0 {
		t.Fatalf("nothing delivered to %s", s.full)
	}
	e := s.q[0]
	s.q = s.q[1:]
	return e
}

// expect takes the next stanza and matches it against want.
func (s *session) expect(t *testing.T, want string) *xmlstream.Element {
	t.Helper()
	got := s.next(t)
	if !xmpptest.Match(xmpptest.Parse(t, want), got) {
		t.Fatalf("%s got  %s\nwant %s", s.full, got, want)
	}
	return got
}

// none fails if anything was delivered and not taken.
func (s *session) none(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.q) > 0 {
		t.Fatalf("%s was sent %s", s.full, s.q[0])
	}
}

// interested makes the session an interested resource (a roster get).
func (s *session) interested(t *testing.T) {
	t.Helper()
	s.send(t, `<iq type='get' id='rg'><query xmlns='jabber:iq:roster'/></iq>`)
	if got := s.next(t); got.Attr("type") != "result" || got.Attr("id") != "rg" {
		t.Fatalf("roster get: %s", got)
	}
}
