package client

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/sasl"
	"github.com/parleyim/parley/internal/xmlstream"
)

// A tiny scripted XMPP server: STARTTLS (required), SASL through the sasl
// package, in-band registration, bind; then the test's script runs.

const testDomain = "example.test"

var (
	certOnce sync.Once
	testCert tls.Certificate
)

func serverCert(t *testing.T) tls.Certificate {
	certOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1),
			Subject:      pkix.Name{CommonName: testDomain},
			DNSNames:     []string{testDomain},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(time.Hour),
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		testCert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	})
	return testCert
}

type fakeServer struct {
	t      *testing.T
	ln     net.Listener
	script func(fc *fakeConn) // after bind; nil = echo until end
	mechs  []string

	mu    sync.Mutex
	users map[string]string
	seen  []string // mechanisms used, channel binding flags
}

type fakeConn struct {
	t    *testing.T
	conn net.Conn
	dec  *xmlstream.Decoder
}

func (fc *fakeConn) send(s string) {
	fc.conn.Write([]byte(s))
}

func (fc *fakeConn) next() *xmlstream.Element {
	e, err := fc.dec.Next()
	if err != nil {
		panic(err) // recovered by serve: ends the connection
	}
	return e
}

func newFakeServer(t *testing.T, script func(fc *fakeConn)) *fakeServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{t: t, ln: ln, script: script, users: map[string]string{"alice": "secret"},
		mechs: []string{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"}}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				s.serve(c)
			}()
		}
	}()
	return s
}

func (s *fakeServer) cfg() Config {
	return Config{Addr: s.ln.Addr().String(), Domain: testDomain, Username: "alice", Password: "secret", Timeout: 5 * time.Second}
}

func (s *fakeServer) header(fc *fakeConn) bool {
	h, err := fc.dec.ReadStreamStart()
	if err != nil {
		return false
	}
	fc.send("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='s1' from='" + testDomain + "' version='1.0'>")
	if h.Attr("to") != testDomain {
		fc.send("<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>who?</text></stream:error></stream:stream>")
		return false
	}
	return true
}

func (s *fakeServer) serve(c net.Conn) {
	defer func() {
		if r := recover(); r != nil && !errors.Is(asErr(r), io.EOF) {
			s.t.Logf("fake server: %v", r)
		}
	}()
	fc := &fakeConn{t: s.t, conn: c, dec: xmlstream.NewDecoder(c, xmlstream.Limits{})}
	if !s.header(fc) {
		return
	}
	fc.send("<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>")
	if e := fc.next(); e.Name.Local != "starttls" {
		panic("want starttls, got " + e.String())
	}
	fc.send("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
	cert := serverCert(s.t)
	tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
	if err := tc.Handshake(); err != nil {
		panic(err)
	}
	fc.conn = tc
	fc.dec.Reset(tc)

	// Authentication, with registration allowed before it.
	for authed := false; !authed; {
		if !s.header(fc) {
			return
		}
		var b strings.Builder
		b.WriteString("<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>")
		for _, m := range s.mechs {
			b.WriteString("<mechanism>" + m + "</mechanism>")
		}
		b.WriteString("</mechanisms><register xmlns='http://jabber.org/features/iq-register'/></stream:features>")
		fc.send(b.String())
		for !authed {
			e := fc.next()
			switch e.Name.Local {
			case "iq":
				s.register(fc, e)
				continue
			case "auth":
			default:
				panic("unexpected " + e.String())
			}
			cs := tc.ConnectionState()
			sv, err := sasl.NewServer(e.Attr("mechanism"), sasl.ServerConfig{
				Lookup:         s.lookup,
				CB:             sasl.TLSChannelBinding(&cs, cert.Leaf),
				PlusAdvertised: true,
			})
			in, _ := base64.StdEncoding.DecodeString(e.Text())
			if err == nil {
				s.mu.Lock()
				s.seen = append(s.seen, e.Attr("mechanism")+" "+strings.SplitN(string(in), ",", 2)[0])
				s.mu.Unlock()
			}
			for err == nil {
				var out []byte
				var done bool
				out, done, err = sv.Step(context.Background(), in)
				if err != nil {
					break
				}
				enc := base64.StdEncoding.EncodeToString(out)
				if done {
					fc.send("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" + enc + "</success>")
					authed = true
					break
				}
				fc.send("<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" + enc + "</challenge>")
				in, _ = base64.StdEncoding.DecodeString(fc.next().Text())
			}
			if err != nil {
				var f *sasl.Failure
				cond := "temporary-auth-failure"
				if errors.As(err, &f) {
					cond = f.Condition
				}
				fc.send("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><" + cond + "/><text>nope</text></failure>")
			}
		}
	}
	fc.dec.Reset(tc)
	if !s.header(fc) {
		return
	}
	fc.send("<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>")
	iq := fc.next()
	res := iq.Child("urn:ietf:params:xml:ns:xmpp-bind", "bind").ChildText("urn:ietf:params:xml:ns:xmpp-bind", "resource")
	if res == "" {
		res = "gen1"
	}
	fc.send("<iq type='result' id='" + iq.Attr("id") + "'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>alice@" + testDomain + "/" + res + "</jid></bind></iq>")
	if s.script != nil {
		s.script(fc)
		return
	}
	for {
		e, err := fc.dec.Next()
		if err != nil {
			if errors.Is(err, xmlstream.ErrStreamEnd) {
				fc.send("</stream:stream>")
			}
			return
		}
		if e.Name.Local == "message" { // echo
			fc.send(e.String())
		}
	}
}

func asErr(r any) error {
	if err, ok := r.(error); ok {
		return err
	}
	return fmt.Errorf("%v", r)
}

func (s *fakeServer) lookup(_ context.Context, user string, h sasl.Hash) (sasl.Credentials, error) {
	s.mu.Lock()
	pw, ok := s.users[user]
	s.mu.Unlock()
	if !ok {
		return sasl.Credentials{}, sasl.ErrUnknownUser
	}
	return sasl.DeriveCredentials(h, pw, []byte("salt-salt-salt"), 4096)
}

func (s *fakeServer) register(fc *fakeConn, iq *xmlstream.Element) {
	id := iq.Attr("id")
	if iq.Attr("type") == "get" {
		fc.send("<iq type='result' id='" + id + "'><query xmlns='jabber:iq:register'><username/><password/></query></iq>")
		return
	}
	q := iq.Child("jabber:iq:register", "query")
	u, p := q.ChildText("jabber:iq:register", "username"), q.ChildText("jabber:iq:register", "password")
	s.mu.Lock()
	_, exists := s.users[u]
	if !exists {
		s.users[u] = p
	}
	s.mu.Unlock()
	if exists {
		fc.send("<iq type='error' id='" + id + "'><error type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>")
		return
	}
	fc.send("<iq type='result' id='" + id + "'/>")
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestDialSCRAMPlusAndBind(t *testing.T) {
	for _, tc := range []struct {
		name   string
		maxVer uint16
		mech   string
		want   string
	}{
		{"tls13-auto", 0, "", "SCRAM-SHA-256-PLUS p=tls-exporter"},
		{"tls12-auto", tls.VersionTLS12, "", "SCRAM-SHA-256-PLUS p=tls-server-end-point"},
		{"scram-sha-256", 0, "SCRAM-SHA-256", "SCRAM-SHA-256 n"},
		{"plain", 0, "PLAIN", "PLAIN "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFakeServer(t, nil)
			cfg := s.cfg()
			cfg.Resource = "bench"
			cfg.Mechanism = tc.mech
			if tc.maxVer != 0 {
				cfg.TLSConfig = &tls.Config{InsecureSkipVerify: true, MaxVersion: tc.maxVer}
			}
			c, err := Dial(ctxT(t), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got := c.JID().String(); got != "alice@"+testDomain+"/bench" {
				t.Errorf("JID = %q", got)
			}
			if cs, ok := c.ConnectionState(); !ok || !cs.HandshakeComplete {
				t.Error("no TLS")
			}
			if c.Features().Child(nsBind, "bind") == nil {
				t.Error("features lack bind")
			}
			s.mu.Lock()
			seen := strings.Join(s.seen, ";")
			s.mu.Unlock()
			if !strings.HasPrefix(seen, tc.want) {
				t.Errorf("server saw %q, want %q", seen, tc.want)
			}
			// Round trip through the echo.
			if err := c.Send(xmlstream.New("", "message", "id", "m1").AddChild(xmlstream.New(nsClient, "body").AddText("hi <3"))); err != nil {
				t.Fatal(err)
			}
			e, err := c.Recv(ctxT(t))
			if err != nil || e.Attr("id") != "m1" || e.ChildText(nsClient, "body") != "hi <3" {
				t.Fatalf("Recv = %v, %v", e, err)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Recv(ctxT(t)); !errors.Is(err, ErrClosed) {
				t.Errorf("Recv after Close: %v", err)
			}
		})
	}
}

func TestSASLFailure(t *testing.T) {
	s := newFakeServer(t, nil)
	cfg := s.cfg()
	cfg.Password = "wrong"
	_, err := Dial(ctxT(t), cfg)
	var se *SASLError
	if !errors.As(err, &se) || se.Condition != "not-authorized" || se.Text != "nope" {
		t.Fatalf("err = %v, want SASLError not-authorized", err)
	}
	if !strings.Contains(err.Error(), "sasl") {
		t.Errorf("error does not name the step: %v", err)
	}
}

func TestStreamErrorInNegotiation(t *testing.T) {
	s := newFakeServer(t, nil)
	cfg := s.cfg()
	cfg.Domain = "other.test"
	_, err := Dial(ctxT(t), cfg)
	var se *StreamError
	if !errors.As(err, &se) || se.Condition != "host-unknown" || se.Text != "who?" {
		t.Fatalf("err = %v, want StreamError host-unknown", err)
	}
}

func TestStreamErrorAfterBind(t *testing.T) {
	s := newFakeServer(t, func(fc *fakeConn) {
		fc.send("<message id='a'/><stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>")
		fc.dec.Next() // wait for the client's closing tag
	})
	c, err := Dial(ctxT(t), s.cfg())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if e, err := c.Recv(ctxT(t)); err != nil || e.Attr("id") != "a" {
		t.Fatalf("Recv = %v, %v", e, err)
	}
	_, err = c.Recv(ctxT(t))
	var se *StreamError
	if !errors.As(err, &se) || se.Condition != "conflict" {
		t.Fatalf("err = %v, want StreamError conflict", err)
	}
	if err := c.Send(xmlstream.New(nsClient, "presence")); err == nil {
		t.Error("Send after stream end succeeded")
	}
}

func TestIQQueuesOtherStanzas(t *testing.T) {
	s := newFakeServer(t, func(fc *fakeConn) {
		iq := fc.next()
		id := iq.Attr("id")
		fc.send("<message id='1'/><iq type='result' id='other'/><presence id='2'/>")
		fc.send("<iq type='result' id='" + id + "'><query xmlns='jabber:iq:version'><name>fake</name></query></iq><message id='3'/>")
		iq = fc.next()
		fc.send("<iq type='error' id='" + iq.Attr("id") + "'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>")
		fc.next()
	})
	c, err := Dial(ctxT(t), s.cfg())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	q := xmlstream.New(nsClient, "iq", "type", "get", "to", testDomain).AddChild(xmlstream.New("jabber:iq:version", "query"))
	r, err := c.IQ(ctxT(t), q)
	if err != nil {
		t.Fatal(err)
	}
	if r.Child("jabber:iq:version", "query").ChildText("jabber:iq:version", "name") != "fake" {
		t.Errorf("reply = %v", r)
	}
	if q.Attr("id") != "" {
		t.Error("IQ modified the caller's element")
	}
	for _, want := range []string{"1", "other", "2", "3"} {
		e, err := c.Recv(ctxT(t))
		if err != nil || e.Attr("id") != want {
			t.Fatalf("Recv = %v, %v; want id %s", e, err, want)
		}
	}
	r, err = c.IQ(ctxT(t), xmlstream.New(nsClient, "iq", "type", "get", "id", "x2").AddChild(xmlstream.New("urn:x", "q")))
	var se *StanzaError
	if !errors.As(err, &se) || se.Condition != "item-not-found" || se.Type != "cancel" || r == nil {
		t.Fatalf("IQ error = %v, %v", r, err)
	}
}

func TestCancelUnblocksRecvAndIQ(t *testing.T) {
	s := newFakeServer(t, func(fc *fakeConn) {
		fc.dec.Next() // the IQ: never answered
		fc.dec.Next()
	})
	c, err := Dial(ctxT(t), s.cfg())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.Recv(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Recv = %v", err)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel2)
	if _, err := c.IQ(ctx2, xmlstream.New(nsClient, "iq", "type", "get").AddChild(xmlstream.New("urn:x", "q"))); !errors.Is(err, context.Canceled) {
		t.Fatalf("IQ = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
	if err := c.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Recv(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Recv after Kill = %v", err)
	}
}

func TestRegister(t *testing.T) {
	s := newFakeServer(t, nil)
	cfg := s.cfg()
	cfg.Username, cfg.Password = "bob", "pw"
	if err := Register(ctxT(t), cfg); err != nil {
		t.Fatal(err)
	}
	err := Register(ctxT(t), cfg)
	var se *StanzaError
	if !errors.As(err, &se) || se.Condition != "conflict" {
		t.Fatalf("second Register = %v, want conflict", err)
	}
	cfg.Register, cfg.AllowExisting = true, true
	c, err := Dial(ctxT(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

func TestNegotiationTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // accepts and says nothing
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			io.Copy(io.Discard, c)
		}
	}()
	_, err = Dial(context.Background(), Config{Addr: ln.Addr().String(), Domain: testDomain, Timeout: 100 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

func TestRaw(t *testing.T) {
	s := newFakeServer(t, nil)
	r, err := DialRaw(ctxT(t), s.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.Send("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='" + testDomain + "' version='1.0'>")
	if h, err := r.ReadHeader(ctxT(t)); err != nil || h.Attr("id") != "s1" {
		t.Fatalf("header %v, %v", h, err)
	}
	f, err := r.Next(ctxT(t))
	if err != nil || f.Child(nsTLS, "starttls") == nil {
		t.Fatalf("features %v, %v", f, err)
	}
	r.Send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
	if e, err := r.Next(ctxT(t)); err != nil || e.Name.Local != "proceed" {
		t.Fatalf("proceed %v, %v", e, err)
	}
	if err := r.StartTLS(nil); err != nil {
		t.Fatal(err)
	}
	r.Send("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='" + testDomain + "' version='1.0'>")
	if _, err := r.ReadHeader(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if f, err := r.Next(ctxT(t)); err != nil || f.Child(nsSASL, "mechanisms") == nil {
		t.Fatalf("features %v, %v", f, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := r.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next = %v", err)
	}
}

// deadlineOnly is a context whose deadline has not been noticed yet: its
// timer has not fired, so Err is nil and Done is open. It reproduces the
// moment when the connection's deadline beats the context's timer.
type deadlineOnly struct {
	context.Context
	dl time.Time
}

func (c deadlineOnly) Deadline() (time.Time, bool) { return c.dl, true }

func TestReadDeadlineBeatsContextTimer(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	r := NewRaw(a)
	ctx := deadlineOnly{context.Background(), time.Now().Add(20 * time.Millisecond)}
	if _, err := r.ReadHeader(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ReadHeader = %v, want context.DeadlineExceeded", err)
	}
	// The deadline is lifted afterwards: the connection still reads.
	go b.Write([]byte("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='s2'>"))
	if h, err := r.ReadHeader(ctxT(t)); err != nil || h.Attr("id") != "s2" {
		t.Fatalf("ReadHeader after a timeout = %v, %v", h, err)
	}
}
