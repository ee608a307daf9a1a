package c2s_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/xmlstream"
	"github.com/parleyim/parley/internal/xmpptest"
)

// RFC 6120 §4.9.1.2: an error in the initial header is still answered with
// a response header, then the error, then the closing tag. Each case sends
// one bad header and expects one condition.
func TestStreamHeaderErrors(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, limitsConfig)
	cases := []struct {
		name string
		hdr  string
		cond string
	}{
		// §4.9.3.6: a 'to' this server does not serve.
		{"unknown host", header("example.org", ""), "host-unknown"},
		{"to is a full JID", header("user@localhost/res", ""), "host-unknown"},
		{"to is not a JID", header("local@@host", ""), "host-unknown"},
		// §4.8.1, §4.9.3.10: the root must be {http://etherx.jabber.org/streams}stream.
		{"wrong stream namespace", "<stream:stream xmlns='jabber:client' xmlns:stream='http://example.com/streams' to='localhost' version='1.0'>", "invalid-namespace"},
		{"root not named stream", "<stream:flow xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>", "invalid-namespace"},
		// §4.9.3.2: the stream element without its prefix.
		{"stream without prefix", "<stream xmlns='jabber:client' to='localhost' version='1.0'>", "bad-namespace-prefix"},
		{"stream in the stream namespace as default", "<stream xmlns='http://etherx.jabber.org/streams' to='localhost' version='1.0'>", "invalid-namespace"},
		// §4.8.2, §4.9.3.10: the content namespace of a c2s stream is jabber:client.
		{"content namespace jabber:server", "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>", "invalid-namespace"},
		{"content namespace other", "<stream:stream xmlns='urn:example' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>", "invalid-namespace"},
		{"no content namespace", "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>", "invalid-namespace"},
		// §4.7.5, §4.9.3.25.
		{"version 2.0", "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='2.0'>", "unsupported-version"},
		{"version 0.9", "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='0.9'>", "unsupported-version"},
		{"no version", "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost'>", "unsupported-version"},
		{"version not a number", "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='one'>", "unsupported-version"},
		// §4.7.1, §4.9.3.9: a 'from' that is not a JID.
		{"malformed from", header("localhost", " from='@localhost'"), "invalid-from"},
		// §11.1, §4.9.3.18: restricted XML before the header.
		{"doctype before header", "<?xml version='1.0'?><!DOCTYPE stream:stream>" + header("localhost", ""), "restricted-xml"},
		{"comment before header", "<?xml version='1.0'?><!-- hi -->" + header("localhost", ""), "restricted-xml"},
		{"processing instruction before header", "<?xml version='1.0'?><?foo bar?>" + header("localhost", ""), "restricted-xml"},
		// §4.9.3.13: not XML at all.
		{"text before header", "hello " + header("localhost", ""), "not-well-formed"},
		{"malformed header tag", "<stream:stream xmlns='jabber:client' to='localhost' version=1.0>", "not-well-formed"},
		// §4.9.3.17: the header counts against the stanza size limit, and
		// the other decoder limits apply to it too.
		{"header too large", header("localhost", " x='"+strings.Repeat("a", 12000)+"'"), "policy-violation"},
		{"header with too many attributes", header("localhost", manyAttrs(61)), "policy-violation"},
		// §11.6: UTF-8 only.
		{"declared encoding", "<?xml version='1.0' encoding='ISO-8859-1'?>" + header("localhost", ""), "unsupported-encoding"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := dial(t, srv.Addr)
			c.send(tc.hdr)
			h := c.readHeader()
			if h.Attr("from") == "" {
				t.Errorf("response header without from: %s", h)
			}
			c.expectStreamError(tc.cond)
		})
	}
}

// RFC 6120 §4.7: a good header is answered with from = the served domain,
// to = the client's from, a fresh unguessable id, version 1.0 and the
// client's xml:lang (or the server's default when it gave none).
func TestStreamHeaderResponse(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	ids := map[string]bool{}
	cases := []struct {
		name     string
		extra    string
		wantLang string
		wantTo   string
	}{
		{"lang echoed", " xml:lang='de'", "de", ""},
		{"lang defaulted", "", "en", ""},
		{"from echoed as to", " from='juliet@localhost' xml:lang='fr'", "fr", "juliet@localhost"},
		{"from normalized", " from='Juliet@LOCALHOST'", "en", "juliet@localhost"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, srv.Addr)
			c.send(header("localhost", tc.extra))
			h := c.readHeader()
			if got := h.Attr("from"); got != "localhost" {
				t.Errorf("from = %q, want localhost", got)
			}
			if got := h.Attr("to"); got != tc.wantTo {
				t.Errorf("to = %q, want %q", got, tc.wantTo)
			}
			if got := h.Lang(); got != tc.wantLang {
				t.Errorf("xml:lang = %q, want %q", got, tc.wantLang)
			}
			id := h.Attr("id")
			if len(id) < 16 {
				t.Errorf("id %q is too short to be unguessable (§4.7.3)", id)
			}
			if ids[id] {
				t.Errorf("id %q reused", id)
			}
			ids[id] = true
			f := c.next()
			if f.Name.Space != nsStream || f.Name.Local != "features" {
				t.Fatalf("got %s, want features", f)
			}
		})
	}
}

// RFC 6120 §4.7.2: 'to' SHOULD be present; without it the server serves its
// default domain rather than failing.
func TestStreamHeaderWithoutTo(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	c := dial(t, srv.Addr)
	c.send(header("", ""))
	h := c.readHeader()
	if h.Attr("from") != "localhost" {
		t.Errorf("from = %q, want the default host localhost", h.Attr("from"))
	}
	f := c.next()
	if f.Child(nsTLS, "starttls") == nil {
		t.Errorf("features without starttls: %s", f)
	}
}

// RFC 6120 §4.3.1, §4.7.3: every restart (after TLS, after SASL) is
// answered with a new header carrying a new id; the host cannot change.
func TestStreamRestartIDs(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	srv.CreateUser(t, "alice")
	c := dial(t, srv.Addr)
	h1, _ := c.open()
	h2, f2 := c.startTLS()
	if f2.Child(nsTLS, "starttls") != nil {
		t.Errorf("starttls offered again on the TLS stream: %s", f2)
	}
	h3, f3 := c.authPlain("alice", xmpptest.Password)
	if f3.Child(nsBind, "bind") == nil {
		t.Errorf("features after SASL without bind: %s", f3)
	}
	if f3.Child(nsSASL, "mechanisms") != nil {
		t.Errorf("mechanisms offered after SASL: %s", f3)
	}
	ids := []string{h1.Attr("id"), h2.Attr("id"), h3.Attr("id")}
	if ids[0] == ids[1] || ids[1] == ids[2] || ids[0] == ids[2] {
		t.Errorf("stream ids repeat across restarts: %q", ids)
	}
	if j := c.bind("laptop"); j != "alice@localhost/laptop" {
		t.Errorf("bound %q", j)
	}
}

// RFC 6120 §4.3.1: a restart must name the same host.
func TestStreamRestartOtherHost(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "hosts: [localhost, example.test]")
	c := dial(t, srv.Addr)
	c.open()
	c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
	c.expect("<proceed xmlns='" + nsTLS + "'/>")
	if err := c.r.StartTLS(nil); err != nil {
		t.Fatal(err)
	}
	c.send(header("example.test", ""))
	c.readHeader()
	c.expectStreamError("host-unknown")
}

// RFC 6120 §4.7.5: version is "major.minor", each an integer in which
// leading zeros are ignored; a higher minor version of 1 is accepted and
// answered with 1.0. Anything else is unsupported-version.
func TestStreamVersions(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	cases := []struct {
		version string
		ok      bool
	}{
		{"1.0", true},
		{"1.1", true},
		{"1.10", true},
		{"01.0", true},
		{"001.00", true},
		{"2.0", false},
		{"10.0", false},
		{"0.9", false},
		{"1", false},
		{"1.", false},
		{".0", false},
		{"1.x", false},
		{"1.0.0", false},
		{"+1.0", false},
		{" 1.0", false},
	}
	for _, tc := range cases {
		t.Run(tc.version, func(t *testing.T) {
			t.Parallel()
			c := dial(t, srv.Addr)
			c.send("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='" + tc.version + "'>")
			c.readHeader()
			if tc.ok {
				if f := c.next(); f.Name.Space != nsStream || f.Name.Local != "features" {
					t.Fatalf("got %s, want features", f)
				}
				return
			}
			c.expectStreamError("unsupported-version")
		})
	}
}

// Namespaces in XML: the stream prefix is the client's choice (RFC 6120
// §4.8.5 only says 'stream' is conventional), and the closing tag uses it.
func TestStreamOtherPrefix(t *testing.T) {
	t.Parallel()
	srv := xmpptest.Start(t, "")
	c := dial(t, srv.Addr)
	c.send("<?xml version='1.0'?><s:stream xmlns='jabber:client' xmlns:s='http://etherx.jabber.org/streams' to='localhost' version='1.0'>")
	c.readHeader()
	if f := c.next(); f.Name.Space != nsStream || f.Name.Local != "features" {
		t.Fatalf("got %s, want features", f)
	}
	c.send("</s:stream>")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if e, err := c.r.Next(ctx); !errors.Is(err, xmlstream.ErrStreamEnd) {
		t.Fatalf("after </s:stream>: %v %v, want the closing tag", e, err)
	}
	c.expectEOF()
}
