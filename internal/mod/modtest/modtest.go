// Package modtest runs modules for unit tests without sockets: a real
// module registry, the real router and hook registry, and the real account
// service on a SQLite file in a temporary directory, which the modules
// store into too (Host.DB and Host.KV), migrated as the server migrates
// it. Test sessions stand
// where c2s sessions would: what a client sends is stamped and routed as
// the c2s session does (RFC 6120 §8.1.2.1, §10.3), and what the router
// delivers is recorded in order, together with the sessions modules kick.
//
// Everything a module does in answer to a stanza happens before Send
// returns (dispatch is synchronous), so tests read what was delivered
// without waiting.
//
// End-to-end behaviour over TCP, TLS and SASL belongs to internal/xmpptest.
package modtest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"

	"github.com/parleyim/parley/internal/auth"
	"github.com/parleyim/parley/internal/config"
	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/router"
	"github.com/parleyim/parley/internal/sasl"
	"github.com/parleyim/parley/internal/stanza"
	"github.com/parleyim/parley/internal/storage"
	"github.com/parleyim/parley/internal/xmlstream"
	"github.com/parleyim/parley/internal/xmpptest"
)

// Password is the password of the accounts Login creates.
const Password = "correct horse battery staple"

// Version is the server version the registry reports.
const Version = "1.2.3-test"

// Options configure Start.
type Options struct {
	// Config is a server configuration in YAML ("" for the defaults); its
	// modules section configures the modules under test.
	Config string
	// Fill, if set, is called with each module's decoded config before it
	// is validated, to set what the server takes from top-level keys.
	Fill func(name string, cfg any)
}

// Env is a running set of modules.
type Env struct {
	Domain   string
	Config   *config.Config
	Registry *module.Registry
	Router   *router.Router
	Hooks    *hook.Registry
	Accounts *auth.Accounts

	mu     sync.Mutex
	events []string
}

// Start loads defs with the given options and stops them when the test
// ends.
func Start(t testing.TB, opts Options, defs ...module.Definition) *Env {
	t.Helper()
	cfg, err := config.Parse([]byte(opts.Config), "test.yaml")
	if err != nil {
		t.Fatalf("modtest: config: %v", err)
	}
	ctx := context.Background()
	db, err := storage.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "parley.db"), 0)
	if err != nil {
		t.Fatalf("modtest: storage: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	// As app.Migrations: the account tables, storage's own (the generic
	// KV) and the modules' own.
	ms := append(append([]storage.Migration(nil), auth.Migrations...), storage.Migrations...)
	for _, d := range defs {
		ms = append(ms, d.Migrations...)
	}
	if err := db.Migrate(ctx, ms); err != nil {
		t.Fatalf("modtest: migrate: %v", err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := &Env{
		Domain:   cfg.Hosts[0],
		Config:   cfg,
		Hooks:    hook.NewRegistry(),
		Accounts: auth.NewAccounts(auth.NewSQLStore(db)),
	}
	e.Router = router.New(router.Config{Hosts: cfg.Hosts, Hooks: e.Hooks, Log: log, Users: users{e.Accounts}})
	e.Registry = module.NewRegistry(module.Services{
		Router:   e.Router,
		Hooks:    e.Hooks,
		Accounts: e.Accounts,
		Sessions: kicker{e},
		DB:       db,
		Log:      log,
		Hosts:    cfg.Hosts,
		Version:  Version,
	})
	e.Router.SetDispatcher(e.Registry)
	if err := e.Registry.Load(ctx, defs, source{cfg, opts.Fill}); err != nil {
		t.Fatalf("modtest: load: %v", err)
	}
	t.Cleanup(e.Registry.Stop)
	return e
}

// Events returns what happened so far, in order: "deliver <to> <xml>" for
// each stanza a session received and "kick <jid> <condition>" for each
// Sessions.Kick.
func (e *Env) Events() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.events...)
}

func (e *Env) event(format string, args ...any) {
	e.mu.Lock()
	e.events = append(e.events, fmt.Sprintf(format, args...))
	e.mu.Unlock()
}

// PasswordOK reports whether user@domain would log in with password, as
// checked by a SASL PLAIN exchange against the stored credentials.
func (e *Env) PasswordOK(t testing.TB, user, password string) bool {
	t.Helper()
	srv, err := sasl.NewServer("PLAIN", sasl.ServerConfig{Lookup: e.Accounts.Lookup(e.Domain)})
	if err != nil {
		t.Fatalf("modtest: %v", err)
	}
	_, done, err := srv.Step(context.Background(), []byte("\x00"+user+"\x00"+password))
	return err == nil && done
}

// Session is a bound client session in the router.
type Session struct {
	env    *Env
	full   jid.JID
	addr   netip.AddrPort
	secure bool

	mu     sync.Mutex
	queue  []*stanza.Stanza
	closed string // the stream error condition it was closed with
}

// Login creates the account user if needed and binds a session for
// user@domain/resource, available with priority 0, on an encrypted stream
// from 192.0.2.1.
func (e *Env) Login(t testing.TB, user, resource string) *Session {
	t.Helper()
	ctx := context.Background()
	if ok, err := e.Accounts.Exists(ctx, e.Domain, user); err != nil {
		t.Fatalf("modtest: %v", err)
	} else if !ok {
		if err := e.Accounts.Register(ctx, e.Domain, user, Password); err != nil {
			t.Fatalf("modtest: register %s: %v", user, err)
		}
	}
	full, err := jid.New(user, e.Domain, resource)
	if err != nil {
		t.Fatalf("modtest: %v", err)
	}
	s := &Session{env: e, full: full, addr: netip.MustParseAddrPort("192.0.2.1:40000"), secure: true}
	if _, err := e.Router.Bind(s, 0); err != nil {
		t.Fatalf("modtest: bind: %v", err)
	}
	return s
}

// SetInsecure makes the session look like a stream without TLS from the
// given address.
func (s *Session) SetInsecure(addr string) {
	s.addr = netip.MustParseAddrPort(addr)
	s.secure = false
}

// JID, Available, Priority, Deliver and Close make Session a
// router.Session.
func (s *Session) JID() jid.JID    { return s.full }
func (s *Session) Available() bool { return true }
func (s *Session) Priority() int   { return 0 }

func (s *Session) Deliver(st *stanza.Stanza) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed != "" {
		return false
	}
	s.queue = append(s.queue, st)
	s.env.event("deliver %s %s", s.full, st.El.String())
	return true
}

func (s *Session) Close(cond, _ string) {
	s.mu.Lock()
	if s.closed == "" {
		s.closed = cond
	}
	s.mu.Unlock()
	s.env.Router.Unbind(s)
}

// Closed returns the condition the session was closed with, or "".
func (s *Session) Closed() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Origin returns the origin the session's stanzas carry.
func (s *Session) Origin() *module.Origin {
	return &module.Origin{Addr: s.addr, Host: s.full.Domain(), JID: s.full, Secure: s.secure}
}

// Send stamps el (jabber:client XML) as the c2s session would — 'from' is
// the session's full JID, a missing 'to' means the account's bare JID —
// and routes it.
func (s *Session) Send(t testing.TB, xml string) {
	t.Helper()
	el := Parse(t, xml)
	el.SetAttr("from", s.full.String())
	st := &stanza.Stanza{El: el, From: s.full, To: s.full.Bare()}
	if to := el.Attr("to"); to != "" {
		j, err := jid.Parse(to)
		if err != nil {
			t.Fatalf("modtest: to: %v", err)
		}
		st.To = j
	}
	ctx := module.WithOrigin(context.Background(), s.Origin())
	_ = s.env.Router.Route(ctx, st)
}

// Next returns the oldest stanza delivered to the session and not yet
// taken, failing the test if there is none.
func (s *Session) Next(t testing.TB) *xmlstream.Element {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		t.Fatalf("modtest: nothing delivered to %s", s.full)
	}
	st := s.queue[0]
	s.queue = s.queue[1:]
	return st.El
}

// Expect takes the next delivered stanza and fails the test unless it
// matches the pattern want (xmpptest.Match: attributes want does not name
// are ignored, "{any}" matches any value).
func (s *Session) Expect(t testing.TB, want string) *xmlstream.Element {
	t.Helper()
	got := s.Next(t)
	Match(t, got, want)
	return got
}

// Pending returns how many delivered stanzas have not been taken.
func (s *Session) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// PreAuth hands an IQ (jabber:client XML) to the modules as an
// unauthenticated stream from addr would, and returns the reply written
// back on that stream (nil if none) and whether a module took it.
func (e *Env) PreAuth(t testing.TB, addr string, secure bool, xml string) (reply *xmlstream.Element, handled bool) {
	t.Helper()
	st := &stanza.Stanza{El: Parse(t, xml), To: jid.MustParse(e.Domain)}
	o := &module.Origin{
		Addr:   netip.MustParseAddrPort(addr),
		Host:   e.Domain,
		Secure: secure,
		Reply: func(r *stanza.Stanza) {
			reply = r.El
			reply.RemoveAttr("to")
		},
	}
	handled = e.Registry.DispatchPreAuth(module.WithOrigin(context.Background(), o), st)
	return reply, handled
}

// Match fails the test unless got matches the pattern want (see
// xmpptest.Match). A nil got never matches.
func Match(t testing.TB, got *xmlstream.Element, want string) {
	t.Helper()
	w := xmpptest.Parse(t, want)
	if got == nil {
		t.Fatalf("modtest: got nothing\nwant %s", w)
	}
	if !xmpptest.Match(w, got) {
		t.Fatalf("modtest: got  %s\nwant %s", got, w)
	}
}

// Parse parses one element in the jabber:client namespace.
func Parse(t testing.TB, xml string) *xmlstream.Element {
	t.Helper()
	el, err := xmlstream.ParseFrame([]byte(xml), ns.Client, xmlstream.Limits{})
	if err != nil {
		t.Fatalf("modtest: parse %q: %v", xml, err)
	}
	return el
}

// kicker is the Sessions service: it closes the test sessions of a JID.
type kicker struct{ e *Env }

func (k kicker) Kick(j jid.JID, cond, text string) int {
	k.e.event("kick %s %s", j, cond)
	var targets []router.Session
	if j.IsBare() {
		targets = append(targets, k.e.Router.Sessions(j)...)
	} else if s := k.e.Router.Session(j); s != nil {
		targets = append(targets, s)
	}
	for _, s := range targets {
		s.Close(cond, text)
	}
	return len(targets)
}

type users struct{ acc *auth.Accounts }

func (u users) UserExists(ctx context.Context, host, user string) (bool, error) {
	return u.acc.Exists(ctx, host, user)
}

type source struct {
	cfg  *config.Config
	fill func(string, any)
}

func (s source) ModuleEnabled(name string, def bool) bool { return s.cfg.ModuleEnabled(name, def) }

func (s source) DecodeModule(name string, out any) error {
	if err := s.cfg.DecodeModule(name, out); err != nil {
		return err
	}
	if s.fill != nil {
		s.fill(name, out)
	}
	return nil
}
