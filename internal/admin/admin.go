// Package admin serves Parley's administration API, the one way to manage a
// running server from outside it: `parley ctl` talks to it, and the web
// admin pages and /metrics are meant to sit on the same API later
// (DESIGN.md "admin").
//
// It exists as a package of its own so that every administrative action
// goes through one audited surface with one error mapping and one logging
// rule (who did what, never a password), instead of each tool reaching
// into the app. The API is JSON over HTTP (standard library only) and is
// served on two kinds of listener:
//
//   - a unix socket (admin.socket, default <data_dir>/parley.sock) with mode
//     0600, so the file system decides who may administer: the user that
//     runs the server. No token is asked for there.
//   - optionally a loopback TCP address (admin.http), where every request
//     must carry "Authorization: Bearer <admin.token>". Addresses that are
//     not loopback are refused even if the configuration check was skipped.
//
// Endpoints (all under /v1; errors are {"error": "..."} with 400 for bad
// input, 401 for a missing or wrong token, 404 for an unknown account,
// host, session or roster item, 409 for an account that exists or a full
// roster, 501 when the module an endpoint needs is disabled, 500 with a
// log ID otherwise):
//
//	GET    /v1/status                  Status
//	GET    /v1/users[?host=HOST]       UserList: accounts of every host, or of HOST
//	POST   /v1/users                   RegisterRequest → 201 AccountResult
//	DELETE /v1/users/{user@host}       AccountResult; also closes its sessions
//	PUT    /v1/users/{user@host}/password  PasswordRequest → AccountResult
//	GET    /v1/users/{user@host}/roster    RosterList
//	PUT    /v1/users/{user@host}/roster/{contact}  RosterItemRequest → RosterResult
//	DELETE /v1/users/{user@host}/roster/{contact}  RosterResult
//	GET    /v1/sessions                SessionList
//	POST   /v1/sessions/kick           KickRequest → KickResult
//	POST   /v1/sessions/announce       AnnounceRequest → AnnounceResult
//	POST   /v1/messages                MessageRequest → MessageResult
//
// Roster changes go through the roster module (roster.Service), so the
// account's clients get roster pushes and a removal cancels the
// subscriptions, as when a client makes the change. Messages come from
// the domain JID and are routed like any stanza (RFC 6121 §8.5).
//
// Not implemented yet: paging of large user lists, the web pages, /metrics,
// module-declared commands (STYLE.md §3.3 h.Command).
package admin

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/parleyim/parley/internal/app"
)

// Listener names under which Start registers with app.AddListener, so that
// app.Addr reports them and app.Stop shuts them down.
const (
	ListenerSocket = "admin"
	ListenerHTTP   = "admin_http"
)

// HTTP server limits. A request is a small JSON document; nothing the API
// does takes long, so generous but finite bounds are enough.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 2 * time.Minute
	maxBodyBytes      = 64 << 10
)

// minTokenLen repeats the configuration rule, for configurations built
// without config.Load.
const minTokenLen = 16

// Start opens the admin listeners of a.Config().Admin and serves the API
// on them until a.Stop, which shuts them down gracefully (through the stop
// function given to app.AddListener). It fails if another server answers
// on the socket, if the socket path holds something that is not a socket,
// or if admin.http is not a loopback address.
func Start(ctx context.Context, a *app.App, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "admin")
	cfg := a.Config().Admin
	api := newAPI(a, log)

	sock, err := listenUnix(ctx, cfg.Socket, log)
	if err != nil {
		return err
	}
	sockSrv := serve(sock.ln, api.handler("unix"), log)

	var httpSrv *server
	if cfg.HTTP != "" {
		var ln net.Listener
		if len(cfg.Token) < minTokenLen {
			err = fmt.Errorf("admin.token: want at least %d characters when admin.http is set", minTokenLen)
		} else {
			ln, err = listenLoopback(ctx, cfg.HTTP)
		}
		if err != nil {
			sockSrv.stop(ctx)
			sock.remove()
			return err
		}
		httpSrv = serve(ln, requireToken(cfg.Token, api.handler("http"), log), log)
	}

	a.AddListener(ListenerSocket, sock.ln, func(ctx context.Context) {
		sockSrv.stop(ctx)
		sock.remove()
	})
	log.Info("admin API listening", "socket", cfg.Socket)
	if httpSrv != nil {
		a.AddListener(ListenerHTTP, httpSrv.ln, httpSrv.stop)
		log.Info("admin API listening", "addr", httpSrv.ln.Addr().String())
	}
	return nil
}

// listenLoopback listens on addr and checks that the bound address is a
// loopback one: config validation already says so, but the admin API must
// not face the network even if a caller built the config by hand or a name
// like "localhost" resolves somewhere unexpected.
func listenLoopback(ctx context.Context, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin.http: %w", err)
	}
	if ta, ok := ln.Addr().(*net.TCPAddr); !ok || !ta.IP.IsLoopback() {
		ln.Close()
		return nil, fmt.Errorf("admin.http: %q is not a loopback address (the admin API must not face the network)", addr)
	}
	return ln, nil
}

// server is one http.Server on one listener.
type server struct {
	ln   net.Listener
	srv  *http.Server
	done chan struct{}
}

func serve(ln net.Listener, h http.Handler, log *slog.Logger) *server {
	s := &server{
		ln: ln,
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: readHeaderTimeout,
			ReadTimeout:       readTimeout,
			WriteTimeout:      writeTimeout,
			IdleTimeout:       idleTimeout,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin API stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	return s
}

// stop lets running requests finish until ctx ends, then drops them.
func (s *server) stop(ctx context.Context) {
	if err := s.srv.Shutdown(ctx); err != nil {
		s.srv.Close()
	}
	<-s.done
}

// requireToken wraps h so that a request passes only with the bearer token
// (RFC 6750 §2.1). Both sides are hashed before the constant-time compare,
// so neither the content nor the length of the token leaks through timing.
func requireToken(token string, h http.Handler, log *slog.Logger) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !checkBearer(r.Header.Get("Authorization"), want) {
			log.Warn("admin API request refused: missing or wrong token", "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path)
			w.Header().Set("WWW-Authenticate", `Bearer realm="parley-admin"`)
			writeJSON(w, http.StatusUnauthorized, Error{Message: "missing or wrong bearer token (see admin.token)"})
			return
		}
		h.ServeHTTP(w, r)
	})
}
