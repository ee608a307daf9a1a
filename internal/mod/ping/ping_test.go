package ping_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/client"
	"github.com/parleyim/parley/internal/xmlstream"
	"github.com/parleyim/parley/internal/xmpptest"
)

// XEP-0199 §4.2 over TCP: the client pings its server.
func TestPingOverTCP(t *testing.T) {
	srv := xmpptest.Start(t, "")
	alice := srv.User(t, "alice", "phone")
	srv.CreateUser(t, "bob")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, to := range []string{"localhost", "", "alice@localhost", "bob@localhost"} {
		iq := xmpptest.Parse(t, `<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>`)
		if to != "" {
			iq.SetAttr("to", to)
		}
		got, err := alice.IQ(ctx, iq)
		if err != nil {
			t.Fatalf("ping %q: %v", to, err)
		}
		if len(got.Elements()) != 0 {
			t.Fatalf("ping %q: result with a payload: %s", to, got)
		}
	}
}

// XEP-0199 §4.1 over TCP: an idle client is pinged; answering keeps the
// session, and silence after a ping ends it with connection-timeout.
func TestIdleOverTCP(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "limits: {idle_timeout: 1s}")
	alice := srv.User(t, "alice", "phone")

	ping := xmpptest.ExpectWithin(t, alice, 5*time.Second,
		`<iq type='get' from='localhost' to='`+alice.JID().String()+`' id='{any}'><ping xmlns='urn:xmpp:ping'/></iq>`)
	// Pong (§4.1 example 2).
	pong := xmlstream.New("jabber:client", "iq", "type", "result", "id", ping.Attr("id"), "to", "localhost")
	if err := alice.Send(pong); err != nil {
		t.Fatal(err)
	}
	// The session lives on and is pinged again; this time the client
	// stays silent.
	xmpptest.ExpectWithin(t, alice, 5*time.Second, `<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>`)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := alice.Recv(ctx)
	var se *client.StreamError
	if !errors.As(err, &se) || se.Condition != "connection-timeout" {
		t.Fatalf("after an unanswered ping: %v, want a connection-timeout stream error", err)
	}
}

// A client without ping support answers service-unavailable (§4.1
// example 3); that too shows it is alive.
func TestIdleErrorReplyOverTCP(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "limits: {idle_timeout: 1s}")
	alice := srv.User(t, "alice", "phone")
	ping := xmpptest.ExpectWithin(t, alice, 5*time.Second, `<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>`)
	reply := xmpptest.Parse(t, `<iq type='error' to='localhost'><ping xmlns='urn:xmpp:ping'/>
	  <error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`)
	reply.SetAttr("id", ping.Attr("id"))
	if err := alice.Send(reply); err != nil {
		t.Fatal(err)
	}
	// The next thing the client sees is the next ping, not an error.
	xmpptest.ExpectWithin(t, alice, 5*time.Second, `<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>`)
}
