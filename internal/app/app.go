// Package app is Parley's composition root: from a configuration it opens
// storage, builds the router and the modules, and starts the listeners;
// Stop undoes it in reverse order.
package app

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"time"

	"github.com/parleyim/parley/internal/auth"
	"github.com/parleyim/parley/internal/config"
	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/router"
	"github.com/parleyim/parley/internal/sasl"
	"github.com/parleyim/parley/internal/session/c2s"
	"github.com/parleyim/parley/internal/stanza"
	"github.com/parleyim/parley/internal/storage"
	"github.com/parleyim/parley/internal/xmlstream"
)

// Version is the server version, set at build time with -ldflags.
var Version = "0.1.0-dev"

// App is a running Parley server.
type App struct {
	cfg      *config.Config
	log      *slog.Logger
	db       *storage.DB
	Accounts *auth.Accounts
	hooks    *hook.Registry
	router   *router.Router
	modules  *module.Registry
	c2s      *c2s.Server
	started  time.Time

	mu    sync.Mutex
	lns   map[string]net.Listener
	wg    sync.WaitGroup
	extra []func(context.Context) // stop functions of add-ons (admin API)
}

// New builds the server from cfg: storage is opened and migrated and the
// modules are set up, but nothing listens until Start.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger) (*App, error) {
	if log == nil {
		log = slog.Default()
	}
	a := &App{cfg: cfg, log: log, hooks: hook.NewRegistry(), lns: map[string]net.Listener{}}
	// Every module section names a module that exists and decodes, before
	// anything is opened or written.
	names := make([]string, len(Modules))
	for i, d := range Modules {
		names[i] = d.Name
	}
	if err := cfg.CheckModules(names); err != nil {
		return nil, err
	}
	if err := module.CheckConfig(Modules, moduleConfig{cfg}); err != nil {
		return nil, err
	}
	db, err := OpenStorage(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a.db = db
	log.Info("storage open", "driver", cfg.Storage.Driver, "where", db.String())
	if err := db.Migrate(ctx, Migrations()); err != nil {
		db.Close()
		return nil, err
	}
	a.Accounts = auth.NewAccounts(auth.NewSQLStore(db))

	a.router = router.New(router.Config{Hosts: cfg.Hosts, Hooks: a.hooks, Log: log, Users: userExists{a.Accounts}})
	cert, err := loadCertificate(log, cfg.TLS.Cert, cfg.TLS.Key, cfg.DataDir, cfg.Hosts)
	if err != nil {
		db.Close()
		return nil, err
	}
	tlsCfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"xmpp-client"}, // XEP-0368 ALPN
	}
	a.c2s = c2s.New(c2s.Config{
		Hosts:              cfg.Hosts,
		TLS:                tlsCfg,
		Cert:               cert.Leaf,
		TLSRequired:        cfg.TLS.Required,
		Limits:             xmlstream.Limits{MaxStanzaBytes: int(cfg.Limits.MaxStanzaSize)},
		NegotiationTimeout: cfg.Limits.NegotiationTimeout.D(),
		IdleTimeout:        cfg.Limits.IdleTimeout.D(),
		WriteTimeout:       cfg.Limits.WriteTimeout.D(),
		MaxSessionsPerUser: cfg.Limits.MaxSessionsPerUser,
		StanzasPerSecond:   cfg.Limits.StanzasPerSecond,
		Router:             a.router,
		Hooks:              a.hooks,
		Lookup:             a.Accounts.Lookup,
		Throttle:           auth.NewThrottle(cfg.Limits.LoginFailuresPerIP.N, cfg.Limits.LoginFailuresPerIP.Per),
		Log:                log.With("component", "c2s"),
	})
	a.modules = module.NewRegistry(module.Services{
		Router:   a.router,
		Hooks:    a.hooks,
		Accounts: accountsService{a},
		Sessions: a.c2s,
		DB:       db,
		Log:      log,
		Hosts:    cfg.Hosts,
		Version:  Version,
	})
	a.router.SetDispatcher(a.modules)
	a.c2sModules()
	if err := a.modules.Load(ctx, Modules, moduleConfig{cfg}); err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

// OpenStorage opens the database cfg names, with its pool options, within
// storage.conn_timeout. It does not migrate: New does, and so does
// `parley ctl migrate`, which works without a running server.
func OpenStorage(ctx context.Context, cfg *config.Config) (*storage.DB, error) {
	dsn := cfg.Storage.DSN
	if cfg.Storage.Driver == "sqlite" && dsn == "" {
		dsn = filepath.Join(cfg.DataDir, "parley.db")
	}
	octx, cancel := context.WithTimeout(ctx, max(cfg.Storage.ConnTimeout, time.Second))
	defer cancel()
	return storage.OpenWith(octx, cfg.Storage.Driver, dsn, storage.Options{
		MaxConns:     cfg.Storage.MaxConns,
		QueryTimeout: cfg.Storage.QueryTimeout,
	})
}

// Migrations lists the schema migrations of the running server; see the
// package function Migrations.
func (a *App) Migrations() []storage.Migration { return Migrations() }

// Migrations lists every schema migration the binary knows: the account
// tables', storage's own (the generic KV) and those every module in
// Modules declares, enabled or not, so that enabling a module later needs
// no other step.
func Migrations() []storage.Migration {
	ms := append([]storage.Migration(nil), auth.Migrations...)
	ms = append(ms, storage.Migrations...)
	for _, d := range Modules {
		ms = append(ms, d.Migrations...)
	}
	return ms
}

// c2sModules hands the module registry to the c2s server (they need each
// other: modules send through the router, c2s offers their features).
func (a *App) c2sModules() { a.c2s.SetModules(a.modules) }

// Start opens the listeners named in the configuration.
func (a *App) Start(ctx context.Context) error {
	a.started = time.Now()
	if err := a.listen("c2s", a.cfg.Listen.C2S, func(ln net.Listener) { a.c2s.Serve(ln, false) }); err != nil {
		a.Stop(ctx)
		return err
	}
	if err := a.listen("c2s_tls", a.cfg.Listen.C2STLS, func(ln net.Listener) { a.c2s.Serve(ln, true) }); err != nil {
		a.Stop(ctx)
		return err
	}
	return nil
}

func (a *App) listen(name, addr string, serve func(net.Listener)) error {
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen.%s: %w", name, err)
	}
	a.mu.Lock()
	a.lns[name] = ln
	a.mu.Unlock()
	a.log.Info("listening", "listener", name, "addr", ln.Addr().String())
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		serve(ln)
	}()
	return nil
}

// Addr returns the bound address of a listener ("c2s", "c2s_tls", "admin"),
// or nil when it is off. Tests use it with ":0" listeners.
func (a *App) Addr(name string) net.Addr {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ln := a.lns[name]; ln != nil {
		return ln.Addr()
	}
	return nil
}

// AddListener registers an extra listener (the admin API) so that Addr
// reports it and Stop closes it.
func (a *App) AddListener(name string, ln net.Listener, stop func(context.Context)) {
	a.mu.Lock()
	a.lns[name] = ln
	if stop != nil {
		a.extra = append(a.extra, stop)
	}
	a.mu.Unlock()
}

// Stop closes every session with system-shutdown, stops the modules and
// closes storage. It waits at most until ctx ends for sessions to close.
func (a *App) Stop(ctx context.Context) {
	a.mu.Lock()
	extra := a.extra
	a.extra = nil
	a.mu.Unlock()
	for _, f := range extra {
		f(ctx)
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	a.c2s.Shutdown(sctx)
	cancel()
	a.wg.Wait()
	a.modules.Stop()
	if err := a.db.Close(); err != nil {
		a.log.Warn("closing storage", "err", err)
	}
}

// Config returns the configuration the server runs with.
func (a *App) Config() *config.Config { return a.cfg }

// Uptime returns how long the listeners have been up.
func (a *App) Uptime() time.Duration { return time.Since(a.started) }

// Sessions lists the bound client sessions.
func (a *App) Sessions() []c2s.Info { return a.c2s.Sessions() }

// Kick closes the sessions of j with a policy-violation stream error.
func (a *App) Kick(j jid.JID, reason string) int {
	if reason == "" {
		reason = "kicked by an administrator"
	}
	return a.c2s.Kick(j, "policy-violation", reason)
}

// Registry returns the module registry; the admin API reaches the
// services that modules provide through it (module.Lookup).
func (a *App) Registry() *module.Registry { return a.modules }

// Route routes st as the router routes any stanza (RFC 6121 §8.5): the
// admin API sends the server's own messages with it. The error is for the
// caller's information; what the sender is owed was already routed back.
func (a *App) Route(ctx context.Context, st *stanza.Stanza) error {
	return a.router.Route(ctx, st)
}

// Modules lists the running modules.
func (a *App) LoadedModules() []string { return a.modules.Loaded() }

// RemoveUser deletes an account, tells the modules and ends its sessions.
func (a *App) RemoveUser(ctx context.Context, host, user string) error {
	if err := a.Accounts.Remove(ctx, host, user); err != nil {
		return err
	}
	hook.Run(ctx, a.hooks, hook.UserRemoved, &hook.UserEvent{Host: host, Username: user})
	if j, err := jid.New(user, host, ""); err == nil {
		a.c2s.Kick(j, "not-authorized", "account removed")
	}
	return nil
}

// RegisterUser creates an account and tells the modules.
func (a *App) RegisterUser(ctx context.Context, host, user, password string) error {
	if err := a.Accounts.Register(ctx, host, user, password); err != nil {
		return err
	}
	hook.Run(ctx, a.hooks, hook.UserRegistered, &hook.UserEvent{Host: host, Username: user})
	return nil
}

// ImportUser creates an account from SCRAM credentials computed elsewhere
// (an XEP-0227 import) and tells the modules, as RegisterUser does.
func (a *App) ImportUser(ctx context.Context, host, user string, creds map[sasl.Hash]sasl.Credentials) error {
	if err := a.Accounts.Import(ctx, host, user, creds); err != nil {
		return err
	}
	hook.Run(ctx, a.hooks, hook.UserRegistered, &hook.UserEvent{Host: host, Username: user})
	return nil
}

// userExists adapts Accounts to router.Users.
type userExists struct{ acc *auth.Accounts }

func (u userExists) UserExists(ctx context.Context, host, user string) (bool, error) {
	return u.acc.Exists(ctx, host, user)
}

// accountsService adapts the app to module.Accounts.
type accountsService struct{ a *App }

func (s accountsService) Register(ctx context.Context, host, user, pass string) error {
	return s.a.Accounts.Register(ctx, host, user, pass)
}
func (s accountsService) SetPassword(ctx context.Context, host, user, pass string) error {
	return s.a.Accounts.SetPassword(ctx, host, user, pass)
}
func (s accountsService) Remove(ctx context.Context, host, user string) error {
	return s.a.Accounts.Remove(ctx, host, user)
}
func (s accountsService) Exists(ctx context.Context, host, user string) (bool, error) {
	return s.a.Accounts.Exists(ctx, host, user)
}

// moduleConfig adapts the config to module.ConfigSource and fills the
// options that come from top-level keys (registration, limits).
type moduleConfig struct{ cfg *config.Config }

func (m moduleConfig) ModuleEnabled(name string, def bool) bool {
	return m.cfg.ModuleEnabled(name, def)
}

func (m moduleConfig) DecodeModule(name string, out any) error {
	if err := m.cfg.DecodeModule(name, out); err != nil {
		return err
	}
	if tl, ok := out.(topLevel); ok {
		tl.FromServer(m.cfg)
	}
	return nil
}

// topLevel is implemented by module configs that take options from
// top-level keys of the server configuration (register: registration and
// limits.registrations_per_ip).
type topLevel interface{ FromServer(*config.Config) }
