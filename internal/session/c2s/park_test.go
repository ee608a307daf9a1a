package c2s_test

import (
	"bytes"
	"context"
	"fmt"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/client"
	"github.com/parleyim/parley/internal/xmlstream"
	"github.com/parleyim/parley/internal/xmpptest"
)

// readers counts the goroutines reading for a bound session in this
// process.
func readers() int {
	var b bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&b, 2)
	return strings.Count(b.String(), ".(*conn).serveBound(")
}

// waitParked waits until no bound session in this process keeps a reader
// goroutine.
func waitParked(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for readers() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions still have a reader goroutine", readers())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func message(to, body string) *xmlstream.Element {
	return xmlstream.New("jabber:client", "message", "to", to, "type", "chat").
		AddChild(xmlstream.New("jabber:client", "body").AddText(body))
}

func expectBody(t *testing.T, c *client.Conn, from, body string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	got, err := c.RecvMatch(ctx, func(e *xmlstream.Element) bool { return e.Name.Local == "message" })
	if err != nil {
		t.Fatalf("%s: waiting for a message from %s: %v", c.JID(), from, err)
	}
	b := got.Child("jabber:client", "body")
	if got.Attr("from") != from || b == nil || b.Text() != body {
		t.Fatalf("%s: got %.200s, want a message from %s with a body of %d bytes", c.JID(), got, from, len(body))
	}
}

// Idle sessions give up their reader goroutine (park.go) and wake for
// what their client sends next: stanzas of every size, several in one
// write, and a stanza that arrives in pieces.
func TestIdleSessionsPark(t *testing.T) {
	srv := xmpptest.Start(t, "limits: {idle_timeout: 20s}") // parks after 2 s
	const n = 6
	conns := make([]*client.Conn, n)
	for i := range conns {
		conns[i] = srv.User(t, xmpptest.UniqueName("park"), "r")
	}
	waitParked(t)

	// Each parked client sends to the next one, which is parked too.
	for i, c := range conns {
		to := conns[(i+1)%n]
		if err := c.Send(message(to.JID().String(), fmt.Sprintf("hello %d", i))); err != nil {
			t.Fatal(err)
		}
		expectBody(t, to, c.JID().String(), fmt.Sprintf("hello %d", i))
	}
	waitParked(t)

	// A stanza larger than a TLS record (16 KiB of plaintext).
	a, b := conns[0], conns[1]
	big := strings.Repeat("0123456789abcdef", 3000)
	if err := a.Send(message(b.JID().String(), big)); err != nil {
		t.Fatal(err)
	}
	expectBody(t, b, a.JID().String(), big)
	waitParked(t)

	// Several stanzas in one write, hence often in one TLS record.
	var many strings.Builder
	for i := range 5 {
		many.WriteString(message(b.JID().String(), fmt.Sprintf("burst %d", i)).String())
	}
	if err := a.SendRaw(many.String()); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		expectBody(t, b, a.JID().String(), fmt.Sprintf("burst %d", i))
	}
	waitParked(t)

	// A stanza in two writes with a pause longer than the park delay:
	// the reader waits in the middle of a stanza (it parks only between
	// stanzas), and the stanza comes out whole.
	half := message(b.JID().String(), "in two halves").String()
	if err := a.SendRaw(half[:20]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	if err := a.SendRaw(half[20:]); err != nil {
		t.Fatal(err)
	}
	expectBody(t, b, a.JID().String(), "in two halves")

	// Whitespace keepalives wake the session and let it park again.
	if err := a.SendRaw(" \n "); err != nil {
		t.Fatal(err)
	}
	waitParked(t)
}

// A parked session is closed as a running one is: replaced by a new
// session for its resource (conflict), and at shutdown (system-shutdown).
func TestParkedSessionsClose(t *testing.T) {
	srv := xmpptest.Start(t, "limits: {idle_timeout: 20s}")
	name := xmpptest.UniqueName("parkclose")
	first := srv.User(t, name, "phone")
	other := srv.User(t, xmpptest.UniqueName("parkclose"), "phone")
	waitParked(t)

	srv.User(t, name, "phone")
	if cond := recvStreamError(t, first); cond != "conflict" {
		t.Fatalf("the replaced session got %s, want conflict", cond)
	}
	waitParked(t)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	stopped := make(chan struct{})
	go func() { srv.App.Stop(ctx); close(stopped) }()
	if cond := recvStreamError(t, other); cond != "system-shutdown" {
		t.Fatalf("at shutdown the session got %s, want system-shutdown", cond)
	}
	<-stopped
}

// A parked session whose connection dies without a word (RFC 6121 §4.6:
// the server must notice and broadcast unavailable presence) is noticed
// at once, not at the idle timeout.
func TestParkedSessionNoticesDeadConnection(t *testing.T) {
	srv := xmpptest.Start(t, "limits: {idle_timeout: 60s}")
	gone := srv.User(t, xmpptest.UniqueName("parkdead"), "phone")
	stays := srv.User(t, xmpptest.UniqueName("parkdead"), "phone")
	waitParked(t)
	if err := gone.Kill(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(wait)
	for {
		var online []string
		for _, s := range srv.App.Sessions() {
			online = append(online, s.JID.String())
		}
		if len(online) == 1 && online[0] == stays.JID().String() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sessions %v, want only %s", online, stays.JID())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
