package main

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/client"
	"github.com/parleyim/parley/internal/xmpptest"
)

// startServer runs an in-process server with the admin API, as serve
// does, on a socket in a fresh short directory (t.TempDir can be too long
// for a unix socket path).
func startServer(t *testing.T, extraYAML string) (*xmpptest.Server, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "pc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "s")
	srv := xmpptest.Start(t, "admin:\n  socket: "+sock+"\n"+extraYAML)
	if err := startAdmin(t.Context(), srv.App, xmpptest.Logger(t)); err != nil {
		t.Fatalf("startAdmin: %v", err)
	}
	return srv, sock
}

type ctlResult struct {
	code           int
	stdout, stderr string
}

// runCtlT runs parley ctl with stdin as standard input.
func runCtlT(t *testing.T, stdin string, args ...string) ctlResult {
	t.Helper()
	var out, errOut strings.Builder
	code := runCtl(args, strings.NewReader(stdin), &out, &errOut)
	return ctlResult{code, out.String(), errOut.String()}
}

// ok runs parley ctl --socket sock ARGS and fails the test unless it
// succeeds; it returns the standard output.
func ok(t *testing.T, sock string, args ...string) string {
	t.Helper()
	r := runCtlT(t, "", append([]string{"--socket", sock}, args...)...)
	if r.code != 0 {
		t.Fatalf("parley ctl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// fails runs parley ctl --socket sock ARGS and checks the exit status and
// that the error output contains want.
func fails(t *testing.T, sock string, code int, want string, args ...string) {
	t.Helper()
	r := runCtlT(t, "", append([]string{"--socket", sock}, args...)...)
	if r.code != code || !strings.Contains(r.stderr, want) {
		t.Fatalf("parley ctl %s: exit %d, stderr %q; want exit %d and %q", strings.Join(args, " "), r.code, r.stderr, code, want)
	}
}

// tableRows returns the rows of a table printed by ctl whose first column
// is key.
func tableRows(out, key string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == key {
			rows = append(rows, f)
		}
	}
	return rows
}

// login logs user in with password over STARTTLS and SCRAM and returns
// the connection and the client's local address as the server sees it.
func login(t *testing.T, srv *xmpptest.Server, user, password, resource string) (*client.Conn, string, error) {
	t.Helper()
	cfg := srv.ClientConfig(user)
	cfg.Password, cfg.Resource = password, resource
	var local string
	cfg.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err == nil {
			local = c.LocalAddr().String()
		}
		return c, err
	}
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, cfg)
	if err != nil {
		return nil, "", err
	}
	t.Cleanup(func() { c.Kill() })
	return c, local, nil
}

func TestCtlAccountLifecycle(t *testing.T) {
	srv, sock := startServer(t, "")

	if out := ok(t, sock, "register", "Bob@LocalHost", "first-pass"); out != "registered bob@localhost\n" {
		t.Errorf("register output %q", out)
	}
	fails(t, sock, 1, "parley ctl: bob@localhost is already registered", "register", "bob@localhost", "other")

	out := ok(t, sock, "users")
	if rows := tableRows(out, "bob"); len(rows) != 1 || rows[0][1] != "localhost" {
		t.Fatalf("users does not list bob@localhost:\n%s", out)
	}
	if !strings.HasPrefix(out, "USER") {
		t.Errorf("users output has no header:\n%s", out)
	}
	if out := ok(t, sock, "users", "localhost"); len(tableRows(out, "bob")) != 1 {
		t.Errorf("users localhost does not list bob:\n%s", out)
	}
	fails(t, sock, 1, "elsewhere.example is not a host of this server", "users", "elsewhere.example")

	// passwd with the password on standard input, as from a pipe; the
	// spaces are part of it.
	r := runCtlT(t, "second pass \n", "--socket", sock, "passwd", "bob@localhost")
	if r.code != 0 || r.stdout != "changed the password of bob@localhost\n" {
		t.Fatalf("passwd from stdin: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	var se *client.SASLError
	if _, _, err := login(t, srv, "bob", "first-pass", ""); !errors.As(err, &se) || se.Condition != "not-authorized" {
		t.Fatalf("login with the old password: %v, want a not-authorized SASL failure", err)
	}
	conn, local, err := login(t, srv, "bob", "second pass ", "phone")
	if err != nil {
		t.Fatalf("login with the new password: %v", err)
	}

	out = ok(t, sock, "sessions")
	rows := tableRows(out, "bob@localhost/phone")
	if len(rows) != 1 {
		t.Fatalf("sessions does not show bob@localhost/phone:\n%s", out)
	}
	if rows[0][1] != local || rows[0][2] != "yes" {
		t.Errorf("sessions row %q, want address %s and TLS yes:\n%s", rows[0], local, out)
	}

	out = ok(t, sock, "status")
	if !strings.Contains(out, "sessions: 1\n") {
		t.Errorf("status does not count the session:\n%s", out)
	}
	if rows := tableRows(out, "localhost"); len(rows) != 1 || rows[0][1] != "1" || rows[0][2] != "1" {
		t.Errorf("status host row %v, want localhost 1 user 1 session:\n%s", rows, out)
	}

	if out := ok(t, sock, "kick", "bob@localhost/phone", "account", "under", "review"); out != "kicked bob@localhost/phone (1 session closed)\n" {
		t.Errorf("kick output %q", out)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	for {
		_, err := conn.Recv(ctx)
		if err == nil {
			continue // presence and the like sent before the kick
		}
		var se *client.StreamError
		if !errors.As(err, &se) || se.Condition != "policy-violation" || se.Text != "account under review" {
			t.Fatalf("kicked client got %v, want stream error policy-violation \"account under review\"", err)
		}
		break
	}
	if out := ok(t, sock, "sessions"); strings.Contains(out, "bob@localhost") {
		t.Errorf("sessions still lists bob after the kick:\n%s", out)
	}
	fails(t, sock, 1, "bob@localhost/phone has no session", "kick", "bob@localhost/phone")

	if out := ok(t, sock, "unregister", "bob@localhost"); out != "unregistered bob@localhost\n" {
		t.Errorf("unregister output %q", out)
	}
	if out := ok(t, sock, "users"); strings.Contains(out, "bob") {
		t.Errorf("users still lists bob after unregister:\n%s", out)
	}
	fails(t, sock, 1, "bob@localhost is not registered", "unregister", "bob@localhost")
	fails(t, sock, 1, "bob@localhost is not registered", "passwd", "bob@localhost", "x")
	if _, _, err := login(t, srv, "bob", "second pass ", ""); err == nil {
		t.Error("login still works after unregister")
	}
}

func TestCtlKickBareJID(t *testing.T) {
	srv, sock := startServer(t, "")
	ok(t, sock, "register", "carol@localhost", "pw-carol")
	var conns []*client.Conn
	for _, res := range []string{"a", "b"} {
		c, _, err := login(t, srv, "carol", "pw-carol", res)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	if out := ok(t, sock, "kick", "carol@localhost"); out != "kicked carol@localhost (2 sessions closed)\n" {
		t.Errorf("kick output %q", out)
	}
	for _, c := range conns {
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("a resource of carol is still connected after kicking the bare JID")
		}
	}
	if out := ok(t, sock, "sessions"); out != "no sessions\n" {
		t.Errorf("sessions after kick: %q", out)
	}
}

func TestCtlRegisterPasswordFromStdin(t *testing.T) {
	srv, sock := startServer(t, "")
	r := runCtlT(t, "pw from stdin\r\n", "--socket", sock, "register", "dave@localhost")
	if r.code != 0 {
		t.Fatalf("register from stdin: exit %d, %s", r.code, r.stderr)
	}
	if _, _, err := login(t, srv, "dave", "pw from stdin", ""); err != nil {
		t.Fatalf("login with the password read from stdin: %v", err)
	}
	r = runCtlT(t, "", "--socket", sock, "register", "erin@localhost")
	if r.code != 2 || !strings.Contains(r.stderr, "no password") {
		t.Errorf("register with empty stdin: exit %d, stderr %q; want 2 and a no-password message", r.code, r.stderr)
	}
}

func TestCtlStatus(t *testing.T) {
	_, sock := startServer(t, "hosts: [localhost, example.net]\n")
	ok(t, sock, "register", "a@localhost", "pw-a")
	ok(t, sock, "register", "b@example.net", "pw-b")
	ok(t, sock, "register", "c@example.net", "pw-c")
	out := ok(t, sock, "status")
	if !strings.HasPrefix(out, "parley ") || !strings.Contains(out, ", up ") || !strings.Contains(out, "sessions: 0\n") {
		t.Errorf("status output:\n%s", out)
	}
	if !strings.Contains(out, "modules:  ") || !strings.Contains(out, "disco") {
		t.Errorf("status does not list the modules:\n%s", out)
	}
	for host, users := range map[string]string{"localhost": "1", "example.net": "2"} {
		if rows := tableRows(out, host); len(rows) != 1 || rows[0][1] != users || rows[0][2] != "0" {
			t.Errorf("status row of %s: %v, want %s users and 0 sessions:\n%s", host, rows, users, out)
		}
	}
	if out := ok(t, sock, "users", "example.net"); len(tableRows(out, "a")) != 0 || len(tableRows(out, "b")) != 1 || len(tableRows(out, "c")) != 1 {
		t.Errorf("users example.net:\n%s", out)
	}
}

func TestCtlBadInput(t *testing.T) {
	_, sock := startServer(t, "")
	fails(t, sock, 1, "want an account like user@host", "register", "nobody", "pw")
	fails(t, sock, 1, "want an account like user@host", "unregister", "localhost")
	fails(t, sock, 1, "want an account like user@host", "passwd", "x@localhost/res", "pw")
	fails(t, sock, 1, "is not a host of this server", "register", "x@elsewhere.example", "pw")
	fails(t, sock, 1, "invalid password", "register", "x@localhost", strings.Repeat("p", 1025))
	fails(t, sock, 1, "want a JID like user@host", "kick", "localhost")
}

func TestCtlUsage(t *testing.T) {
	r := runCtlT(t, "", "--help")
	if r.code != 0 {
		t.Fatalf("--help: exit %d", r.code)
	}
	for _, c := range []string{"status", "users [HOST]", "register USER@HOST [PASSWORD]", "passwd USER@HOST [PASSWORD]", "unregister USER@HOST", "sessions", "kick JID [REASON]",
		"roster list USER@HOST", "roster add USER@HOST CONTACT [OPTIONS]", "roster remove USER@HOST CONTACT", "send USER@HOST[/RESOURCE] TEXT [OPTIONS]", "announce TEXT [OPTIONS]",
		"Options of roster add:\n  --name NAME", "--group GROUP", "Options of send and announce:\n  --headline", "--subject TEXT", "--socket PATH", "--config FILE"} {
		if !strings.Contains(r.stdout, c) {
			t.Errorf("--help does not mention %q:\n%s", c, r.stdout)
		}
	}
	// Through the top-level dispatcher, as the binary runs it.
	var out, errOut strings.Builder
	if code := run([]string{"ctl", "help"}, &out, &errOut); code != 0 || out.String() != r.stdout {
		t.Errorf("parley ctl help: exit %d, output differs from --help", code)
	}
	if r := runCtlT(t, "", "kick", "--help"); r.code != 0 || !strings.Contains(r.stdout, "Usage: parley ctl kick JID [REASON]") {
		t.Errorf("kick --help: exit %d, %q", r.code, r.stdout)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"send", "--help"}, "Usage: parley ctl send USER@HOST[/RESOURCE] TEXT [OPTIONS]\n\nSend a message from the server to an account or one of its sessions.\n\nOptions:\n  --headline"},
		{[]string{"roster", "add", "a@localhost", "b@localhost", "-h"}, "Usage: parley ctl roster add USER@HOST CONTACT [OPTIONS]"},
		{[]string{"roster", "list", "--help"}, "Usage: parley ctl roster list USER@HOST\n\nShow the roster of an account.\n"},
		{[]string{"roster", "--help"}, "Usage:\n  parley ctl roster list USER@HOST"},
	} {
		if r := runCtlT(t, "", tc.args...); r.code != 0 || !strings.Contains(r.stdout, tc.want) {
			t.Errorf("%s: exit %d, %q; want exit 0 and %q", strings.Join(tc.args, " "), r.code, r.stdout, tc.want)
		}
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "no command given"},
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown flag", []string{"--sock", "x", "status"}, "flag provided but not defined"},
		{"missing argument", []string{"register"}, "Usage: parley ctl register USER@HOST [PASSWORD]"},
		{"extra argument", []string{"unregister", "a@localhost", "b@localhost"}, "wrong number of arguments"},
		{"argument to status", []string{"status", "now"}, "wrong number of arguments"},
		{"roster without subcommand", []string{"roster"}, "parley ctl: roster needs a subcommand\n\nUsage:\n  parley ctl roster list USER@HOST"},
		{"unknown subcommand", []string{"roster", "show", "a@localhost"}, `unknown command "roster show"`},
		{"missing contact", []string{"roster", "add", "a@localhost", "--name", "A"}, "Usage: parley ctl roster add USER@HOST CONTACT [OPTIONS]"},
		{"option without value", []string{"roster", "add", "a@localhost", "b@localhost", "--group"}, "parley ctl roster add: flag needs an argument: -group"},
		{"unknown option", []string{"send", "--bogus", "a@localhost", "x"}, "parley ctl send: flag provided but not defined: -bogus (an argument that starts with a dash goes after --)"},
		{"option of another command", []string{"announce", "--name", "x", "hello"}, "flag provided but not defined: -name"},
		{"missing text", []string{"send", "a@localhost"}, "wrong number of arguments"},
		{"missing text after options", []string{"announce", "--headline"}, "Usage: parley ctl announce TEXT [OPTIONS]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCtlT(t, "", tc.args...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", r.code, r.stderr, tc.want)
			}
		})
	}
}

func TestCtlNoServer(t *testing.T) {
	dir, err := os.MkdirTemp("", "pc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })

	missing := filepath.Join(dir, "missing.sock")
	fails(t, missing, 1, "parley ctl: no server answering on "+missing+" (is `parley serve` running?", "status")

	// A socket file left by a server that died.
	stale := filepath.Join(dir, "stale.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	fails(t, stale, 1, "parley ctl: no server answering on "+stale, "users")

	// A server that stopped.
	srv, sock := startServer(t, "")
	ok(t, sock, "status")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.App.Stop(ctx)
	fails(t, sock, 1, "no server answering on "+sock, "sessions")
}

func TestCtlSocketFromConfig(t *testing.T) {
	srv, sock := startServer(t, "")
	cfgFile := filepath.Join(t.TempDir(), "parley.yaml")
	if err := os.WriteFile(cfgFile, []byte("hosts: [localhost]\nadmin:\n  socket: "+sock+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCtlT(t, "", "--config", cfgFile, "register", "frank@localhost", "pw-frank")
	if r.code != 0 {
		t.Fatalf("register with --config: exit %d, %s", r.code, r.stderr)
	}
	if ok, _ := srv.App.Accounts.Exists(t.Context(), "localhost", "frank"); !ok {
		t.Error("the account was not created on the server of --config")
	}
	// --socket wins over --config.
	r = runCtlT(t, "", "--config", cfgFile, "--socket", filepath.Join(filepath.Dir(sock), "other"), "status")
	if r.code != 1 || !strings.Contains(r.stderr, "no server answering on") {
		t.Errorf("--socket over --config: exit %d, %q", r.code, r.stderr)
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("admin:\n  sockett: /x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runCtlT(t, "", "--config", bad, "status")
	if r.code != 1 || !strings.Contains(r.stderr, "bad.yaml:2") {
		t.Errorf("bad config: exit %d, stderr %q; want exit 1 naming bad.yaml:2", r.code, r.stderr)
	}
	r = runCtlT(t, "", "--config", filepath.Join(t.TempDir(), "none.yaml"), "status")
	if r.code != 1 || !strings.Contains(r.stderr, "none.yaml") {
		t.Errorf("missing config: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestCtlDefaultSocket(t *testing.T) {
	t.Chdir(t.TempDir())
	r := runCtlT(t, "", "status")
	want := "no server answering on " + filepath.Join("data", "parley.sock")
	if r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("exit %d, stderr %q; want exit 1 and %q", r.code, r.stderr, want)
	}
}
