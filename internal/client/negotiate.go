package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/sasl"
	"github.com/parleyim/parley/internal/xmlstream"
)

// mechPrefs is the order in which mechanisms are chosen when
// Config.Mechanism is empty.
var mechPrefs = []string{
	"SCRAM-SHA-512-PLUS", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS",
	"SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1",
	"PLAIN",
}

// negotiator runs the synchronous part of a connection: everything up to a
// bound session. It owns the connection until handed to a Conn.
type negotiator struct {
	cfg      *Config
	conn     net.Conn
	dec      *xmlstream.Decoder
	features *xmlstream.Element
	stash    []*xmlstream.Element // stanzas received while waiting for IQ replies
	buf      []byte
	ids      int

	ctx    context.Context
	cancel context.CancelFunc
	stop   func() bool
	fired  chan struct{}
}

// stepError names the negotiation step that failed.
func stepError(step string, err error) error {
	return fmt.Errorf("client: %s: %w", step, err)
}

func (n *negotiator) write(b []byte) error {
	_, err := n.conn.Write(b)
	return err
}

func (n *negotiator) send(e *xmlstream.Element) error {
	n.buf = appendStanza(n.buf[:0], e)
	return n.write(n.buf)
}

// next reads the next top-level element; a stream error or the end of the
// stream are turned into errors.
func (n *negotiator) next() (*xmlstream.Element, error) {
	e, err := n.dec.Next()
	if err != nil {
		if errors.Is(err, xmlstream.ErrStreamEnd) {
			return nil, fmt.Errorf("server closed the stream: %w", io.EOF)
		}
		return nil, err
	}
	if se := ParseStreamError(e); se != nil {
		return nil, se
	}
	return e, nil
}

// dial connects and, for DirectTLS, performs the TLS handshake.
func (n *negotiator) dial(ctx context.Context) error {
	dial := n.cfg.Dialer
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	c, err := dial(ctx, "tcp", n.cfg.Addr)
	if err != nil {
		return stepError("dial", err)
	}
	n.conn = c
	if n.cfg.TLS == DirectTLS {
		if err := n.handshake(ctx); err != nil {
			return stepError("tls", err)
		}
	}
	n.dec = xmlstream.NewDecoder(n.conn, clientLimits)
	return nil
}

func (n *negotiator) tlsConfig() *tls.Config {
	var tc *tls.Config
	if n.cfg.TLSConfig != nil {
		tc = n.cfg.TLSConfig.Clone()
	} else {
		tc = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
	}
	if tc.ServerName == "" {
		tc.ServerName = n.cfg.Domain
	}
	if n.cfg.TLS == DirectTLS && len(tc.NextProtos) == 0 {
		tc.NextProtos = []string{"xmpp-client"}
	}
	return tc
}

func (n *negotiator) handshake(ctx context.Context) error {
	tc := tls.Client(n.conn, n.tlsConfig())
	if err := tc.HandshakeContext(ctx); err != nil {
		return err
	}
	n.conn = tc
	return nil
}

func (n *negotiator) tlsState() *tls.ConnectionState {
	if tc, ok := n.conn.(*tls.Conn); ok {
		cs := tc.ConnectionState()
		return &cs
	}
	return nil
}

// open sends our stream header and reads the server's header and features.
func (n *negotiator) open() error {
	lang := n.cfg.Lang
	if lang == "" {
		lang = "en"
	}
	b := append(n.buf[:0], "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='"...)
	b = xmlstream.AppendEscapedAttr(b, n.cfg.Domain)
	b = append(b, "' version='1.0' xml:lang='"...)
	b = xmlstream.AppendEscapedAttr(b, lang)
	b = append(b, "'>"...)
	n.buf = b
	if err := n.write(b); err != nil {
		return err
	}
	h, err := n.dec.ReadStreamStart()
	if err != nil {
		return err
	}
	if h.Name.Local != "stream" || h.Name.Space != nsStream {
		return fmt.Errorf("unexpected stream header <%s xmlns='%s'>", h.Name.Local, h.Name.Space)
	}
	f, err := n.next()
	if err != nil {
		return err
	}
	if f.Name.Local != "features" || f.Name.Space != nsStream {
		return fmt.Errorf("expected stream features, got <%s xmlns='%s'>", f.Name.Local, f.Name.Space)
	}
	n.features = f
	return nil
}

// restart resets the decoder and opens a new stream on the connection.
func (n *negotiator) restart() error {
	n.dec.Reset(n.conn)
	return n.open()
}

// secure performs STARTTLS according to the configured mode.
func (n *negotiator) secure(ctx context.Context) error {
	if n.cfg.TLS == DirectTLS || n.cfg.TLS == NoTLS {
		return nil
	}
	if n.features.Child(nsTLS, "starttls") == nil {
		if n.cfg.TLS == OptionalTLS {
			return nil
		}
		return errors.New("server does not offer STARTTLS")
	}
	if err := n.write([]byte("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")); err != nil {
		return err
	}
	e, err := n.next()
	if err != nil {
		return err
	}
	if e.Name.Space != nsTLS || e.Name.Local != "proceed" {
		return fmt.Errorf("server answered <%s xmlns='%s'>", e.Name.Local, e.Name.Space)
	}
	if err := n.handshake(ctx); err != nil {
		return err
	}
	return n.restart()
}

// iq sends an IQ and waits for its reply; other elements are stashed for
// Recv. A reply of type error is returned together with its *StanzaError.
func (n *negotiator) iq(iq *xmlstream.Element) (*xmlstream.Element, error) {
	n.ids++
	id := "neg" + strconv.Itoa(n.ids)
	iq.SetAttr("id", id)
	if err := n.send(iq); err != nil {
		return nil, err
	}
	for {
		e, err := n.next()
		if err != nil {
			return nil, err
		}
		if e.Name.Local == "iq" && e.Attr("id") == id {
			switch e.Attr("type") {
			case "result":
				return e, nil
			case "error":
				return e, stanzaErr(e)
			}
		}
		n.stash = append(n.stash, e)
	}
}

func stanzaErr(e *xmlstream.Element) error {
	if se := ParseStanzaError(e); se != nil {
		return se
	}
	return &StanzaError{Type: "cancel", Condition: "undefined-condition"}
}

// register performs XEP-0077 in-band registration of cfg.Username.
func (n *negotiator) register() error {
	get := xmlstream.New(nsClient, "iq", "type", "get", "to", n.cfg.Domain)
	get.AddChild(xmlstream.New(nsRegister, "query"))
	if _, err := n.iq(get); err != nil {
		return fmt.Errorf("fields: %w", err)
	}
	q := xmlstream.New(nsRegister, "query")
	q.AddChild(xmlstream.New(nsRegister, "username").AddText(n.cfg.Username))
	q.AddChild(xmlstream.New(nsRegister, "password").AddText(n.cfg.Password))
	set := xmlstream.New(nsClient, "iq", "type", "set", "to", n.cfg.Domain)
	set.AddChild(q)
	_, err := n.iq(set)
	var se *StanzaError
	if errors.As(err, &se) && se.Condition == "conflict" && n.cfg.AllowExisting {
		return nil
	}
	return err
}

// offeredCBTypes lists the channel-binding types the server advertises
// with XEP-0440, or nil if it does not.
func offeredCBTypes(f *xmlstream.Element) []string {
	cb := f.Child(nsSASLCB, "sasl-channel-binding")
	if cb == nil {
		if m := f.Child(nsSASL, "mechanisms"); m != nil {
			cb = m.Child(nsSASLCB, "sasl-channel-binding")
		}
	}
	if cb == nil {
		return nil
	}
	var out []string
	for _, c := range cb.Elements() {
		if c.Name.Local == "channel-binding" {
			out = append(out, c.Attr("type"))
		}
	}
	return out
}

// fixedCB offers exactly one channel-binding type to the SASL client.
type fixedCB struct {
	cb  sasl.ChannelBinding
	typ string
}

func (f fixedCB) Types() []string { return []string{f.typ} }

func (f fixedCB) Data(t string) ([]byte, error) { return f.cb.Data(t) }

// channelBinding returns the connection's channel binding (nil without
// TLS) and, for -PLUS mechanisms, the binding restricted to the type to use
// (nil if there is none we can use).
func (n *negotiator) channelBinding() (any, plus sasl.ChannelBinding) {
	cs := n.tlsState()
	if cs == nil {
		return nil, nil
	}
	var cert *x509.Certificate
	if len(cs.PeerCertificates) > 0 {
		cert = cs.PeerCertificates[0]
	}
	cb := sasl.TLSChannelBinding(cs, cert)
	if cb == nil {
		return nil, nil
	}
	have := cb.Types()
	var want []string
	if adv := offeredCBTypes(n.features); adv != nil {
		if cs.Version >= tls.VersionTLS13 && slices.Contains(adv, sasl.CBTLSExporter) {
			want = append(want, sasl.CBTLSExporter)
		}
		if slices.Contains(adv, sasl.CBTLSServerEndPoint) {
			want = append(want, sasl.CBTLSServerEndPoint)
		}
	} else if cs.Version >= tls.VersionTLS13 {
		want = []string{sasl.CBTLSExporter}
	} else {
		want = []string{sasl.CBTLSServerEndPoint}
	}
	for _, t := range want {
		if slices.Contains(have, t) {
			return cb, fixedCB{cb: cb, typ: t}
		}
	}
	return cb, nil
}

func offeredMechs(f *xmlstream.Element) []string {
	m := f.Child(nsSASL, "mechanisms")
	if m == nil {
		return nil
	}
	var out []string
	for _, c := range m.Elements() {
		if c.Name.Local == "mechanism" {
			out = append(out, c.Text())
		}
	}
	return out
}

// saslClient chooses the mechanism and creates its client.
func (n *negotiator) saslClient() (string, sasl.Client, error) {
	offered := offeredMechs(n.features)
	anyCB, plusCB := n.channelBinding()
	// For SCRAM without -PLUS, tell a server that offers no -PLUS variant
	// that we could bind ("y", downgrade protection); otherwise "n".
	var noPlusCB sasl.ChannelBinding
	if !slices.ContainsFunc(offered, isPlus) {
		noPlusCB = anyCB
	}
	mk := func(mech string) (sasl.Client, error) {
		cb := noPlusCB
		if isPlus(mech) {
			cb = plusCB
			if cb == nil {
				return nil, fmt.Errorf("%s needs TLS channel binding, none usable", mech)
			}
		}
		return sasl.NewClient(mech, n.cfg.Username, n.cfg.Password, "", cb)
	}
	if m := n.cfg.Mechanism; m != "" {
		// Used even if not offered, so tests can see the server refuse it.
		c, err := mk(m)
		return m, c, err
	}
	if len(offered) == 0 {
		return "", nil, errors.New("server offers no SASL mechanisms")
	}
	for _, m := range mechPrefs {
		if !slices.Contains(offered, m) || (isPlus(m) && plusCB == nil) {
			continue
		}
		if c, err := mk(m); err == nil {
			return m, c, nil
		}
	}
	return "", nil, fmt.Errorf("no supported SASL mechanism among %v", offered)
}

func isPlus(mech string) bool {
	return len(mech) > 5 && mech[len(mech)-5:] == "-PLUS"
}

func encodeSASL(b []byte) string {
	if len(b) == 0 {
		return "="
	}
	return base64.StdEncoding.EncodeToString(b)
}

func decodeSASL(s string) ([]byte, error) {
	if s == "" || s == "=" {
		return nil, nil
	}
	return base64.StdEncoding.DecodeString(s)
}

// auth runs SASL and restarts the stream.
func (n *negotiator) auth() error {
	mech, sc, err := n.saslClient()
	if err != nil {
		return err
	}
	out, done, err := sc.Step(nil)
	if err != nil {
		return fmt.Errorf("%s: %w", mech, err)
	}
	a := xmlstream.New(nsSASL, "auth", "mechanism", mech).AddText(encodeSASL(out))
	if err := n.send(a); err != nil {
		return err
	}
	for {
		e, err := n.next()
		if err != nil {
			return err
		}
		if e.Name.Space != nsSASL {
			return fmt.Errorf("unexpected <%s xmlns='%s'> during SASL", e.Name.Local, e.Name.Space)
		}
		switch e.Name.Local {
		case "failure":
			return ParseSASLError(e)
		case "challenge":
			in, err := decodeSASL(e.Text())
			if err != nil {
				return fmt.Errorf("bad challenge: %w", err)
			}
			if done {
				return errors.New("challenge after the exchange completed")
			}
			if out, done, err = sc.Step(in); err != nil {
				return fmt.Errorf("%s: %w", mech, err)
			}
			if err := n.send(xmlstream.New(nsSASL, "response").AddText(encodeSASL(out))); err != nil {
				return err
			}
		case "success":
			data, err := decodeSASL(e.Text())
			if err != nil {
				return fmt.Errorf("bad success data: %w", err)
			}
			if !done {
				if _, done, err = sc.Step(data); err != nil {
					return fmt.Errorf("%s: verifying server: %w", mech, err)
				}
				if !done {
					return fmt.Errorf("%s: server reported success before the exchange completed", mech)
				}
			} else if len(data) > 0 {
				return fmt.Errorf("%s: unexpected additional data with success", mech)
			}
			return n.restart()
		default:
			return fmt.Errorf("unexpected <%s/> during SASL", e.Name.Local)
		}
	}
}

// bind binds a resource and, if required, establishes a legacy session.
func (n *negotiator) bind() (jid.JID, error) {
	if n.features.Child(nsBind, "bind") == nil {
		return jid.JID{}, errors.New("server does not offer resource binding")
	}
	b := xmlstream.New(nsBind, "bind")
	if n.cfg.Resource != "" {
		b.AddChild(xmlstream.New(nsBind, "resource").AddText(n.cfg.Resource))
	}
	r, err := n.iq(xmlstream.New(nsClient, "iq", "type", "set").AddChild(b))
	if err != nil {
		return jid.JID{}, err
	}
	rb := r.Child(nsBind, "bind")
	if rb == nil {
		return jid.JID{}, errors.New("bind result without <bind/>")
	}
	j, err := jid.Parse(rb.ChildText(nsBind, "jid"))
	if err != nil {
		return jid.JID{}, fmt.Errorf("bound JID: %w", err)
	}
	return j, nil
}

func (n *negotiator) session() error {
	s := n.features.Child(nsSession, "session")
	if s == nil || s.Child(nsSession, "optional") != nil || n.cfg.NoSession {
		return nil
	}
	_, err := n.iq(xmlstream.New(nsClient, "iq", "type", "set").AddChild(xmlstream.New(nsSession, "session")))
	return err
}

// start runs the steps shared by Dial and Register: dial, stream header,
// TLS. ctx, bounded by cfg.Timeout, interrupts I/O until finish is called.
func (n *negotiator) start(ctx context.Context) error {
	timeout := n.cfg.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	n.ctx, n.cancel = context.WithTimeout(ctx, timeout)
	if err := n.dial(n.ctx); err != nil {
		n.cancel()
		if n.conn != nil {
			n.conn.Close()
		}
		return n.ctxErr(err)
	}
	dl, _ := n.ctx.Deadline()
	c := n.conn // for DirectTLS, the TLS conn passes deadlines down
	c.SetDeadline(dl)
	n.fired = make(chan struct{})
	n.stop = context.AfterFunc(n.ctx, func() {
		c.SetDeadline(longAgo)
		close(n.fired)
	})
	if err := n.open(); err != nil {
		return n.fail("stream", err)
	}
	if err := n.secure(n.ctx); err != nil {
		return n.fail("starttls", err)
	}
	return nil
}

// finish lifts the negotiation deadline. It reports false, after closing
// the connection, if the context ended first.
func (n *negotiator) finish() error {
	ok := n.stop()
	if !ok {
		<-n.fired
	}
	err := n.ctx.Err()
	n.cancel()
	if !ok {
		n.conn.Close()
		if err == nil {
			err = context.Canceled
		}
		return stepError("negotiation", err)
	}
	n.conn.SetDeadline(time.Time{})
	return nil
}

// fail ends a negotiation that failed in step.
func (n *negotiator) fail(step string, err error) error {
	n.stop()
	err = n.ctxErr(stepError(step, err))
	n.cancel()
	n.conn.Close()
	return err
}

// ctxErr adds the context's error to err if the context ended.
func (n *negotiator) ctxErr(err error) error {
	cerr := n.ctx.Err()
	if cerr == nil && errors.Is(err, os.ErrDeadlineExceeded) {
		cerr = context.DeadlineExceeded // the conn deadline beat the timer
	}
	if cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%w)", err, cerr)
	}
	return err
}
