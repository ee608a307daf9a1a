// Package xmpptest starts a complete Parley in-process on ephemeral
// loopback ports for end-to-end tests, and gives tests logged-in clients
// that talk to it over real TCP, STARTTLS and SCRAM.
package xmpptest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/app"
	"github.com/parleyim/parley/internal/client"
	"github.com/parleyim/parley/internal/config"
	"github.com/parleyim/parley/internal/xmlstream"
)

// Server is a running test server.
type Server struct {
	App     *app.App
	Domain  string
	Addr    string // c2s (STARTTLS) address
	TLSAddr string // direct TLS address
	DataDir string
	Config  *config.Config
}

// Start starts a server from a YAML configuration (may be empty). Listen
// addresses are forced to 127.0.0.1:0, the data directory to a temporary
// one unless the YAML sets data_dir, and registration limits are lifted
// unless the YAML sets them. The server stops when the test ends.
func Start(t testing.TB, yaml string) *Server {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), "test.yaml")
	if err != nil {
		t.Fatalf("xmpptest: config: %v", err)
	}
	if !strings.Contains(yaml, "data_dir") {
		cfg.DataDir = t.TempDir()
		if cfg.Storage.Driver == "sqlite" && !strings.Contains(yaml, "dsn") {
			cfg.Storage.DSN = cfg.DataDir + "/parley.db"
		}
	}
	cfg.Listen.C2S = "127.0.0.1:0"
	cfg.Listen.C2STLS = "127.0.0.1:0"
	cfg.Listen.S2S = ""
	cfg.Listen.HTTP = ""
	if !strings.Contains(yaml, "registrations_per_ip") {
		cfg.Limits.RegistrationsPerIP = config.Rate{Unlimited: true}
	}
	if !strings.Contains(yaml, "login_failures_per_ip") {
		cfg.Limits.LoginFailuresPerIP = config.Rate{N: 1000, Per: time.Minute}
	}
	if !strings.Contains(yaml, "stanzas_per_second") {
		cfg.Limits.StanzasPerSecond = 100000
	}
	ctx := context.Background()
	a, err := app.New(ctx, cfg, Logger(t))
	if err != nil {
		t.Fatalf("xmpptest: new server: %v", err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatalf("xmpptest: start: %v", err)
	}
	s := &Server{App: a, Domain: cfg.Hosts[0], DataDir: cfg.DataDir, Config: cfg}
	if ad := a.Addr("c2s"); ad != nil {
		s.Addr = ad.String()
	}
	if ad := a.Addr("c2s_tls"); ad != nil {
		s.TLSAddr = ad.String()
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		a.Stop(ctx)
	})
	return s
}

// Logger returns a logger that writes to the test log when
// PARLEY_TEST_LOG is set (to a level: debug, info…), and nowhere otherwise.
func Logger(t testing.TB) *slog.Logger {
	lvl := os.Getenv("PARLEY_TEST_LOG")
	if lvl == "" {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var l slog.Level
	_ = l.UnmarshalText([]byte(lvl))
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: l}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

var userSeq atomic.Int64

// Password is the password of users made by User.
const Password = "correct horse battery staple"

// CreateUser creates an account directly in storage.
func (s *Server) CreateUser(t testing.TB, name string) {
	t.Helper()
	if err := s.App.RegisterUser(context.Background(), s.Domain, name, Password); err != nil {
		t.Fatalf("xmpptest: create user %s: %v", name, err)
	}
}

// ClientConfig returns a client configuration for user name with
// STARTTLS and the default password.
func (s *Server) ClientConfig(name string) client.Config {
	return client.Config{
		Addr:     s.Addr,
		Domain:   s.Domain,
		Username: name,
		Password: Password,
		TLS:      client.StartTLS,
		Timeout:  10 * time.Second,
	}
}

// User creates the account name (if it does not exist yet) and logs it in
// over STARTTLS and SCRAM with resource res ("" lets the server choose).
// The client announces available presence so that it receives messages
// sent to its bare JID. The connection closes when the test ends.
func (s *Server) User(t testing.TB, name, res string) *client.Conn {
	t.Helper()
	if ok, _ := s.App.Accounts.Exists(context.Background(), s.Domain, name); !ok {
		s.CreateUser(t, name)
	}
	cfg := s.ClientConfig(name)
	cfg.Resource = res
	c := s.Dial(t, cfg)
	if err := c.Send(xmlstream.New("jabber:client", "presence")); err != nil {
		t.Fatalf("xmpptest: presence: %v", err)
	}
	if slices.Contains(s.App.LoadedModules(), "presence") {
		// RFC 6121 §4.2.2: the server sends the initial presence back to
		// the resource; take it, so that tests see what comes after.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		self := c.JID().String()
		if _, err := c.RecvMatch(ctx, func(e *xmlstream.Element) bool {
			return e.Name.Local == "presence" && e.Attr("from") == self && e.Attr("type") == ""
		}); err != nil {
			t.Fatalf("xmpptest: %s: waiting for its own presence: %v", self, err)
		}
	}
	return c
}

// Dial logs in with cfg and fails the test on error.
func (s *Server) Dial(t testing.TB, cfg client.Config) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, cfg)
	if err != nil {
		t.Fatalf("xmpptest: dial %s: %v", cfg.Username, err)
	}
	t.Cleanup(func() { c.Kill() })
	return c
}

// UniqueName returns a fresh user name with the given prefix.
func UniqueName(prefix string) string {
	return fmt.Sprintf("%s%d", prefix, userSeq.Add(1))
}
