package c2s_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/client"
	"github.com/parleyim/parley/internal/xmlstream"
	"github.com/parleyim/parley/internal/xmpptest"
)

// badInput are byte sequences that end any stream with a stream error, in
// every state (RFC 6120 §4.9.3, §11).
var badInput = []struct {
	name string
	in   string
	cond string
}{
	// §4.9.3.13 not-well-formed.
	{"mismatched end tag", "<message><body>hi</message>", "not-well-formed"},
	{"unclosed attribute", "<message id='a></message>", "not-well-formed"},
	{"lt in attribute", "<message id='a<b'/>", "not-well-formed"},
	{"duplicate attribute", "<message id='a' id='b'/>", "not-well-formed"},
	{"undeclared prefix", "<x:message/>", "not-well-formed"},
	{"invalid UTF-8", "<message><body>\xff\xfe</body></message>", "not-well-formed"},
	{"illegal character", "<message><body>\x01</body></message>", "not-well-formed"},
	{"bad character reference", "<message><body>&#0;</body></message>", "not-well-formed"},
	{"end tag for another root", "</stream:features>", "not-well-formed"},
	{"second XML declaration", "<?xml version='1.0'?>", "not-well-formed"},
	// §4.9.3.1 bad-format: well-formed, but not XMPP.
	{"text at top level", "hello", "bad-format"},
	{"CDATA at top level", "<![CDATA[x]]>", "bad-format"},
	// §4.9.3.18 restricted-xml (§11.1).
	{"comment", "<!-- hi -->", "restricted-xml"},
	{"comment in a stanza", "<message><!-- hi --></message>", "restricted-xml"},
	{"processing instruction", "<?php echo 1; ?>", "restricted-xml"},
	{"processing instruction in a stanza", "<message><?pi x?></message>", "restricted-xml"},
	{"DTD", "<!DOCTYPE message [<!ENTITY a 'b'>]>", "restricted-xml"},
	{"entity declaration", "<!ENTITY a 'b'>", "restricted-xml"},
	{"element declaration", "<!ELEMENT message ANY>", "restricted-xml"},
	{"undefined entity", "<message><body>&nbsp;</body></message>", "restricted-xml"},
	{"undefined entity in an attribute", "<message id='&a;'/>", "restricted-xml"},
	// §4.9.3.24 unsupported-stanza-type.
	{"unknown element", "<foo xmlns='urn:example:foo'/>", "unsupported-stanza-type"},
	{"stanza in another namespace", "<message xmlns='jabber:server'/>", "unsupported-stanza-type"},
	{"unknown element in jabber:client", "<note/>", "unsupported-stanza-type"},
	{"stream features from the client", "<stream:features/>", "unsupported-stanza-type"},
	// §4.9.3.17 policy-violation: the decoder's limits (stanza size from
	// limits.max_stanza_size; depth 64, 64 attributes and 256-byte names are
	// the xmlstream defaults).
	{"stanza too large", "<message><body>" + strings.Repeat("a", 12000) + "</body></message>", "policy-violation"},
	{"too deep", strings.Repeat("<a>", 65) + strings.Repeat("</a>", 65), "policy-violation"},
	{"too many attributes", "<message" + manyAttrs(65) + "/>", "policy-violation"},
	{"name too long", "<message><" + strings.Repeat("n", 257) + "/></message>", "policy-violation"},
	{"attribute name too long", "<message " + strings.Repeat("n", 257) + "='v'/>", "policy-violation"},
}

func manyAttrs(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(" a")
		b.WriteString(strings.Repeat("x", i))
		b.WriteString("='v'")
	}
	return b.String()
}

// limitsConfig keeps the stanza limit at the RFC 6120 §13.12 minimum so
// that the size case stays small.
const limitsConfig = "limits: {max_stanza_size: 10000}"

// Malformed input before authentication: on the plain TCP stream right
// after the header, and on the TLS stream before SASL.
func TestMalformedBeforeAuth(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, limitsConfig)
	for _, state := range []string{"plain", "tls"} {
		for _, tc := range badInput {
			t.Run(state+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				c := dial(t, srv.Addr)
				c.open()
				if state == "tls" {
					c.startTLS()
				}
				c.send(tc.in)
				c.expectStreamError(tc.cond)
			})
		}
	}
}

// Malformed input on a bound session.
func TestMalformedAfterBind(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, limitsConfig)
	for _, tc := range badInput {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			user := xmpptest.UniqueName("mal")
			srv.CreateUser(t, user)
			c := dial(t, srv.Addr)
			c.login(user, "r")
			c.send(tc.in)
			c.expectStreamError(tc.cond)
		})
	}
}

// The limits are limits, not off-by-one traps: input just inside each one
// is accepted on a bound session (the stanza is echoed back through the
// router to prove it was parsed and routed).
func TestLimitsInside(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, limitsConfig)
	srv.CreateUser(t, "alice")
	c := dial(t, srv.Addr)
	me := c.login("alice", "r")
	cases := []struct {
		name, payload string
	}{
		{"large", "<body>" + strings.Repeat("a", 9000) + "</body>"},
		{"deep", strings.Repeat("<a xmlns='urn:x'>", 63) + strings.Repeat("</a>", 63)},
		{"long name", "<" + strings.Repeat("n", 256) + " xmlns='urn:x'/>"},
	}
	for i, tc := range cases {
		id := "lim" + string(rune('a'+i))
		c.send("<message to='" + me + "' id='" + id + "'>" + tc.payload + "</message>")
		got := c.next()
		if got.Name.Local != "message" || got.Attr("id") != id || got.Attr("from") != me {
			t.Fatalf("%s: got %s, want the message back from %s", tc.name, got, me)
		}
	}
	// 64 attributes: from, to, id and 61 more (from is sent so that the
	// stamped copy that comes back has no more attributes than we sent).
	c.send("<message from='" + me + "' to='" + me + "' id='attrs'" + manyAttrs(61) + "/>")
	if got := c.next(); got.Attr("id") != "attrs" || len(got.Attrs) < 64 {
		t.Fatalf("64 attributes: got %s", got)
	}
}

// RFC 6120 §4.9.3.12: stanzas before the stream is authenticated are
// refused with not-authorized.
func TestStanzaBeforeAuth(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	cases := []struct {
		name, in string
	}{
		{"message", "<message to='alice@localhost'><body>hi</body></message>"},
		{"presence", "<presence/>"},
		{"iq to a user", "<iq type='get' id='1' to='alice@localhost'><query xmlns='jabber:iq:version'/></iq>"},
		{"iq to the server", "<iq type='get' id='1' to='localhost'><query xmlns='jabber:iq:version'/></iq>"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := dial(t, srv.Addr)
			c.open()
			c.startTLS()
			c.send(tc.in)
			c.expectStreamError("not-authorized")
		})
	}
}

// RFC 6120 §7.1: after SASL but before binding, stanzas are refused too.
func TestStanzaBeforeBind(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	srv.CreateUser(t, "alice")
	for _, in := range []string{
		"<message to='alice@localhost'><body>hi</body></message>",
		"<presence/>",
		"<iq type='get' id='v1' to='localhost'><query xmlns='jabber:iq:version'/></iq>",
	} {
		c := dial(t, srv.Addr)
		c.open()
		c.startTLS()
		c.authPlain("alice", xmpptest.Password)
		c.send(in)
		c.expectStreamError("not-authorized")
	}
}

// RFC 6120 §8.1.2.1, §4.9.3.9: a 'from' that does not name the session is
// invalid-from; the session's own full or bare JID is accepted.
func TestSpoofedFrom(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	srv.CreateUser(t, "alice")
	srv.CreateUser(t, "bob")

	c := dial(t, srv.Addr)
	me := c.login("alice", "home")
	for i, from := range []string{me, "alice@localhost", "ALICE@localhost/home"} {
		id := "ok" + string(rune('0'+i))
		c.send("<message from='" + from + "' to='" + me + "' id='" + id + "'><body>x</body></message>")
		got := c.expect("<message id='" + id + "'><body>x</body></message>")
		if got.Attr("from") != me {
			t.Errorf("from %q was stamped as %q, want %q", from, got.Attr("from"), me)
		}
	}

	for _, from := range []string{"bob@localhost", "bob@localhost/home", "alice@localhost/other", "localhost", "alice@example.org/home", "@@"} {
		t.Run(from, func(t *testing.T) {
			c := dial(t, srv.Addr)
			c.login("alice", xmpptest.UniqueName("r"))
			c.send("<message from='" + from + "' to='bob@localhost'><body>x</body></message>")
			c.expectStreamError("invalid-from")
		})
	}
}

// RFC 6120 §4.9.3.4 connection-timeout: a client that does not finish
// negotiating in time is disconnected, whether it is silent, stops after
// the header, or keeps the socket busy with whitespace.
func TestNegotiationTimeout(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "limits: {negotiation_timeout: 500ms}")
	srv.CreateUser(t, "alice")

	t.Run("silent", func(t *testing.T) {
		t.Parallel()
		c := dial(t, srv.Addr)
		start := time.Now()
		c.readHeader() // §4.9.1.2: the server opens its stream first
		c.expectStreamError("connection-timeout")
		if d := time.Since(start); d < 450*time.Millisecond {
			t.Errorf("timed out after %v, before the 500ms negotiation timeout", d)
		}
	})
	t.Run("after header", func(t *testing.T) {
		t.Parallel()
		c := dial(t, srv.Addr)
		c.open()
		c.expectStreamError("connection-timeout")
	})
	t.Run("after TLS", func(t *testing.T) {
		t.Parallel()
		c := dial(t, srv.Addr)
		c.open()
		c.startTLS()
		c.expectStreamError("connection-timeout")
	})
	t.Run("after SASL", func(t *testing.T) {
		t.Parallel()
		c := dial(t, srv.Addr)
		c.open()
		c.startTLS()
		c.authPlain("alice", xmpptest.Password)
		c.expectStreamError("connection-timeout")
	})
	t.Run("whitespace does not extend it", func(t *testing.T) {
		t.Parallel()
		c := dial(t, srv.Addr)
		c.open()
		// Keep the connection busy; the bound on negotiation is overall,
		// not per read.
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					if c.r.Send(" ") != nil {
						return
					}
				}
			}
		}()
		defer func() { close(stop); <-done }()
		start := time.Now()
		e := c.next()
		if se := client.ParseStreamError(e); se == nil || se.Condition != "connection-timeout" {
			t.Fatalf("got %s, want a connection-timeout stream error", e)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("negotiation went on for %v with a 500ms timeout", d)
		}
	})
}

// RFC 6120 §4.9.1.1: a client that reports a stream error is answered with
// the closing tag only, never with a stream error of our own.
func TestClientStreamError(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	srv.CreateUser(t, "alice")
	streamErr := "<stream:error><undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
	for _, bound := range []bool{false, true} {
		c := dial(t, srv.Addr)
		if bound {
			c.login("alice", "r")
		} else {
			c.open()
		}
		c.send(streamErr)
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		e, err := c.r.Next(ctx)
		cancel()
		if !errors.Is(err, xmlstream.ErrStreamEnd) {
			t.Fatalf("bound=%v: got %v %v, want the closing tag", bound, e, err)
		}
		c.send("</stream:stream>")
		c.expectEOF()
	}
}

// A connection that closes before sending a header gets no XML at all: no
// stream was opened, so none is closed.
func TestNoHeaderNoReply(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	c := dial(t, srv.Addr)
	if cw, ok := c.r.Conn().(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	conn := c.r.Conn()
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	b, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("reading until the server closes: %v", err)
	}
	if len(b) != 0 {
		t.Fatalf("server wrote %q to a client that never opened a stream", b)
	}
}

// RFC 6120 §5.4.3.3 and the STARTTLS injection attacks (CVE-2011-0411 and
// kin): plaintext the client sends after <starttls/> is never read as part
// of the encrypted stream.
func TestSTARTTLSInjection(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	c := dial(t, srv.Addr)
	c.open()
	// One write: the command and a stanza that must be thrown away.
	c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><message to='alice@localhost'><body>injected</body></message>")
	c.expect("<proceed xmlns='" + nsTLS + "'/>")
	if err := c.r.StartTLS(nil); err != nil {
		t.Fatal(err)
	}
	// Had the message survived, the new stream would end with
	// not-authorized; instead it opens normally.
	_, f := c.open()
	if mechanisms(f) == nil {
		t.Fatalf("features after TLS: %s", f)
	}
	c.send("</stream:stream>")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if e, err := c.r.Next(ctx); !errors.Is(err, xmlstream.ErrStreamEnd) {
		t.Fatalf("got %v %v, want the closing tag", e, err)
	}
}

// XEP-0077 §3 over an unauthenticated stream: the server answers IQs
// addressed to itself (in any letter case) and nobody else.
func TestPreAuthIQ(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	c := dial(t, srv.Addr)
	c.open()
	c.startTLS()
	for i, to := range []string{"", "localhost", "LOCALHOST"} {
		id := "reg" + string(rune('0'+i))
		attr := ""
		if to != "" {
			attr = " to='" + to + "'"
		}
		c.send("<iq type='get' id='" + id + "'" + attr + "><query xmlns='jabber:iq:register'/></iq>")
		e := c.next()
		if e.Name.Local != "iq" || e.Attr("id") != id || e.Attr("type") != "result" {
			t.Fatalf("to %q: got %s, want the registration form", to, e)
		}
	}
	c.send("<iq type='get' id='x' to='bob@localhost'><query xmlns='jabber:iq:register'/></iq>")
	c.expectStreamError("not-authorized")
}
