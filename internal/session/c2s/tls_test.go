package c2s_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/client"
	"github.com/parleyim/parley/internal/xmpptest"
)

// RFC 6120 §5.3.1, DESIGN.md: by default TLS is mandatory-to-negotiate.
// The first features offer only <starttls><required/></starttls>; SASL
// before TLS fails with encryption-required (§6.5.3) and leaves the stream
// open for STARTTLS; an IQ (registration) before TLS ends the stream.
func TestTLSRequiredByDefault(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	srv.CreateUser(t, "alice")

	c := dial(t, srv.Addr)
	_, f := c.open()
	st := f.Child(nsTLS, "starttls")
	if st == nil || st.Child(nsTLS, "required") == nil {
		t.Fatalf("features %s, want <starttls><required/></starttls>", f)
	}
	if len(f.Elements()) != 1 {
		t.Errorf("features before TLS offer more than starttls: %s", f)
	}
	for _, auth := range []string{
		"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + plain("", "alice", xmpptest.Password) + "</auth>",
		"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>biwsbj1hbGljZSxyPWFiY2Q=</auth>",
	} {
		c.send(auth)
		c.expect("<failure xmlns='" + nsSASL + "'><encryption-required/></failure>")
	}
	// The stream is still usable: TLS, then login.
	c.startTLS()
	c.authPlain("alice", xmpptest.Password)
	if j := c.bind("r"); j != "alice@localhost/r" {
		t.Fatalf("bound %q", j)
	}

	c = dial(t, srv.Addr)
	c.open()
	c.send("<iq type='get' id='reg1'><query xmlns='jabber:iq:register'/></iq>")
	c.expectStreamError("policy-violation")

	// A client that insists on SCRAM without TLS is told the same.
	cfg := srv.ClientConfig("alice")
	cfg.TLS = client.NoTLS
	cfg.Mechanism = "SCRAM-SHA-256"
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	cc, err := client.Dial(ctx, cfg)
	var se *client.SASLError
	if !errors.As(err, &se) || se.Condition != "encryption-required" {
		if cc != nil {
			cc.Kill()
		}
		t.Fatalf("SCRAM without TLS: %v, want an encryption-required SASL failure", err)
	}
}

// XEP-0368: the direct TLS listener speaks TLS from the first byte, offers
// no STARTTLS, and offers PLAIN and the -PLUS mechanisms with the
// channel-binding types of XEP-0440.
func TestDirectTLS(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	srv.CreateUser(t, "alice")

	tc, err := tls.Dial("tcp", srv.TLSAddr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"xmpp-client"}, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	if p := tc.ConnectionState().NegotiatedProtocol; p != "xmpp-client" {
		t.Errorf("ALPN protocol %q, want xmpp-client", p)
	}
	c := &conv{t: t, r: client.NewRaw(tc)}
	t.Cleanup(func() { tc.Close() })
	_, f := c.open()
	if f.Child(nsTLS, "starttls") != nil {
		t.Errorf("direct TLS stream offers STARTTLS: %s", f)
	}
	mechs := mechanisms(f)
	for _, m := range []string{"SCRAM-SHA-512-PLUS", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"} {
		if !contains(mechs, m) {
			t.Errorf("direct TLS stream does not offer %s: %v", m, mechs)
		}
	}
	if f.Child("urn:xmpp:sasl-cb:0", "sasl-channel-binding") == nil {
		t.Errorf("no XEP-0440 channel-binding types: %s", f)
	}
	// §5.4.2.2: STARTTLS on a stream that already has TLS fails: <failure/>
	// and the stream is closed (no stream error).
	c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
	c.expect("<failure xmlns='" + nsTLS + "'/>")
	c.expectClosed()

	// Plain XML on the TLS port gets no XML back: the handshake fails and
	// the connection is closed.
	pc := dial(t, srv.TLSAddr)
	pc.send(header("localhost", ""))
	_ = pc.r.Conn().SetReadDeadline(time.Now().Add(wait))
	b, err := io.ReadAll(pc.r.Conn())
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("plaintext on the TLS port: connection not closed: %v", err)
	}
	if strings.Contains(string(b), "stream") {
		t.Errorf("plaintext on the TLS port answered with XML: %q", b)
	}

	cfg := srv.ClientConfig("alice")
	cfg.Addr = srv.TLSAddr
	cfg.TLS = client.DirectTLS
	cc := srv.Dial(t, cfg)
	if cc.JID().String() == "" || cc.JID().Bare().String() != "alice@localhost" {
		t.Fatalf("bound %v", cc.JID())
	}
}

// tls.required: false lets a client skip STARTTLS (DESIGN.md) and use
// SCRAM, but PLAIN and the -PLUS mechanisms (which need TLS) are neither
// offered nor accepted on the plain stream.
func TestTLSOptional(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "tls: {required: false}")
	srv.CreateUser(t, "alice")

	c := dial(t, srv.Addr)
	_, f := c.open()
	st := f.Child(nsTLS, "starttls")
	if st == nil || st.Child(nsTLS, "required") != nil {
		t.Errorf("features %s, want an optional <starttls/>", f)
	}
	mechs := mechanisms(f)
	for _, m := range []string{"SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1"} {
		if !contains(mechs, m) {
			t.Errorf("plain stream does not offer %s: %v", m, mechs)
		}
	}
	for _, m := range mechs {
		if m == "PLAIN" || strings.HasSuffix(m, "-PLUS") {
			t.Errorf("plain stream offers %s: %v", m, mechs)
		}
	}
	// PLAIN anyway: refused, the password never checked (§6.5.3).
	c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + plain("", "alice", xmpptest.Password) + "</auth>")
	c.expect("<failure xmlns='" + nsSASL + "'><encryption-required/></failure>")
	c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256-PLUS'>cCx0bHMtZXhwb3J0ZXIsLG49YWxpY2Uscj1hYmNk</auth>")
	c.expect("<failure xmlns='" + nsSASL + "'><encryption-required/></failure>")
	// SCRAM works.
	if e := c.scram("SCRAM-SHA-256", "alice", xmpptest.Password); e.Name.Local != "success" {
		t.Fatalf("SCRAM without TLS: %s", e)
	}
	c.r.Restart()
	c.open()
	if j := c.bind("plain"); j != "alice@localhost/plain" {
		t.Fatalf("bound %q", j)
	}

	// The client in NoTLS mode picks SCRAM by itself.
	cfg := srv.ClientConfig("alice")
	cfg.TLS = client.NoTLS
	cc := srv.Dial(t, cfg)
	if _, ok := cc.ConnectionState(); ok {
		t.Error("NoTLS client has TLS")
	}
	// STARTTLS is still there for those who want it.
	cfg.TLS = client.StartTLS
	cc = srv.Dial(t, cfg)
	if _, ok := cc.ConnectionState(); !ok {
		t.Error("STARTTLS client has no TLS")
	}
}

// RFC 6120 §5.4.3.2: when the TLS handshake fails the server closes the
// TCP connection; it writes no more XML on a socket the client now
// expects to carry TLS.
func TestSTARTTLSHandshakeFailure(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	c := dial(t, srv.Addr)
	c.open()
	c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
	c.expect("<proceed xmlns='" + nsTLS + "'/>")
	c.send("this is not a TLS ClientHello\r\n\r\n")
	conn := c.r.Conn()
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	b, err := io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("server did not close the connection: %v", err)
	}
	if strings.Contains(string(b), "stream") {
		t.Errorf("server wrote XML after a failed TLS handshake: %q", b)
	}
}
