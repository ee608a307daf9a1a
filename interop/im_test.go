package interop

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The tests of this file drive several slixmpp clients through
// testdata/im.py, one python process per connection, each under the
// command of the test: the test says what each client sends and which
// stanza it must wait for next, so it can also kill a client's process
// (its TCP connection ends without a goodbye) or restart the server
// between two steps.

// agentLife bounds an im.py process; every test of this file ends well
// within it.
const agentLife = 90 * time.Second

// stepTimeout bounds one command of an agent (a login, a wait for a
// stanza, an IQ round trip).
const stepTimeout = 10 * time.Second

// agent is one im.py process: one slixmpp client.
type agent struct {
	name   string
	jid    string // bare JID of the account
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string // stdout, one JSON answer a line; closed at exit
	stderr lockedBuffer
	done   chan struct{}
	err    error
	Bound  string // the full JID after login
}

// stanzaSeen is a stanza an agent received, as im.py reports it.
type stanzaSeen struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Type   string `json:"type"`
	Body   string `json:"body"`
	Status string `json:"status"`
	Delay  *struct {
		Stamp string `json:"stamp"`
		From  string `json:"from"`
		Text  string `json:"text"`
	} `json:"delay"`
	Error *struct {
		Type      string `json:"type"`
		Condition string `json:"condition"`
	} `json:"error"`
	Push  string   `json:"push"`
	Items []string `json:"items"`
}

// answer is im.py's answer to one command.
type answer struct {
	OK     bool       `json:"ok"`
	Error  string     `json:"error"`
	Stanza stanzaSeen `json:"stanza"`
	Roster map[string]struct {
		Subscription string `json:"subscription"`
		PendingOut   bool   `json:"pending_out"`
	} `json:"roster"`
	Items []string `json:"items"`
}

// startAgent starts an im.py process for the account user@localhost. It
// does not connect until told to log in. When the test ends its input is
// closed, which ends it (it is killed if it lingers), and its debug log
// (every XML element sent and received) is printed if the test has
// failed.
func startAgent(t *testing.T, user string) *agent {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("testdata", "im.py"))
	if err != nil {
		t.Fatal(err)
	}
	a := &agent{
		name:  user,
		jid:   user + "@localhost",
		lines: make(chan string, 64),
		done:  make(chan struct{}),
	}
	a.cmd = exec.CommandContext(runCtx(t, agentLife+15*time.Second), python, "-I", script,
		"--jid", a.jid, "--password", user+"-secret", "--timeout", strconv.Itoa(int(agentLife.Seconds())))
	a.cmd.WaitDelay = 5 * time.Second
	a.cmd.Stderr = &a.stderr
	if a.stdin, err = a.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := a.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.cmd.Start(); err != nil {
		t.Fatalf("starting im.py for %s: %v", user, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			a.lines <- sc.Text()
		}
		close(a.lines)
		a.err = a.cmd.Wait()
		close(a.done)
	}()
	t.Cleanup(func() {
		a.stdin.Close() // im.py ends at the end of its input
		select {
		case <-a.done:
		case <-time.After(15 * time.Second):
			_ = a.cmd.Process.Kill()
			for range a.lines {
			}
			<-a.done
		}
		if t.Failed() {
			t.Logf("slixmpp log of %s:\n%s", a.name, a.stderr.String())
		}
	})
	return a
}

// do sends one command to the agent and returns its answer, failing the
// test if the agent reports an error or does not answer in time.
func (a *agent) do(t *testing.T, cmd map[string]any) answer {
	t.Helper()
	var ans answer
	a.roundTrip(t, cmd, &ans)
	return ans
}

// roundTrip sends the command and decodes the answer into v.
func (a *agent) roundTrip(t *testing.T, cmd map[string]any, v any) {
	t.Helper()
	if _, ok := cmd["timeout"]; !ok {
		cmd["timeout"] = stepTimeout.Seconds()
	}
	b, err := json.Marshal(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.stdin.Write(append(b, '\n')); err != nil {
		t.Fatalf("%s: sending %s: %v", a.name, b, err)
	}
	wait := stepTimeout + 10*time.Second
	select {
	case l, ok := <-a.lines:
		if !ok {
			<-a.done
			t.Fatalf("%s: im.py exited (%v) before it answered %s", a.name, a.err, b)
		}
		var status struct {
			OK    bool   `json:"ok"`
			Error string `json:"error"`
		}
		if err := json.Unmarshal([]byte(l), &status); err != nil {
			t.Fatalf("%s: answer to %s: %q: %v", a.name, b, l, err)
		}
		if !status.OK {
			t.Fatalf("%s: %s failed: %s", a.name, cmd["op"], status.Error)
		}
		if err := json.Unmarshal([]byte(l), v); err != nil {
			t.Fatalf("%s: answer to %s: %q: %v", a.name, b, l, err)
		}
	case <-time.After(wait):
		t.Fatalf("%s: no answer to %s within %v", a.name, b, wait)
	}
}

// login connects the agent to s over STARTTLS, registering its account in
// band first if register is set, and sends initial presence if presence
// is set. It checks the login as checkLogin does.
func (a *agent) login(t *testing.T, s *server, register, presence bool) {
	t.Helper()
	var c slixClient
	a.roundTrip(t, map[string]any{
		"op": "login", "host": "127.0.0.1", "port": port(s.C2S), "cafile": s.Cert,
		"register": register, "presence": presence,
	}, &c)
	if register {
		checkLogin(t, c)
	} else {
		checkSession(t, c)
	}
	if t.Failed() {
		t.FailNow()
	}
	a.Bound = c.Bound
}

// presence sends a presence stanza; to and typ may be empty.
func (a *agent) presence(t *testing.T, to, typ string) {
	t.Helper()
	a.do(t, map[string]any{"op": "presence", "to": to, "type": typ})
}

// message sends a chat message.
func (a *agent) message(t *testing.T, to, body string) {
	t.Helper()
	a.do(t, map[string]any{"op": "message", "to": to, "body": body, "type": "chat"})
}

// wait returns the next stanza of the kind from that JID (a bare JID
// matches its resources) and of that type the agent has received, not
// returned by an earlier wait; it waits stepTimeout for it.
func (a *agent) wait(t *testing.T, kind, from, typ string) stanzaSeen {
	t.Helper()
	cmd := map[string]any{"op": "wait", "kind": kind}
	if from != "" {
		cmd["from"] = from
	}
	if typ != "" {
		cmd["type"] = typ
	}
	return a.do(t, cmd).Stanza
}

// quit closes the agent's stream and waits for the process to exit.
func (a *agent) quit(t *testing.T) {
	t.Helper()
	a.do(t, map[string]any{"op": "quit"})
	a.exited(t)
}

// kill ends the agent's process with SIGKILL: the kernel closes its TCP
// connection, and the server sees the end of input without a closing
// stream tag.
func (a *agent) kill(t *testing.T) {
	t.Helper()
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatalf("killing %s: %v", a.name, err)
	}
	a.exited(t)
}

func (a *agent) exited(t *testing.T) {
	t.Helper()
	select {
	case <-a.done:
	case <-time.After(15 * time.Second):
		t.Fatalf("%s: im.py did not exit within 15s", a.name)
	}
}

// checkSession checks that a slixmpp client logged in to an existing
// account with SCRAM over STARTTLS.
func checkSession(t *testing.T, c slixClient) {
	t.Helper()
	if c.Registered {
		t.Errorf("%s: registered again", c.JID)
	}
	c.Registered = true // the rest of checkLogin applies
	checkLogin(t, c)
}

// subscribeBoth walks the presence subscription handshake of RFC 6121 §3
// between two online, available agents: a subscribes to b, b approves,
// b subscribes to a, a approves. It checks what each side is told on the
// way.
func subscribeBoth(t *testing.T, a, b *agent) {
	t.Helper()
	a.presence(t, b.jid, "subscribe")
	req := b.wait(t, "presence", a.jid, "subscribe")
	if req.From != a.jid {
		t.Errorf("%s got a subscription request from %q, want %s's bare JID (RFC 6121 §3.1.2)", b.name, req.From, a.name)
	}
	b.presence(t, a.jid, "subscribed")
	if got := a.wait(t, "presence", b.jid, "subscribed"); got.From != b.jid {
		t.Errorf("%s was told of the approval from %q, want %s", a.name, got.From, b.jid)
	}
	// RFC 6121 §3.1.5: once b approves, a gets b's current presence.
	if got := a.wait(t, "presence", b.jid, "available"); got.From != b.Bound {
		t.Errorf("%s got %s's presence from %q after the approval, want %s", a.name, b.name, got.From, b.Bound)
	}

	b.presence(t, a.jid, "subscribe")
	a.wait(t, "presence", b.jid, "subscribe")
	a.presence(t, b.jid, "subscribed")
	b.wait(t, "presence", a.jid, "subscribed")
	if got := b.wait(t, "presence", a.jid, "available"); got.From != a.Bound {
		t.Errorf("%s got %s's presence from %q after the approval, want %s", b.name, a.name, got.From, a.Bound)
	}
}

// wantRoster fetches a's roster and checks that it holds exactly contact,
// with the subscription and no pending request of a's.
func wantRoster(t *testing.T, a *agent, contact, subscription string) {
	t.Helper()
	r := a.do(t, map[string]any{"op": "roster"}).Roster
	// slixmpp's client_roster also has an entry for the user's own JID,
	// made when its own presence came back; the server sent no such item.
	if own, ok := r[a.jid]; ok && own.Subscription == "none" && !own.PendingOut {
		delete(r, a.jid)
	}
	item, ok := r[contact]
	switch {
	case !ok:
		t.Errorf("%s's roster %v has no %s", a.name, r, contact)
	case item.Subscription != subscription || item.PendingOut:
		t.Errorf("%s's roster item %s: subscription %q, pending out %v; want %q, none pending", a.name, contact, item.Subscription, item.PendingOut, subscription)
	}
	if len(r) != 1 {
		t.Errorf("%s's roster has %d items %v, want only %s", a.name, len(r), r, contact)
	}
}

// TestSlixmppPresence: alice and bob subscribe to each other's presence
// (RFC 6121 §3) and see each other's presence come and go (§4): an
// available presence, an unavailable one the client sends, and the one
// the server sends for a client whose connection died without a goodbye
// (§4.5).
func TestSlixmppPresence(t *testing.T) {
	t.Parallel()
	needSlixmpp(t)
	s := startServer(t)
	alice, bob := startAgent(t, "alice"), startAgent(t, "bob")
	alice.login(t, s, true, true)
	bob.login(t, s, true, true)

	if !t.Run("subscription", func(t *testing.T) {
		subscribeBoth(t, alice, bob)
		wantRoster(t, alice, bob.jid, "both")
		wantRoster(t, bob, alice.jid, "both")
	}) {
		t.FailNow()
	}

	t.Run("presence", func(t *testing.T) {
		status := "away for " + rand.Text()
		bob.do(t, map[string]any{"op": "presence", "status": status})
		got := alice.wait(t, "presence", bob.jid, "available")
		if got.From != bob.Bound || got.Status != status {
			t.Errorf("alice got %+v, want available presence from %s with status %q", got, bob.Bound, status)
		}

		bob.presence(t, "", "unavailable")
		if got := alice.wait(t, "presence", bob.jid, "unavailable"); got.From != bob.Bound {
			t.Errorf("alice got unavailable presence from %q, want %s", got.From, bob.Bound)
		}
		bob.quit(t)

		// Bob comes back in a new process, then dies: the server must
		// tell alice that this resource has gone.
		bob2 := startAgent(t, "bob")
		bob2.login(t, s, false, true)
		if got := alice.wait(t, "presence", bob.jid, "available"); got.From != bob2.Bound {
			t.Errorf("alice got available presence from %q after bob reconnected, want %s", got.From, bob2.Bound)
		}
		// Bob's initial presence brings him alice's (RFC 6121 §4.2.2,
		// the server's probe, §4.3); wait for it so that nothing is in
		// flight to bob when he dies.
		if got := bob2.wait(t, "presence", alice.jid, "available"); got.From != alice.Bound {
			t.Errorf("reconnected bob got alice's presence from %q, want %s", got.From, alice.Bound)
		}
		bob2.kill(t)
		if got := alice.wait(t, "presence", bob.jid, "unavailable"); got.From != bob2.Bound {
			t.Errorf("alice got unavailable presence from %q after bob's connection died, want %s", got.From, bob2.Bound)
		}
	})
	alice.quit(t)
}

// needModule skips the test if the server does not run the module: the
// module is in the list `parley ctl status` prints when it is built in.
func needModule(t *testing.T, s *server, name string) {
	t.Helper()
	mods := s.modules(t)
	if !slices.Contains(mods, name) {
		t.Skipf("parley runs no %s module (parley ctl status lists: %s)", name, strings.Join(mods, ", "))
	}
}

// TestSlixmppBlocking: alice blocks carol with XEP-0191; carol's message
// to alice is refused with an error and not delivered, while bob's gets
// through. Once alice unblocks her, carol's next message arrives.
func TestSlixmppBlocking(t *testing.T) {
	t.Parallel()
	needSlixmpp(t)
	s := startServer(t)
	needModule(t, s, "blocking")
	alice, bob, carol := startAgent(t, "alice"), startAgent(t, "bob"), startAgent(t, "carol")
	alice.login(t, s, true, true)
	bob.login(t, s, true, true)
	carol.login(t, s, true, true)
	token := rand.Text()

	// alice fetches her list first, so she is told of its changes
	// (XEP-0191 §3.3, §3.4).
	if got := alice.do(t, map[string]any{"op": "blocklist"}).Items; len(got) != 0 {
		t.Errorf("alice's new blocklist is %q, want it empty", got)
	}
	alice.do(t, map[string]any{"op": "block", "jid": carol.jid})
	if got := alice.wait(t, "iq", "", "set"); got.Push != "block" || !slices.Equal(got.Items, []string{carol.jid}) {
		t.Errorf("alice got push %+v, want <block/> of %s", got, carol.jid)
	}
	if got := alice.do(t, map[string]any{"op": "blocklist"}).Items; !slices.Equal(got, []string{carol.jid}) {
		t.Errorf("alice's blocklist is %q, want [%s]", got, carol.jid)
	}

	blocked := token + " while blocked"
	carol.message(t, alice.jid, blocked)
	e := carol.wait(t, "message", alice.jid, "error")
	// XEP-0191 §3.3: the server SHOULD answer service-unavailable.
	if e.Error == nil || e.Error.Condition != "service-unavailable" || e.Error.Type != "cancel" {
		t.Errorf("carol got error %+v for her message to alice, want a cancel service-unavailable", e.Error)
	}
	if e.Body != "" && e.Body != blocked {
		t.Errorf("the error carries body %q, want the message's own or none", e.Body)
	}

	// Only carol is blocked: bob's message gets through.
	fromBob := token + " from bob"
	bob.message(t, alice.jid, fromBob)
	if got := alice.wait(t, "message", bob.jid, ""); got.Body != fromBob || got.From != bob.Bound {
		t.Errorf("alice got %+v from bob while carol was blocked, want %q from %s", got, fromBob, bob.Bound)
	}

	alice.do(t, map[string]any{"op": "unblock", "jid": carol.jid})
	if got := alice.wait(t, "iq", "", "set"); got.Push != "unblock" || !slices.Equal(got.Items, []string{carol.jid}) {
		t.Errorf("alice got push %+v, want <unblock/> of %s", got, carol.jid)
	}
	if got := alice.do(t, map[string]any{"op": "blocklist"}).Items; len(got) != 0 {
		t.Errorf("alice's blocklist is %q after unblocking, want it empty", got)
	}

	after := token + " after unblock"
	carol.message(t, alice.jid, after)
	// The message sent while blocked went through the router before this
	// one (carol got its error first), so if it had been delivered it
	// would come first.
	got := alice.wait(t, "message", carol.jid, "")
	if got.Body != after || got.From != carol.Bound || got.Type != "chat" {
		t.Errorf("alice's first message from carol is %+v, want the one sent after unblock from %s: %q", got, carol.Bound, after)
	}
	alice.quit(t)
	bob.quit(t)
	carol.quit(t)
}

// TestSlixmppOffline: alice sends three messages to bob while he is
// offline, the server is stopped with SIGTERM and started again on the
// same data_dir, and bob, logging in, gets the three in order, each with
// a XEP-0203 delay stamp (XEP-0160). They are taken out of storage: a
// later login of bob gets only what alice sends then.
func TestSlixmppOffline(t *testing.T) {
	t.Parallel()
	needSlixmpp(t)
	s := startServer(t)
	needModule(t, s, "offline")
	token := rand.Text()

	bob := startAgent(t, "bob")
	bob.login(t, s, true, true)
	bob.quit(t) // returns when the server has closed bob's stream

	alice := startAgent(t, "alice")
	alice.login(t, s, true, true)
	sent := time.Now().UTC().Truncate(time.Second)
	var bodies []string
	for i := range 3 {
		bodies = append(bodies, fmt.Sprintf("%s offline %d", token, i+1))
		alice.message(t, bob.jid, bodies[i])
	}
	// alice's stream is closed only once the server has read all she
	// sent before her closing tag.
	alice.quit(t)

	s.restart(t)
	restarted := time.Now().UTC()

	bob = startAgent(t, "bob")
	bob.login(t, s, false, true)
	for i, want := range bodies {
		got := bob.wait(t, "message", alice.jid, "")
		t.Logf("bob's offline message %d: %q, delay %+v", i+1, got.Body, got.Delay)
		if got.Body != want || got.Type != "chat" || got.To != bob.jid || !strings.HasPrefix(got.From, alice.jid+"/") {
			t.Errorf("bob's message %d: %+v, want %q from alice's full JID to %s, type chat", i+1, got, want, bob.jid)
		}
		switch {
		case got.Delay == nil:
			t.Errorf("bob's message %d has no <delay xmlns='urn:xmpp:delay'/>", i+1)
		default:
			stamp, err := time.Parse(time.RFC3339Nano, got.Delay.Stamp)
			if err != nil || !strings.HasSuffix(got.Delay.Stamp, "Z") {
				t.Errorf("bob's message %d: delay stamp %q is not a UTC XEP-0082 DateTime: %v", i+1, got.Delay.Stamp, err)
			} else if stamp.Before(sent) || stamp.After(restarted) {
				t.Errorf("bob's message %d: delay stamp %s, want between its sending (%s) and the restart (%s)", i+1, stamp, sent, restarted)
			}
			if got.Delay.From != "localhost" {
				t.Errorf("bob's message %d: delay from %q, want the server, localhost", i+1, got.Delay.From)
			}
		}
	}
	bob.quit(t)

	// Delivered messages are gone from storage: bob's next login gets
	// alice's new message first.
	alice = startAgent(t, "alice")
	alice.login(t, s, false, false)
	bob = startAgent(t, "bob")
	bob.login(t, s, false, true)
	later := token + " online"
	alice.message(t, bob.Bound, later)
	if got := bob.wait(t, "message", alice.jid, ""); got.Body != later || got.Delay != nil {
		t.Errorf("bob's first message after the offline ones were delivered: %+v, want %q without delay", got, later)
	}
	alice.quit(t)
	bob.quit(t)
}
