package c2s_test

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/client"
	"github.com/parleyim/parley/internal/sasl"
	"github.com/parleyim/parley/internal/xmlstream"
	"github.com/parleyim/parley/internal/xmpptest"
)

// Namespaces, spelled out so that a typo in the server's constants cannot
// hide behind the same typo here.
const (
	nsStream  = "http://etherx.jabber.org/streams"
	nsStreams = "urn:ietf:params:xml:ns:xmpp-streams"
	nsTLS     = "urn:ietf:params:xml:ns:xmpp-tls"
	nsSASL    = "urn:ietf:params:xml:ns:xmpp-sasl"
	nsBind    = "urn:ietf:params:xml:ns:xmpp-bind"
	nsSession = "urn:ietf:params:xml:ns:xmpp-session"
)

// wait bounds every read in these tests. Nothing waits without a deadline.
const wait = 5 * time.Second

// header returns a client stream header (RFC 6120 §4.7) addressed to to;
// extra is pasted into the start tag as is.
func header(to, extra string) string {
	h := "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'"
	if to != "" {
		h += " to='" + to + "'"
	}
	return h + extra + ">"
}

// conv is a raw, byte-level conversation with the server: the test sends
// exactly what it writes and checks every element it reads.
type conv struct {
	t *testing.T
	r *client.Raw
}

// dial opens a raw TCP conversation with addr.
func dial(t *testing.T, addr string) *conv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	r, err := client.DialRaw(ctx, addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { r.Close() })
	return &conv{t: t, r: r}
}

func (c *conv) send(s string) {
	c.t.Helper()
	if err := c.r.Send(s); err != nil {
		c.t.Fatalf("send %q: %v", s, err)
	}
}

// readHeader reads the server's stream header and checks what RFC 6120
// §4.7 requires of a response header.
func (c *conv) readHeader() *xmlstream.Element {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	h, err := c.r.ReadHeader(ctx)
	if err != nil {
		c.t.Fatalf("reading the server's stream header: %v", err)
	}
	if h.Name.Space != nsStream || h.Name.Local != "stream" {
		c.t.Fatalf("server header is {%s}%s, want {%s}stream", h.Name.Space, h.Name.Local, nsStream)
	}
	if h.Attr("version") != "1.0" {
		c.t.Errorf("server header version = %q, want 1.0 (§4.7.5)", h.Attr("version"))
	}
	if h.Attr("id") == "" {
		c.t.Errorf("server header without id (§4.7.3): %s", h)
	}
	if h.Lang() == "" {
		c.t.Errorf("server header without xml:lang (§4.7.4): %s", h)
	}
	return h
}

// next reads the next top-level element.
func (c *conv) next() *xmlstream.Element {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	e, err := c.r.Next(ctx)
	if err != nil {
		c.t.Fatalf("reading the next element: %v", err)
	}
	return e
}

// expect reads the next element and checks it against the pattern (see
// xmpptest.Match; the pattern's default namespace is jabber:client).
func (c *conv) expect(pattern string) *xmlstream.Element {
	c.t.Helper()
	want := xmpptest.Parse(c.t, pattern)
	got := c.next()
	if !xmpptest.Match(want, got) {
		c.t.Fatalf("got  %s\nwant %s", got, want)
	}
	return got
}

// open sends a stream header to the server's domain and reads the header
// and features.
func (c *conv) open() (hdr, features *xmlstream.Element) {
	c.t.Helper()
	c.send(header("localhost", " xml:lang='en'"))
	hdr = c.readHeader()
	features = c.next()
	if features.Name.Space != nsStream || features.Name.Local != "features" {
		c.t.Fatalf("after the header: %s, want <stream:features/>", features)
	}
	return hdr, features
}

// startTLS negotiates STARTTLS (RFC 6120 §5.4) and opens the new stream.
func (c *conv) startTLS() (hdr, features *xmlstream.Element) {
	c.t.Helper()
	c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
	c.expect("<proceed xmlns='" + nsTLS + "'/>")
	if err := c.r.StartTLS(nil); err != nil {
		c.t.Fatalf("TLS handshake: %v", err)
	}
	return c.open()
}

// plain returns a PLAIN initial response (RFC 4616).
func plain(authzid, user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(authzid + "\x00" + user + "\x00" + pass))
}

// authPlain authenticates with PLAIN and restarts the stream.
func (c *conv) authPlain(user, pass string) (hdr, features *xmlstream.Element) {
	c.t.Helper()
	c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + plain("", user, pass) + "</auth>")
	c.expect("<success xmlns='" + nsSASL + "'/>")
	c.r.Restart()
	return c.open()
}

// scram runs a SCRAM exchange with the sasl package's client (no channel
// binding) and reports the final element the server sent.
func (c *conv) scram(mech, user, pass string) *xmlstream.Element {
	c.t.Helper()
	sc, err := sasl.NewClient(mech, user, pass, "", nil)
	if err != nil {
		c.t.Fatal(err)
	}
	out, _, err := sc.Step(nil)
	if err != nil {
		c.t.Fatal(err)
	}
	c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='" + mech + "'>" + base64.StdEncoding.EncodeToString(out) + "</auth>")
	for {
		e := c.next()
		if e.Name.Space != nsSASL || e.Name.Local != "challenge" {
			return e
		}
		in, err := base64.StdEncoding.DecodeString(e.Text())
		if err != nil {
			c.t.Fatalf("challenge: %v", err)
		}
		if out, _, err = sc.Step(in); err != nil {
			c.t.Fatalf("SCRAM step: %v", err)
		}
		c.send("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" + base64.StdEncoding.EncodeToString(out) + "</response>")
	}
}

// bind binds resource res ("" lets the server choose) and returns the
// bound JID as the server wrote it.
func (c *conv) bind(res string) string {
	c.t.Helper()
	b := "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"
	if res != "" {
		b = "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>" + res + "</resource></bind>"
	}
	c.send("<iq type='set' id='bind1'>" + b + "</iq>")
	r := c.expect("<iq type='result' id='bind1'><bind xmlns='" + nsBind + "'><jid>{any}</jid></bind></iq>")
	return r.FirstChild().ChildText(nsBind, "jid")
}

// login runs the whole negotiation over STARTTLS and PLAIN for user (whose
// password is xmpptest.Password) and binds res.
func (c *conv) login(user, res string) string {
	c.t.Helper()
	c.open()
	c.startTLS()
	c.authPlain(user, xmpptest.Password)
	return c.bind(res)
}

// expectStreamError reads a <stream:error/> with condition cond (RFC 6120
// §4.9), then the closing tag, and checks that the server closes the TCP
// connection once the client has closed its side too (§4.4).
func (c *conv) expectStreamError(cond string) *xmlstream.Element {
	c.t.Helper()
	e := c.next()
	if e.Name.Space != nsStream || e.Name.Local != "error" {
		c.t.Fatalf("got %s, want a stream error %s", e, cond)
	}
	se := client.ParseStreamError(e)
	if se.Condition != cond {
		c.t.Fatalf("stream error %q (%q), want %q", se.Condition, se.Text, cond)
	}
	// §4.9.3: the condition is the only child in the streams namespace
	// besides an optional text.
	n := 0
	for _, ch := range e.Elements() {
		if ch.Name.Space == nsStreams && ch.Name.Local != "text" {
			n++
		}
	}
	if n != 1 {
		c.t.Errorf("stream error with %d conditions: %s", n, e)
	}
	c.expectClosed()
	return e
}

// expectClosed checks that the server ends its stream (§4.4) and, once we
// have ended ours, closes the TCP connection.
func (c *conv) expectClosed() {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	e, err := c.r.Next(ctx)
	if !errors.Is(err, xmlstream.ErrStreamEnd) {
		c.t.Fatalf("after the stream error: %v %v, want the closing </stream:stream>", e, err)
	}
	_ = c.r.Send("</stream:stream>") // the server may already be gone
	if cw, ok := c.r.Conn().(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	c.expectEOF()
}

// expectEOF checks that the server closes the connection and sends nothing
// more.
func (c *conv) expectEOF() {
	c.t.Helper()
	conn := c.r.Conn()
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	var buf [256]byte
	n, err := conn.Read(buf[:])
	if n > 0 {
		c.t.Fatalf("data after the end of the stream: %q", buf[:n])
	}
	if !isClosed(err) {
		c.t.Fatalf("waiting for the server to close the connection: %v", err)
	}
}

func isClosed(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}

// mechanisms lists the SASL mechanisms offered in features.
func mechanisms(features *xmlstream.Element) []string {
	m := features.Child(nsSASL, "mechanisms")
	if m == nil {
		return nil
	}
	var out []string
	for _, e := range m.Elements() {
		out = append(out, e.Text())
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// recvStreamError waits for the stream on a negotiated client to end with
// a stream error and returns its condition.
func recvStreamError(t *testing.T, c *client.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		e, err := c.Recv(ctx)
		if err == nil {
			continue // presence and the like that were already queued
		}
		var se *client.StreamError
		if !errors.As(err, &se) {
			t.Fatalf("waiting for a stream error: %v (last element %v)", err, e)
		}
		return se.Condition
	}
}

// iq sends an IQ request on c and waits for the reply.
func iq(t *testing.T, c *client.Conn, s string) (*xmlstream.Element, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return c.IQ(ctx, xmpptest.Parse(t, s))
}
