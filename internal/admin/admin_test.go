package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/admin"
	"github.com/parleyim/parley/internal/xmpptest"
)

const testToken = "0123456789abcdef-admin-token"

// socketPath returns a socket path in a fresh directory short enough for
// sun_path (t.TempDir can be too long); the directory goes when the test
// ends, after the server has stopped.
func socketPath(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pa")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "s")
}

// start runs a server with the admin API on a fresh socket; extra is
// appended to the YAML configuration.
func start(t *testing.T, extra string, log *slog.Logger) (*xmpptest.Server, *admin.Client) {
	t.Helper()
	sock := socketPath(t)
	srv := xmpptest.Start(t, "admin:\n  socket: "+sock+"\n"+extra)
	if log == nil {
		log = xmpptest.Logger(t)
	}
	if err := admin.Start(t.Context(), srv.App, log); err != nil {
		t.Fatalf("admin.Start: %v", err)
	}
	return srv, admin.NewClient(sock)
}

func wantStatus(t *testing.T, what string, err error, status int) {
	t.Helper()
	var ae *admin.Error
	if !errors.As(err, &ae) {
		t.Fatalf("%s: got error %v, want an *admin.Error with status %d", what, err, status)
	}
	if ae.Status != status {
		t.Fatalf("%s: got status %d (%q), want %d", what, ae.Status, ae.Message, status)
	}
}

func TestSocketIsPrivate(t *testing.T) {
	_, c := start(t, "", nil)
	fi, err := os.Lstat(c.Socket())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode = %v, want a socket with 0600", fi.Mode())
	}
	// Nothing but the socket is left next to it (the private directory it
	// was bound in is gone).
	ents, err := os.ReadDir(filepath.Dir(c.Socket()))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		t.Errorf("socket directory holds %d entries, want only the socket", len(ents))
	}
}

func TestAccountsAndErrors(t *testing.T) {
	srv, c := start(t, "", nil)
	ctx := t.Context()

	j, err := c.Register(ctx, "Alice@LocalHost", "s3cret pass")
	if err != nil || j != "alice@localhost" {
		t.Fatalf("Register = %q, %v; want alice@localhost", j, err)
	}
	if ok, _ := srv.App.Accounts.Exists(ctx, "localhost", "alice"); !ok {
		t.Fatal("account not in storage after Register")
	}

	cases := []struct {
		name   string
		call   func() error
		status int
	}{
		{"register existing", func() error { _, err := c.Register(ctx, "alice@localhost", "x"); return err }, http.StatusConflict},
		{"register without user", func() error { _, err := c.Register(ctx, "localhost", "x"); return err }, http.StatusBadRequest},
		{"register full JID", func() error { _, err := c.Register(ctx, "bob@localhost/res", "x"); return err }, http.StatusBadRequest},
		{"register malformed", func() error { _, err := c.Register(ctx, "a b@localhost", "x"); return err }, http.StatusBadRequest},
		{"register empty password", func() error { _, err := c.Register(ctx, "bob@localhost", ""); return err }, http.StatusBadRequest},
		{"register long password", func() error { _, err := c.Register(ctx, "bob@localhost", strings.Repeat("x", 2000)); return err }, http.StatusBadRequest},
		{"register unknown host", func() error { _, err := c.Register(ctx, "bob@elsewhere.example", "x"); return err }, http.StatusNotFound},
		{"unregister unknown", func() error { _, err := c.Unregister(ctx, "nobody@localhost"); return err }, http.StatusNotFound},
		{"unregister not an account", func() error { _, err := c.Unregister(ctx, ".."); return err }, http.StatusBadRequest},
		{"passwd unknown", func() error { _, err := c.SetPassword(ctx, "nobody@localhost", "x"); return err }, http.StatusNotFound},
		{"passwd empty", func() error { _, err := c.SetPassword(ctx, "alice@localhost", ""); return err }, http.StatusBadRequest},
		{"users of unknown host", func() error { _, err := c.Users(ctx, "elsewhere.example"); return err }, http.StatusNotFound},
		{"kick without session", func() error { _, err := c.Kick(ctx, "alice@localhost", ""); return err }, http.StatusNotFound},
		{"kick a domain", func() error { _, err := c.Kick(ctx, "localhost", ""); return err }, http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { wantStatus(t, tc.name, tc.call(), tc.status) })
	}
	// Nothing above changed the one account.
	users, err := c.Users(ctx, "")
	if err != nil || len(users) != 1 || users[0] != (admin.User{User: "alice", Host: "localhost"}) {
		t.Fatalf("Users = %v, %v; want only alice@localhost", users, err)
	}

	if j, err := c.SetPassword(ctx, "alice@localhost", "n3w pass"); err != nil || j != "alice@localhost" {
		t.Fatalf("SetPassword = %q, %v", j, err)
	}
	if j, err := c.Unregister(ctx, "alice@localhost"); err != nil || j != "alice@localhost" {
		t.Fatalf("Unregister = %q, %v", j, err)
	}
	if users, err := c.Users(ctx, "localhost"); err != nil || len(users) != 0 {
		t.Fatalf("Users after Unregister = %v, %v; want none", users, err)
	}
}

// rawRequest sends a request over the admin socket without the Client.
func rawRequest(t *testing.T, sock, method, path, body string) (*http.Response, string) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(t.Context(), method, "http://parley"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestMalformedRequests(t *testing.T) {
	_, c := start(t, "", nil)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
	}{
		{"not JSON", "POST", "/v1/users", "jid=a@localhost", http.StatusBadRequest},
		{"unknown field", "POST", "/v1/users", `{"jid":"a@localhost","password":"x","admin":true}`, http.StatusBadRequest},
		{"two values", "POST", "/v1/users", `{"jid":"a@localhost","password":"x"}{}`, http.StatusBadRequest},
		{"huge body", "POST", "/v1/users", `{"jid":"` + strings.Repeat("a", 100<<10) + `"}`, http.StatusRequestEntityTooLarge},
		{"unknown endpoint", "GET", "/v1/nothing", "", http.StatusNotFound},
		{"wrong method", "DELETE", "/v1/status", "", http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := rawRequest(t, c.Socket(), tc.method, tc.path, tc.body)
			if resp.StatusCode != tc.status {
				t.Errorf("status = %d, want %d (body %s)", resp.StatusCode, tc.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			var e admin.Error
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Message == "" {
				t.Errorf("body %q is not {\"error\": ...}", body)
			}
		})
	}
}

func TestStatus(t *testing.T) {
	srv, c := start(t, "hosts: [localhost, example.net]\n", nil)
	ctx := t.Context()
	for _, u := range []string{"a@localhost", "b@localhost", "c@example.net"} {
		if _, err := c.Register(ctx, u, "pass word"); err != nil {
			t.Fatal(err)
		}
	}
	srv.User(t, "d", "phone") // a fourth account, on localhost, logged in
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []admin.HostStatus{{Host: "localhost", Users: 3, Sessions: 1}, {Host: "example.net", Users: 1}}
	if len(st.Hosts) != 2 || st.Hosts[0] != want[0] || st.Hosts[1] != want[1] {
		t.Errorf("Hosts = %+v, want %+v", st.Hosts, want)
	}
	if st.Sessions != 1 || st.Version == "" || len(st.Modules) == 0 || st.Started.IsZero() || st.Started.After(time.Now()) {
		t.Errorf("Status = %+v", st)
	}
}

func TestToken(t *testing.T) {
	srv, _ := start(t, "  http: \"127.0.0.1:0\"\n  token: "+testToken+"\n", nil)
	addr := srv.App.Addr(admin.ListenerHTTP)
	if addr == nil {
		t.Fatal("no admin_http listener")
	}
	for _, tc := range []struct {
		name, auth string
		status     int
	}{
		{"no header", "", http.StatusUnauthorized},
		{"wrong token", "Bearer wrong-token-0123456789", http.StatusUnauthorized},
		{"token prefix", "Bearer " + testToken[:16], http.StatusUnauthorized},
		{"token without scheme", testToken, http.StatusUnauthorized},
		{"basic scheme", "Basic " + testToken, http.StatusUnauthorized},
		{"right token", "Bearer " + testToken, http.StatusOK},
		{"scheme in lower case", "bearer " + testToken, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), "GET", "http://"+addr.String()+"/v1/status", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d (%v)", resp.StatusCode, tc.status, body)
			}
			if tc.status == http.StatusUnauthorized {
				if resp.Header.Get("WWW-Authenticate") == "" || body["error"] == nil {
					t.Errorf("401 without WWW-Authenticate or error: %v %v", resp.Header, body)
				}
			} else if body["version"] == nil {
				t.Errorf("status body %v has no version", body)
			}
		})
	}
}

func TestRefusesNonLoopbackHTTP(t *testing.T) {
	sock := socketPath(t)
	srv := xmpptest.Start(t, "admin:\n  socket: "+sock+"\n")
	// What config validation forbids, as a hand-made config could have it.
	srv.Config.Admin.HTTP, srv.Config.Admin.Token = "0.0.0.0:0", testToken
	err := admin.Start(t.Context(), srv.App, xmpptest.Logger(t))
	if err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Fatalf("admin.Start = %v, want a loopback error", err)
	}
	if _, err := os.Lstat(sock); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket left behind after the failed start: %v", err)
	}
	if srv.App.Addr(admin.ListenerSocket) != nil {
		t.Error("failed start registered a listener")
	}
	srv.Config.Admin.HTTP, srv.Config.Admin.Token = "127.0.0.1:0", "short"
	if err := admin.Start(t.Context(), srv.App, xmpptest.Logger(t)); err == nil || !strings.Contains(err.Error(), "admin.token") {
		t.Fatalf("admin.Start with a short token = %v, want an admin.token error", err)
	}
}

func TestSocketFile(t *testing.T) {
	t.Run("stale socket is replaced", func(t *testing.T) {
		sock := socketPath(t)
		ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		ln.SetUnlinkOnClose(false)
		ln.Close() // as a crashed server leaves it
		srv := xmpptest.Start(t, "admin:\n  socket: "+sock+"\n")
		if err := admin.Start(t.Context(), srv.App, xmpptest.Logger(t)); err != nil {
			t.Fatalf("admin.Start over a stale socket: %v", err)
		}
		if _, err := admin.NewClient(sock).Status(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("live socket is kept", func(t *testing.T) {
		first, c := start(t, "", nil)
		second := xmpptest.Start(t, "admin:\n  socket: "+c.Socket()+"\n")
		err := admin.Start(t.Context(), second.App, xmpptest.Logger(t))
		if err == nil || !strings.Contains(err.Error(), "another parley is running on "+c.Socket()) {
			t.Fatalf("second admin.Start = %v, want \"another parley is running on %s\"", err, c.Socket())
		}
		// The first server still answers on its socket.
		if _, err := c.Status(t.Context()); err != nil {
			t.Fatalf("first server after the refused start: %v", err)
		}
		_ = first
	})
	t.Run("other file is not touched", func(t *testing.T) {
		sock := socketPath(t)
		if err := os.WriteFile(sock, []byte("precious"), 0o600); err != nil {
			t.Fatal(err)
		}
		srv := xmpptest.Start(t, "admin:\n  socket: "+sock+"\n")
		err := admin.Start(t.Context(), srv.App, xmpptest.Logger(t))
		if err == nil || !strings.Contains(err.Error(), "not a socket") {
			t.Fatalf("admin.Start = %v, want a not-a-socket error", err)
		}
		if b, _ := os.ReadFile(sock); string(b) != "precious" {
			t.Error("the file at admin.socket was changed")
		}
	})
	t.Run("stop removes the socket", func(t *testing.T) {
		srv, c := start(t, "", nil)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.App.Stop(ctx)
		if _, err := os.Lstat(c.Socket()); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("socket still there after Stop: %v", err)
		}
		if _, err := c.Status(t.Context()); !errors.Is(err, admin.ErrNoServer) {
			t.Errorf("Status after Stop = %v, want ErrNoServer", err)
		}
	})
}

// lockedBuffer collects log output from the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestSecretsNotLogged(t *testing.T) {
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, c := start(t, "  http: \"127.0.0.1:0\"\n  token: "+testToken+"\n", log)
	ctx := t.Context()
	const pass, pass2 = "Tr0ub4dor-first", "Tr0ub4dor-second"
	if _, err := c.Register(ctx, "carol@localhost", pass); err != nil {
		t.Fatal(err)
	}
	_, err := c.Register(ctx, "carol@localhost", pass)
	wantStatus(t, "register again", err, http.StatusConflict)
	if _, err := c.SetPassword(ctx, "carol@localhost", pass2); err != nil {
		t.Fatal(err)
	}
	// A refused request on the HTTP listener, with the token nearly right.
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+srv.App.Addr(admin.ListenerHTTP).String()+"/v1/status", nil)
	req.Header.Set("Authorization", "Bearer "+testToken+"x")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	out := logs.String()
	if !strings.Contains(out, "carol@localhost") {
		t.Fatalf("the changes were not logged:\n%s", out)
	}
	for _, secret := range []string{pass, pass2, testToken} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains the secret %q:\n%s", secret, out)
		}
	}
}
