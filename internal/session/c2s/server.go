// Package c2s serves client-to-server streams (RFC 6120): it negotiates
// STARTTLS, SASL and resource binding, then owns the session: a reader
// that stamps and checks what the client sends, a processor that handles
// and routes it in order, and a writer fed by a bounded queue that the
// router pushes to without blocking. Each runs on a goroutine only while
// it has work; an idle session parks its reader on an epoll instance of
// the server's (park.go, Linux), since Go's own poller wakes only a
// goroutine blocked in a read, which is what an idle session should not
// have to keep.
package c2s

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/parleyim/parley/internal/auth"
	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/router"
	"github.com/parleyim/parley/internal/sasl"
	"github.com/parleyim/parley/internal/stream"
	"github.com/parleyim/parley/internal/xmlstream"
)

// Config holds what the c2s server needs.
type Config struct {
	Hosts       []string
	TLS         *tls.Config       // server TLS config; nil disables TLS
	Cert        *x509.Certificate // leaf certificate, for tls-server-end-point
	TLSRequired bool
	// PlainOnInsecure offers PLAIN on unencrypted streams (off by
	// default; DESIGN.md "Defaults that protect users").
	PlainOnInsecure    bool
	Limits             xmlstream.Limits
	NegotiationTimeout time.Duration
	IdleTimeout        time.Duration
	WriteTimeout       time.Duration
	MaxSessionsPerUser int
	StanzasPerSecond   int
	Router             *router.Router
	Modules            *module.Registry
	Hooks              *hook.Registry
	Lookup             func(host string) sasl.Lookup
	Throttle           *auth.Throttle
	Log                *slog.Logger
}

// Info describes a live session for administration.
type Info struct {
	JID      jid.JID
	Addr     netip.AddrPort
	Since    time.Time
	Secure   bool
	Priority int
	Avail    bool
}

// Server accepts and serves client connections.
type Server struct {
	cfg   Config
	log   *slog.Logger
	hosts map[string]bool

	mu    sync.Mutex
	conns map[*conn]struct{}
	lns   map[net.Listener]struct{}
	wg    sync.WaitGroup
	down  bool

	poll    *poller // wakes parked sessions; started on first use
	pollErr error
}

// New returns a c2s server.
func New(cfg Config) *Server {
	if cfg.NegotiationTimeout <= 0 {
		cfg.NegotiationTimeout = 30 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 5 * time.Minute
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 30 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	s := &Server{cfg: cfg, log: cfg.Log, hosts: map[string]bool{}, conns: map[*conn]struct{}{}, lns: map[net.Listener]struct{}{}}
	for _, h := range cfg.Hosts {
		s.hosts[h] = true
	}
	return s
}

// Serve accepts connections on ln until ln is closed or Shutdown is
// called. directTLS selects XEP-0368 direct TLS instead of STARTTLS.
func (s *Server) Serve(ln net.Listener, directTLS bool) error {
	s.mu.Lock()
	if s.down {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.lns[ln] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			down := s.down
			s.mu.Unlock()
			if down || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of file descriptors and the like: back off, keep going.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed", "err", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		c := newConn(s, nc, directTLS)
		s.mu.Lock()
		if s.down {
			s.mu.Unlock()
			nc.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go c.serve(func() {
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			s.wg.Done()
		})
	}
}

// Shutdown stops accepting, closes every stream with system-shutdown and
// waits for the sessions to end or ctx to expire, then drops what is left.
func (s *Server) Shutdown(ctx context.Context) {
	s.mu.Lock()
	s.down = true
	for ln := range s.lns {
		ln.Close()
	}
	for c := range s.conns {
		c.requestClose(&stream.Error{Condition: stream.SystemShutdown, Text: "server is shutting down"})
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			// raw, not nc: the reader may be swapping nc for its TLS
			// connection right now; closing raw ends both.
			c.raw.Close()
		}
		s.mu.Unlock()
		<-done
	}
	s.mu.Lock()
	p := s.poll
	s.poll, s.pollErr = nil, errors.New("c2s: server shut down")
	s.mu.Unlock()
	if p != nil {
		p.close()
	}
}

// SetModules sets the module registry (stream features, pre-auth IQs). It
// must be called before Serve.
func (s *Server) SetModules(m *module.Registry) { s.cfg.Modules = m }

// Sessions lists the bound sessions.
func (s *Server) Sessions() []Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Info, 0, len(s.conns))
	for c := range s.conns {
		if c.bound.Load() {
			out = append(out, Info{JID: c.full, Addr: c.addr, Since: c.since, Secure: c.secure, Priority: c.Priority(), Avail: c.Available()})
		}
	}
	return out
}

// Kick closes the sessions of j (every resource when j is bare) with the
// given stream error condition and reports how many it closed.
func (s *Server) Kick(j jid.JID, cond, text string) int {
	n := 0
	if j.IsBare() {
		for _, rs := range s.cfg.Router.Sessions(j) {
			rs.Close(cond, text)
			n++
		}
		return n
	}
	if rs := s.cfg.Router.Session(j); rs != nil {
		rs.Close(cond, text)
		n++
	}
	return n
}
