package register_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/client"
	"github.com/parleyim/parley/internal/xmlstream"
	"github.com/parleyim/parley/internal/xmpptest"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// preAuthFeatures returns the stream features offered after STARTTLS and
// before authentication.
func preAuthFeatures(t *testing.T, srv *xmpptest.Server) *xmlstream.Element {
	t.Helper()
	ctx := ctxT(t)
	r, err := client.DialRaw(ctx, srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	header := `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='` + srv.Domain + `' version='1.0'>`
	next := func() *xmlstream.Element {
		t.Helper()
		e, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	if err := r.Send(header); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadHeader(ctx); err != nil {
		t.Fatal(err)
	}
	next() // features: starttls
	if err := r.Send(`<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`); err != nil {
		t.Fatal(err)
	}
	next() // proceed
	if err := r.StartTLS(nil); err != nil {
		t.Fatal(err)
	}
	if err := r.Send(header); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadHeader(ctx); err != nil {
		t.Fatal(err)
	}
	return next()
}

func registerUser(t *testing.T, srv *xmpptest.Server, user, password string) error {
	t.Helper()
	cfg := srv.ClientConfig(user)
	cfg.Password = password
	return client.Register(ctxT(t), cfg)
}

func login(t *testing.T, srv *xmpptest.Server, user, password string) (*client.Conn, error) {
	t.Helper()
	cfg := srv.ClientConfig(user)
	cfg.Password = password
	c, err := client.Dial(ctxT(t), cfg)
	if err == nil {
		t.Cleanup(func() { c.Kill() })
	}
	return c, err
}

func wantStanzaErr(t *testing.T, err error, cond string) {
	t.Helper()
	var se *client.StanzaError
	if !errors.As(err, &se) || se.Condition != cond {
		t.Fatalf("got %v, want a %s stanza error", err, cond)
	}
}

func wantSASLFailure(t *testing.T, err error) {
	t.Helper()
	var se *client.SASLError
	if !errors.As(err, &se) || se.Condition != "not-authorized" {
		t.Fatalf("got %v, want a not-authorized SASL failure", err)
	}
}

func TestOpenOverTCP(t *testing.T) {
	srv := xmpptest.Start(t, "registration: open")
	f := preAuthFeatures(t, srv)
	if f.Child("http://jabber.org/features/iq-register", "register") == nil {
		t.Fatalf("no register feature in %s", f)
	}
	if err := registerUser(t, srv, "bill", "Calliope"); err != nil {
		t.Fatal(err)
	}
	if _, err := login(t, srv, "bill", "Calliope"); err != nil {
		t.Fatalf("login after registration: %v", err)
	}
	// XEP-0077 §3.1 example 6.
	wantStanzaErr(t, registerUser(t, srv, "bill", "m1cro$oft"), "conflict")
	if _, err := login(t, srv, "bill", "Calliope"); err != nil {
		t.Fatalf("the conflict changed the account: %v", err)
	}
}

func TestClosedOverTCP(t *testing.T) {
	srv := xmpptest.Start(t, "registration: closed")
	f := preAuthFeatures(t, srv)
	if f.Child("http://jabber.org/features/iq-register", "register") != nil {
		t.Fatalf("register feature offered while closed: %s", f)
	}
	// XEP-0077 §3.1: the form request gets service-unavailable.
	wantStanzaErr(t, registerUser(t, srv, "bill", "Calliope"), "service-unavailable")
	wantSASLFailure(t, func() error { _, err := login(t, srv, "bill", "Calliope"); return err }())

	// Password changes and removal work while registration is closed.
	alice := srv.User(t, "alice", "phone")
	changePassword(t, alice, "alice", "newpass")
	if _, err := login(t, srv, "alice", "newpass"); err != nil {
		t.Fatal(err)
	}
	remove(t, alice)
}

func changePassword(t *testing.T, c *client.Conn, user, password string) {
	t.Helper()
	iq := xmpptest.Parse(t, `<iq type='set' to='localhost'><query xmlns='jabber:iq:register'><username/><password/></query></iq>`)
	q := iq.FirstChild()
	q.Child("jabber:iq:register", "username").AddText(user)
	q.Child("jabber:iq:register", "password").AddText(password)
	if _, err := c.IQ(ctxT(t), iq); err != nil {
		t.Fatalf("change password: %v", err)
	}
}

// remove cancels the account of c and checks the stream then ends with
// not-authorized (XEP-0077 §3.2).
func remove(t *testing.T, c *client.Conn) {
	t.Helper()
	ctx := ctxT(t)
	got, err := c.IQ(ctx, xmpptest.Parse(t, `<iq type='set'><query xmlns='jabber:iq:register'><remove/></query></iq>`))
	if err != nil {
		t.Fatalf("remove: %v", err)
	}
	if got.Attr("type") != "result" {
		t.Fatalf("remove: %s", got)
	}
	wantKicked(t, c)
}

func wantKicked(t *testing.T, c *client.Conn) {
	t.Helper()
	ctx := ctxT(t)
	for {
		_, err := c.Recv(ctx)
		if err == nil {
			continue
		}
		var se *client.StreamError
		if !errors.As(err, &se) || se.Condition != "not-authorized" {
			t.Fatalf("after removal: %v, want a not-authorized stream error", err)
		}
		return
	}
}

func TestChangePasswordOverTCP(t *testing.T) {
	srv := xmpptest.Start(t, "")
	alice := srv.User(t, "alice", "phone")
	changePassword(t, alice, "alice", "n3w pässword")
	if _, err := login(t, srv, "alice", "n3w pässword"); err != nil {
		t.Fatalf("login with the new password: %v", err)
	}
	wantSASLFailure(t, func() error { _, err := login(t, srv, "alice", xmpptest.Password); return err }())
	// The session that changed it goes on.
	if _, err := alice.IQ(ctxT(t), xmpptest.Parse(t, `<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>`)); err != nil {
		t.Fatal(err)
	}
}

func TestCancelOverTCP(t *testing.T) {
	srv := xmpptest.Start(t, "")
	phone := srv.User(t, "alice", "phone")
	laptop := srv.User(t, "alice", "laptop")
	bob := srv.User(t, "bob", "desk")
	remove(t, phone)
	wantKicked(t, laptop)
	wantSASLFailure(t, func() error { _, err := login(t, srv, "alice", xmpptest.Password); return err }())
	if _, err := bob.IQ(ctxT(t), xmpptest.Parse(t, `<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>`)); err != nil {
		t.Fatalf("bob's session suffered: %v", err)
	}
}

func TestRateLimitOverTCP(t *testing.T) {
	srv := xmpptest.Start(t, `limits: {registrations_per_ip: "2/min"}`)
	if err := registerUser(t, srv, "u1", "pw"); err != nil {
		t.Fatal(err)
	}
	// A failed registration is not counted.
	wantStanzaErr(t, registerUser(t, srv, "u1", "pw"), "conflict")
	if err := registerUser(t, srv, "u2", "pw"); err != nil {
		t.Fatal(err)
	}
	wantStanzaErr(t, registerUser(t, srv, "u3", "pw"), "resource-constraint")
	wantSASLFailure(t, func() error { _, err := login(t, srv, "u3", "pw"); return err }())
}
