package c2s_test

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/parleyim/parley/internal/client"
	"github.com/parleyim/parley/internal/sasl"
	"github.com/parleyim/parley/internal/xmlstream"
	"github.com/parleyim/parley/internal/xmpptest"
)

// RFC 6120 §6, RFC 5802, RFC 9266, RFC 4616: every mechanism the server
// offers logs in with the right password and fails with not-authorized
// (§6.5.10) with a wrong one, over STARTTLS with TLS 1.3 (tls-exporter) and
// TLS 1.2 (tls-server-end-point), and over direct TLS. The client package's
// own tests run against a scripted server; these run against Parley.
func TestSASLMechanisms(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	srv.CreateUser(t, "alice")
	mechs := []string{
		"SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-512",
		"SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-512-PLUS",
		"PLAIN",
	}
	transports := []struct {
		name string
		cfg  func(client.Config) client.Config
	}{
		{"starttls-1.3", func(c client.Config) client.Config { return c }},
		{"starttls-1.2", func(c client.Config) client.Config {
			c.TLSConfig = &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12}
			return c
		}},
		{"directtls", func(c client.Config) client.Config {
			c.Addr = srv.TLSAddr
			c.TLS = client.DirectTLS
			return c
		}},
	}
	for _, tr := range transports {
		for _, mech := range mechs {
			t.Run(tr.name+"/"+mech, func(t *testing.T) {
				t.Parallel()
				cfg := tr.cfg(srv.ClientConfig("alice"))
				cfg.Mechanism = mech
				cfg.Resource = tr.name + "-" + mech
				c := srv.Dial(t, cfg)
				if got := c.JID().String(); got != "alice@localhost/"+cfg.Resource {
					t.Errorf("bound %q", got)
				}
				if !contains(mechanisms(offered(t, srv, tr.cfg(srv.ClientConfig("alice")))), mech) {
					t.Errorf("%s is not offered over %s", mech, tr.name)
				}

				cfg.Password = "wrong password"
				ctx, cancel := context.WithTimeout(context.Background(), wait)
				defer cancel()
				c2, err := client.Dial(ctx, cfg)
				var se *client.SASLError
				if !errors.As(err, &se) || se.Condition != "not-authorized" {
					if c2 != nil {
						c2.Kill()
					}
					t.Fatalf("wrong password: %v, want a not-authorized SASL failure", err)
				}
			})
		}
	}
}

// offered returns the features the server offers to cfg's transport before
// authentication.
func offered(t *testing.T, srv *xmpptest.Server, cfg client.Config) *xmlstream.Element {
	t.Helper()
	var tc *tls.Config
	if cfg.TLSConfig != nil {
		tc = cfg.TLSConfig.Clone()
	}
	var c *conv
	if cfg.TLS == client.DirectTLS {
		conn, err := tls.Dial("tcp", cfg.Addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		c = &conv{t: t, r: client.NewRaw(conn)}
		_, f := c.open()
		return f
	}
	c = dial(t, cfg.Addr)
	c.open()
	c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
	c.expect("<proceed xmlns='" + nsTLS + "'/>")
	if err := c.r.StartTLS(tc); err != nil {
		t.Fatal(err)
	}
	_, f := c.open()
	return f
}

// SASL failures of RFC 6120 §6.5 that leave the stream open for another
// attempt, each followed by a successful login on the same stream.
func TestSASLFailures(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	srv.CreateUser(t, "alice")
	srv.CreateUser(t, "bob")
	cases := []struct {
		name string
		auth string
		cond string
	}{
		// §6.5.5 invalid-mechanism.
		{"unknown mechanism", "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='X-UNKNOWN'>AAAA</auth>", "invalid-mechanism"},
		{"no mechanism", "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>AAAA</auth>", "invalid-mechanism"},
		{"lowercase mechanism", "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='plain'>" + plain("", "alice", xmpptest.Password) + "</auth>", "invalid-mechanism"},
		// §6.5.3 incorrect-encoding.
		{"bad base64", "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>not*base64!</auth>", "incorrect-encoding"},
		{"base64 without padding", "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHg</auth>", "incorrect-encoding"},
		// §6.5.6 invalid-authzid.
		{"authzid of another user", "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + plain("bob@localhost", "alice", xmpptest.Password) + "</auth>", "invalid-authzid"},
		{"malformed authzid", "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + plain("@@localhost", "alice", xmpptest.Password) + "</auth>", "invalid-authzid"},
		{"authzid with a resource", "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + plain("alice@localhost/res", "alice", xmpptest.Password) + "</auth>", "invalid-authzid"},
		// §6.5.8 malformed-request.
		{"PLAIN without separators", "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + base64.StdEncoding.EncodeToString([]byte("alice")) + "</auth>", "malformed-request"},
		// §6.5.10 not-authorized: wrong password, unknown user alike.
		{"wrong password", "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + plain("", "alice", "nope") + "</auth>", "not-authorized"},
		{"unknown user", "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + plain("", "nobody", "nope") + "</auth>", "not-authorized"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := dial(t, srv.Addr)
			c.open()
			c.startTLS()
			c.send(tc.auth)
			if f := client.ParseSASLError(c.next()); f == nil || f.Condition != tc.cond {
				t.Fatalf("got %v, want a %s SASL failure", f, tc.cond)
			}
			// §6.4.5: the client may retry.
			c.authPlain("alice", xmpptest.Password)
			if j := c.bind(""); j == "" {
				t.Fatal("no JID bound after the retry")
			}
		})
	}
}

// RFC 6120 §6.4.6: an authzid that names the authenticated user itself is
// fine; with SCRAM (RFC 5802 §5.1 'a=') another user's is refused.
func TestSASLAuthzid(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	srv.CreateUser(t, "alice")
	srv.CreateUser(t, "bob")

	c := dial(t, srv.Addr)
	c.open()
	c.startTLS()
	c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + plain("alice@localhost", "alice", xmpptest.Password) + "</auth>")
	c.expect("<success xmlns='" + nsSASL + "'/>")

	for _, az := range []string{"bob@localhost", "not a jid@@"} {
		c := dial(t, srv.Addr)
		c.open()
		c.startTLS()
		sc, err := sasl.NewClient("SCRAM-SHA-256", "alice", xmpptest.Password, az, nil)
		if err != nil {
			t.Fatal(err)
		}
		out, _, _ := sc.Step(nil)
		c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>" + base64.StdEncoding.EncodeToString(out) + "</auth>")
		for {
			e := c.next()
			if e.Name.Local != "challenge" {
				if f := client.ParseSASLError(e); f == nil || f.Condition != "invalid-authzid" {
					t.Fatalf("authzid %q: got %s, want an invalid-authzid failure", az, e)
				}
				break
			}
			in, _ := base64.StdEncoding.DecodeString(e.Text())
			out, _, err = sc.Step(in)
			if err != nil {
				t.Fatal(err)
			}
			c.send("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" + base64.StdEncoding.EncodeToString(out) + "</response>")
		}
	}
}

// RFC 6120 §6.4.4: <abort/> in the middle of an exchange is answered with
// <failure><aborted/></failure> and the client may start again; bad base64
// in a response is incorrect-encoding (§6.5.3).
func TestSASLAbortAndBadResponse(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	srv.CreateUser(t, "alice")

	c := dial(t, srv.Addr)
	c.open()
	c.startTLS()
	sc, _ := sasl.NewClient("SCRAM-SHA-1", "alice", xmpptest.Password, "", nil)
	out, _, _ := sc.Step(nil)
	first := "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>" + base64.StdEncoding.EncodeToString(out) + "</auth>"
	c.send(first)
	c.expect("<challenge xmlns='" + nsSASL + "'>{any}</challenge>")
	c.send("<abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")
	c.expect("<failure xmlns='" + nsSASL + "'><aborted/></failure>")

	c.send(first)
	c.expect("<challenge xmlns='" + nsSASL + "'>{any}</challenge>")
	c.send("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>%%%</response>")
	c.expect("<failure xmlns='" + nsSASL + "'><incorrect-encoding/></failure>")

	// An empty PLAIN <auth/> gets an empty challenge (§6.4.2); the
	// response carries the credentials.
	c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'/>")
	ch := c.expect("<challenge xmlns='" + nsSASL + "'/>")
	if txt := ch.Text(); txt != "" && txt != "=" {
		t.Errorf("challenge to an empty PLAIN auth carries %q", txt)
	}
	c.send("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" + plain("", "alice", xmpptest.Password) + "</response>")
	c.expect("<success xmlns='" + nsSASL + "'/>")
	c.r.Restart()
	c.open()
	if j := c.bind("after-abort"); j != "alice@localhost/after-abort" {
		t.Fatalf("bound %q", j)
	}
}

// RFC 6120 §6.4.5: the server allows a few retries (at least 2, at most 5)
// and then closes the stream with policy-violation. Aborts are not
// failures.
func TestSASLTooManyFailures(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	srv.CreateUser(t, "alice")
	c := dial(t, srv.Addr)
	c.open()
	c.startTLS()
	bad := "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + plain("", "alice", "wrong") + "</auth>"
	// An abort in between does not count.
	c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'/>")
	c.expect("<challenge xmlns='" + nsSASL + "'/>")
	c.send("<abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")
	c.expect("<failure xmlns='" + nsSASL + "'><aborted/></failure>")
	failures := 0
	for {
		// The write after the last allowed failure may race with the
		// server closing: the stream error that follows is what counts.
		_ = c.r.Send(bad)
		e := c.next()
		if f := client.ParseSASLError(e); f != nil {
			if f.Condition != "not-authorized" {
				t.Fatalf("failure %q, want not-authorized", f.Condition)
			}
			failures++
			if failures > 5 {
				t.Fatal("more than 5 failed attempts allowed on one stream")
			}
			continue
		}
		if client.ParseStreamError(e) == nil {
			t.Fatalf("got %s, want a SASL failure or a stream error", e)
		}
		if se := client.ParseStreamError(e); se.Condition != "policy-violation" {
			t.Fatalf("stream error %q, want policy-violation", se.Condition)
		}
		break
	}
	if failures < 3 {
		t.Fatalf("stream closed after %d failures, want at least 2 retries", failures)
	}
	c.expectClosed()
}

// RFC 5802 §6: a client that says "y" (I could bind, but you did not
// offer it) on a stream where the server did offer -PLUS is under a
// downgrade attack; the server must fail the exchange. Without TLS (no
// -PLUS offered) "y" is fine.
func TestSCRAMDowngrade(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "tls: {required: false}")
	srv.CreateUser(t, "alice")

	c := dial(t, srv.Addr)
	c.open()
	c.startTLS()
	c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>" + base64.StdEncoding.EncodeToString([]byte("y,,n=alice,r=0123456789abcdef")) + "</auth>")
	e := c.next()
	if e.Name.Local == "challenge" {
		t.Fatalf("downgraded SCRAM accepted: %s", e)
	}
	if f := client.ParseSASLError(e); f == nil {
		t.Fatalf("got %s, want a SASL failure", e)
	}

	c = dial(t, srv.Addr)
	c.open()
	c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>" + base64.StdEncoding.EncodeToString([]byte("y,,n=alice,r=0123456789abcdef")) + "</auth>")
	c.expect("<challenge xmlns='" + nsSASL + "'>{any}</challenge>")
}

// A client that falls back through mechanisms and channel-binding types
// it cannot complete is not guessing passwords: slixmpp 1.8 on TLS 1.3
// asks for tls-unique with each -PLUS mechanism, then plain SCRAM with
// the 'y' flag (refused as a downgrade), and only then tries PLAIN. None
// of those six failures may end the stream; real wrong passwords still
// do (TestSASLTooManyFailures).
func TestSASLFallbackIsNotAFailedLogin(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	srv.CreateUser(t, "alice")
	c := dial(t, srv.Addr)
	c.open()
	c.startTLS()
	for _, mech := range []string{"SCRAM-SHA-512-PLUS", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"} {
		c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='" + mech + "'>" +
			base64.StdEncoding.EncodeToString([]byte("p=tls-unique,,n=alice,r=0123456789abcdef")) + "</auth>")
		c.expect("<failure xmlns='" + nsSASL + "'><not-authorized/><text xml:lang='en'>unsupported channel binding type</text></failure>")
	}
	for _, mech := range []string{"SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1"} {
		c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='" + mech + "'>" +
			base64.StdEncoding.EncodeToString([]byte("y,,n=alice,r=0123456789abcdef")) + "</auth>")
		c.expect("<failure xmlns='" + nsSASL + "'><not-authorized/><text xml:lang='en'>channel binding downgrade</text></failure>")
	}
	c.authPlain("alice", xmpptest.Password)
}
