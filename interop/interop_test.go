// Package interop checks Parley against XMPP clients that nobody here
// wrote: Debian's python3-slixmpp (run by /usr/bin/python3) and
// go-sendxmpp. Each test runs the real `parley serve` binary, built once
// by TestMain, with a fresh data_dir and loopback ports read back from its
// log, drives the clients against it, and stops it with SIGTERM, expecting
// exit status 0.
//
// The clients trust the server's generated self-signed certificate for
// the name localhost; nothing skips certificate verification.
//
// A missing client skips its test with the reason, unless
// PARLEY_TEST_REQUIRE contains "interop" (as .ci/run sets it), which makes
// it a failure.
package interop

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// python is Debian's interpreter, which python3-slixmpp installs into.
const python = "/usr/bin/python3"

func needSlixmpp(t *testing.T) {
	t.Helper()
	out, err := exec.Command(python, "-I", "-c", "import slixmpp").CombinedOutput()
	if err != nil {
		err = errors.New(strings.TrimSpace(err.Error() + ": " + string(out)))
	}
	need(t, python+" with slixmpp", err)
}

func needGoSendxmpp(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go-sendxmpp")
	need(t, "go-sendxmpp", err)
	return p
}

// slixClient is what testdata/slix.py reports about one client.
type slixClient struct {
	JID              string `json:"jid"`
	Registered       bool   `json:"registered"`
	Mechanism        string `json:"mechanism"`
	FailedMechanisms []struct {
		Mechanism string `json:"mechanism"`
		Condition string `json:"condition"`
		Text      string `json:"text"`
	} `json:"failed_mechanisms"`
	StartTLS   bool      `json:"starttls"`
	TLS        bool      `json:"tls"`
	TLSVersion string    `json:"tls_version"`
	Bound      string    `json:"bound"`
	Received   []message `json:"received"`
	Error      string    `json:"error"`
}

type message struct {
	From string `json:"from"`
	To   string `json:"to"`
	Type string `json:"type"`
	Body string `json:"body"`
}

type slixResult struct {
	OK      bool         `json:"ok"`
	Error   string       `json:"error"`
	Clients []slixClient `json:"clients"`
}

// slixRun is one run of testdata/slix.py.
type slixRun struct {
	lines  chan string // stdout, one JSON object a line; closed at exit
	stderr lockedBuffer
	done   chan struct{}
	err    error
}

// runSlix starts testdata/slix.py with the command and arguments against
// s's STARTTLS listener. The script bounds itself to limit; the process is
// killed a little after that. Its debug log (every XML element sent and
// received) is printed if the test fails.
func runSlix(t *testing.T, s *server, limit time.Duration, command string, args ...string) *slixRun {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("testdata", "slix.py"))
	if err != nil {
		t.Fatal(err)
	}
	argv := append([]string{"-I", script, command,
		"--host", "127.0.0.1", "--port", port(s.C2S), "--domain", "localhost",
		"--cafile", s.Cert, "--timeout", strconv.Itoa(int(limit.Seconds()))}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), limit+15*time.Second)
	cmd := exec.CommandContext(ctx, python, argv...)
	cmd.WaitDelay = 5 * time.Second
	r := &slixRun{lines: make(chan string, 16), done: make(chan struct{})}
	cmd.Stderr = &r.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting slixmpp: %v", err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			r.lines <- sc.Text()
		}
		close(r.lines)
		r.err = cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		if t.Failed() {
			cancel() // nobody waits for what it would still do
		}
		for range r.lines {
		}
		<-r.done
		cancel()
		if t.Failed() {
			t.Logf("slixmpp %s log:\n%s", command, r.stderr.String())
		}
	})
	return r
}

// next returns the next line the script printed, or false when it exited
// first.
func (r *slixRun) next(t *testing.T, d time.Duration) (string, bool) {
	t.Helper()
	select {
	case l, ok := <-r.lines:
		return l, ok
	case <-time.After(d):
		t.Fatalf("slixmpp printed nothing within %v", d)
		return "", false
	}
}

// result waits for the script to end and returns its final report.
func (r *slixRun) result(t *testing.T) slixResult {
	t.Helper()
	var last string
	for l := range r.lines {
		last = l
	}
	<-r.done
	var res slixResult
	if err := json.Unmarshal([]byte(last), &res); err != nil {
		t.Fatalf("slixmpp exited (%v) without a report: %q: %v", r.err, last, err)
	}
	if res.OK != (r.err == nil) {
		t.Errorf("slixmpp reported ok=%v but exited with %v", res.OK, r.err)
	}
	if !res.OK {
		t.Errorf("slixmpp scenario failed: %s", res.Error)
	}
	return res
}

// checkLogin checks that a slixmpp client registered its account in band
// and logged in with SCRAM over STARTTLS, at the first attempt.
func checkLogin(t *testing.T, c slixClient) {
	t.Helper()
	t.Logf("%s: %s over %s, bound %s", c.JID, c.Mechanism, c.TLSVersion, c.Bound)
	if c.Error != "" {
		t.Errorf("%s: %s", c.JID, c.Error)
	}
	if !c.Registered {
		t.Errorf("%s: not registered in band (XEP-0077)", c.JID)
	}
	if !strings.HasPrefix(c.Mechanism, "SCRAM-SHA-") {
		t.Errorf("%s: logged in with mechanism %q, want SCRAM-SHA-*", c.JID, c.Mechanism)
	}
	for _, f := range c.FailedMechanisms {
		t.Errorf("%s: the server refused %s: <%s/> %s", c.JID, f.Mechanism, f.Condition, f.Text)
	}
	if !c.StartTLS {
		t.Errorf("%s: STARTTLS not negotiated", c.JID)
	}
	switch {
	case c.Bound == "":
		t.Errorf("%s: no session bound", c.JID)
	case !strings.HasPrefix(c.Bound, c.JID+"/"):
		t.Errorf("%s: bound %q, want a full JID of the account", c.JID, c.Bound)
	case !c.TLS:
		t.Errorf("%s: session bound on an unencrypted stream", c.JID)
	}
}

// wantOne checks that who received exactly one message, and that it
// matches want. A want.From ending in "/" matches any resource.
func wantOne(t *testing.T, who string, got []message, want message) {
	t.Helper()
	if len(got) != 1 {
		t.Errorf("%s received %d messages %+v, want 1: %+v", who, len(got), got, want)
		return
	}
	m := got[0]
	fromOK := m.From == want.From || strings.HasSuffix(want.From, "/") && strings.HasPrefix(m.From, want.From)
	if !fromOK || m.To != want.To || m.Type != want.Type || m.Body != want.Body {
		t.Errorf("%s received %+v, want %+v", who, m, want)
	}
}

// TestSlixmppChat: alice and bob register in band, log in with SCRAM over
// STARTTLS, and exchange messages both ways (to a bare JID, and the reply
// to the sender's full JID).
func TestSlixmppChat(t *testing.T) {
	t.Parallel()
	slixmppChat(t)
}

// TestSlixmppChatAfterIdle: the same, with both clients silent for 3 s
// before each message, so that the server has parked both sessions
// (internal/session/c2s/park.go) and each message wakes one.
func TestSlixmppChatAfterIdle(t *testing.T) {
	t.Parallel()
	slixmppChat(t, "--idle", "3")
}

func slixmppChat(t *testing.T, args ...string) {
	needSlixmpp(t)
	s := startServer(t)
	token := rand.Text()

	res := runSlix(t, s, 45*time.Second, "chat", append([]string{"--token", token}, args...)...).result(t)
	if len(res.Clients) != 2 {
		t.Fatalf("slixmpp reported %d clients, want alice and bob", len(res.Clients))
	}
	alice, bob := res.Clients[0], res.Clients[1]
	checkLogin(t, alice)
	checkLogin(t, bob)
	wantOne(t, "bob", bob.Received, message{From: alice.Bound, To: "bob@localhost", Type: "chat", Body: token + " alice to bob"})
	wantOne(t, "alice", alice.Received, message{From: bob.Bound, To: alice.Bound, Type: "chat", Body: token + " bob to alice"})
}

// TestGoSendxmpp: go-sendxmpp sends a message that an online slixmpp
// client receives, over STARTTLS and over direct TLS (XEP-0368). slixmpp
// registers both accounts in band first.
func TestGoSendxmpp(t *testing.T) {
	t.Parallel()
	needSlixmpp(t)
	bin := needGoSendxmpp(t)
	s := startServer(t)

	for _, tc := range []struct {
		name  string
		addr  string
		flags []string
		// proceed: the client's debug output must show the server's
		// STARTTLS <proceed/>.
		proceed bool
	}{
		{name: "starttls", addr: s.C2S, proceed: true},
		{name: "direct-tls", addr: s.C2STLS, flags: []string{"--tls"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sender, receiver := "sender-"+tc.name+"@localhost", "receiver-"+tc.name+"@localhost"
			r := runSlix(t, s, 45*time.Second, "receive",
				"--sender", sender, "--sender-password", "sender-secret",
				"--receiver", receiver, "--receiver-password", "receiver-secret")
			line, ok := r.next(t, 30*time.Second)
			var ready struct{ Ready string }
			if !ok {
				r.result(t) // reports why it exited
				t.FailNow()
			}
			if json.Unmarshal([]byte(line), &ready) != nil || ready.Ready == "" {
				t.Fatalf("slixmpp receiver not ready: %q", line)
			}

			body := "go-sendxmpp " + tc.name + " " + rand.Text()
			// -j names localhost, not 127.0.0.1, so that the certificate
			// is verified for the name it was issued to; SSL_CERT_FILE
			// makes Go's TLS trust the generated certificate.
			args := append(append([]string{}, tc.flags...), "--debug",
				"-u", sender, "-p", "sender-secret",
				"-j", "localhost:"+port(tc.addr), "--timeout", "10", receiver)
			cmd := exec.CommandContext(runCtx(t, 30*time.Second), bin, args...)
			cmd.Stdin = strings.NewReader(body + "\n")
			cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "SSL_CERT_FILE="+s.Cert)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("go-sendxmpp %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			if tc.proceed && !(bytes.Contains(out, []byte("<proceed ")) && bytes.Contains(out, []byte("urn:ietf:params:xml:ns:xmpp-tls"))) {
				t.Errorf("go-sendxmpp did not negotiate STARTTLS; its output:\n%s", out)
			}

			res := r.result(t)
			if len(res.Clients) != 2 {
				t.Fatalf("slixmpp reported %d clients, want sender and receiver", len(res.Clients))
			}
			checkLogin(t, res.Clients[0])
			checkLogin(t, res.Clients[1])
			wantOne(t, receiver, res.Clients[1].Received, message{From: sender + "/", To: receiver, Type: "chat", Body: body})
			if t.Failed() {
				t.Logf("go-sendxmpp output:\n%s", out)
			}
		})
	}
}

// lockedBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
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
