package app_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/client"
	"github.com/parleyim/parley/internal/storage/storagetest"
	"github.com/parleyim/parley/internal/xmlstream"
	"github.com/parleyim/parley/internal/xmpptest"
)

// dbProxy forwards TCP connections to a PostgreSQL server and can break
// the path the way outages do: cut (every connection closed, new ones
// refused, as when the database restarts or its host is down) or
// blackhole (connections stay open but nothing gets through, as in a
// network partition).
type dbProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	mode  string // "up", "cut", "blackhole"
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func startProxy(t *testing.T, target string) *dbProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dbProxy{ln: ln, target: target, mode: "up", conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.set("cut")
		p.wg.Wait()
	})
	return p
}

func (p *dbProxy) addr() string { return p.ln.Addr().String() }

// set switches the mode; cut and blackhole close or freeze what is open.
func (p *dbProxy) set(mode string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = mode
	if mode == "cut" {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}

// track records c as open unless the proxy is cut; it reports whether c
// may be used.
func (p *dbProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == "cut" {
		return false
	}
	p.conns[c] = true
	return true
}

func (p *dbProxy) blackholed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode == "blackhole"
}

func (p *dbProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			c.Close() // refused: the client sees the connection end at once
			continue
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

func (p *dbProxy) serve(c net.Conn) {
	defer p.wg.Done()
	if p.blackholed() {
		// Accepted, never answered: the TCP handshake of a partition's
		// far side is not what a client waits on, the reply is.
		io.Copy(io.Discard, c)
		c.Close()
		return
	}
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil || !p.track(up) {
		c.Close()
		if up != nil {
			up.Close()
		}
		return
	}
	var wg sync.WaitGroup
	wg.Add(2)
	pipe := func(dst, src net.Conn) {
		defer wg.Done()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 && !p.blackholed() {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		// One side ended: end both.
		c.Close()
		up.Close()
	}
	go pipe(up, c)
	go pipe(c, up)
	wg.Wait()
}

// outageServer starts a server on a fresh PostgreSQL schema reached
// through a proxy.
func outageServer(t *testing.T) (*xmpptest.Server, *dbProxy) {
	t.Helper()
	dsn := storagetest.PostgresDSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("the test needs a URL DSN in PARLEY_TEST_POSTGRES: %v", err)
	}
	p := startProxy(t, u.Host)
	u.Host = p.addr()
	srv := xmpptest.Start(t, fmt.Sprintf(`
storage:
  driver: postgres
  dsn: %q
  max_conns: 4
  query_timeout: 2s
`, u.String()))
	return srv, p
}

const (
	nsRoster  = "jabber:iq:roster"
	nsStanzas = "urn:ietf:params:xml:ns:xmpp-stanzas"
)

// within bounds every wait of the test.
func within(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func rosterGet() *xmlstream.Element {
	return xmlstream.New("jabber:client", "iq").SetAttr("type", "get").
		AddChild(xmlstream.New(nsRoster, "query"))
}

func chat(to, body string) *xmlstream.Element {
	return xmlstream.New("jabber:client", "message").SetAttr("to", to).SetAttr("type", "chat").
		AddChild(xmlstream.New("jabber:client", "body").AddText(body))
}

// recvMessage waits for a message with body from c.
func recvMessage(t *testing.T, c *client.Conn, d time.Duration, body string) *xmlstream.Element {
	t.Helper()
	m, err := c.RecvMatch(within(t, d), func(e *xmlstream.Element) bool {
		return e.Name.Local == "message" && e.ChildText("jabber:client", "body") == body
	})
	if err != nil {
		t.Fatalf("%s: waiting for the message %q: %v", c.JID(), body, err)
	}
	return m
}

// wantTemporary checks that err is the stanza error for storage that is
// unavailable: internal-server-error of type wait.
func wantTemporary(t *testing.T, what string, err error) {
	t.Helper()
	var se *client.StanzaError
	if !errors.As(err, &se) || se.Type != "wait" || se.Condition != "internal-server-error" {
		t.Fatalf("%s: got %v, want a stanza error internal-server-error of type wait", what, err)
	}
}

// While the database is away the server stays up: what needs storage fails
// with temporary errors, what does not (messages between online users)
// works, and nothing accepted is lost silently. When it is back, service
// resumes without a restart.
func TestDatabaseOutage(t *testing.T) {
	for _, mode := range []string{"cut", "blackhole"} {
		t.Run(mode, func(t *testing.T) {
			testOutage(t, mode)
		})
	}
}

func testOutage(t *testing.T, mode string) {
	srv, proxy := outageServer(t)
	alice := srv.User(t, "alice", "home")
	bob := srv.User(t, "bob", "home")
	srv.CreateUser(t, "carol") // offline throughout
	srv.CreateUser(t, "dave")  // logs in during and after the outage
	// erin is online with a negative priority only: a message to her bare
	// JID goes to offline storage (RFC 6121 §8.5.2.1.1), without the
	// router having to ask the database whether she exists.
	srv.CreateUser(t, "erin")
	erin := srv.Dial(t, srv.ClientConfig("erin"))
	if err := erin.Send(xmlstream.New("jabber:client", "presence").AddChild(xmlstream.New("jabber:client", "priority").AddText("-1"))); err != nil {
		t.Fatal(err)
	}
	carol := "carol@" + srv.Domain
	if _, err := alice.IQ(within(t, 10*time.Second), rosterGet()); err != nil {
		t.Fatalf("roster before the outage: %v", err)
	}

	proxy.set(mode)
	// With query_timeout 2s, every storage call must give up within a few
	// seconds, never hold a session.
	const bound = 8 * time.Second

	t.Run("roster get is a temporary error", func(t *testing.T) {
		start := time.Now()
		_, err := alice.IQ(within(t, bound), rosterGet())
		wantTemporary(t, "roster get", err)
		t.Logf("answered in %s", time.Since(start).Round(time.Millisecond))
	})
	t.Run("online users still talk", func(t *testing.T) {
		if err := alice.Send(chat(bob.JID().String(), "still here")); err != nil {
			t.Fatal(err)
		}
		recvMessage(t, bob, bound, "still here")
		if err := bob.Send(chat("alice@"+srv.Domain, "me too")); err != nil {
			t.Fatal(err)
		}
		recvMessage(t, alice, bound, "me too")
	})
	t.Run("message to an offline user bounces", func(t *testing.T) {
		if err := alice.Send(chat(carol, "for later").SetAttr("id", "m1")); err != nil {
			t.Fatal(err)
		}
		m := recvMessage(t, alice, bound, "for later") // the bounce carries the original
		if m.Attr("type") != "error" || m.Attr("from") != carol || m.Attr("id") != "m1" {
			t.Fatalf("got %s, want the message bounced from %s", m.String(), carol)
		}
		wantTemporary(t, "bounce", client.ParseStanzaError(m))
	})
	t.Run("offline storage unavailable is a temporary error", func(t *testing.T) {
		if err := alice.Send(chat("erin@"+srv.Domain, "for erin").SetAttr("id", "m2")); err != nil {
			t.Fatal(err)
		}
		m := recvMessage(t, alice, bound, "for erin")
		if m.Attr("type") != "error" || m.Attr("id") != "m2" {
			t.Fatalf("got %s, want the message bounced", m.String())
		}
		wantTemporary(t, "offline bounce", client.ParseStanzaError(m))
	})
	t.Run("login is temporary-auth-failure", func(t *testing.T) {
		_, err := client.Dial(within(t, bound), srv.ClientConfig("dave"))
		var se *client.SASLError
		if !errors.As(err, &se) || se.Condition != "temporary-auth-failure" {
			t.Fatalf("login: got %v, want SASL temporary-auth-failure", err)
		}
	})
	t.Run("sessions stay up", func(t *testing.T) {
		ping := xmlstream.New("jabber:client", "iq").SetAttr("type", "get").SetAttr("to", srv.Domain).
			AddChild(xmlstream.New("urn:xmpp:ping", "ping"))
		for _, c := range []*client.Conn{alice, bob} {
			if _, err := c.IQ(within(t, bound), ping); err != nil {
				t.Fatalf("%s: ping: %v", c.JID(), err)
			}
		}
	})

	proxy.set("up")
	// Service comes back by itself: the pool drops dead connections and
	// dials again. Poll the roster, each try bounded, the whole bounded.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := alice.IQ(within(t, bound), rosterGet())
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("roster after the outage: still %v", err)
		}
		wantTemporary(t, "roster while recovering", err)
	}
	t.Run("after: offline storage and login work", func(t *testing.T) {
		if err := alice.Send(chat("dave@"+srv.Domain, "stored")); err != nil {
			t.Fatal(err)
		}
		// The message is stored before dave logs in: nothing comes back.
		if err := alice.Send(chat(carol, "queued")); err != nil {
			t.Fatal(err)
		}
		dave := srv.User(t, "dave", "phone")
		recvMessage(t, dave, bound, "stored")
	})
}
