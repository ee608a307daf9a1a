package c2s

import (
	"cmp"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"slices"
	"time"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/router"
	"github.com/parleyim/parley/internal/sasl"
	"github.com/parleyim/parley/internal/stanza"
	"github.com/parleyim/parley/internal/stream"
	"github.com/parleyim/parley/internal/xmlstream"
)

// maxAuthFailures is how many failed logins (wrong credentials) one stream
// may make (RFC 6120 §6.4.5 asks for at least 2 and no more than 5
// retries). maxSASLAttempts bounds every failed exchange, whatever the
// cause: clients fall back through mechanisms and channel-binding types
// they cannot complete (slixmpp 1.8 fails six times before PLAIN on
// TLS 1.3), and those are not password guesses.
const (
	maxAuthFailures = 5
	maxSASLAttempts = 12
)

// negotiate runs the stream from the first header to a bound resource.
func (c *conn) negotiate() error {
	for {
		if err := c.openStream(); err != nil {
			return err
		}
		restart, err := c.negotiateFeatures()
		if err != nil || !restart {
			return err
		}
		// RFC 6120 §4.3.3: both streams start over; whatever the client
		// sent after the element that caused the restart is discarded
		// (for STARTTLS that is the defence against plaintext injection).
		c.opened = false
		c.dec.Reset(reader{c})
	}
}

// openStream reads the client's stream header, answers with ours and the
// features for the current state (RFC 6120 §4.2, §4.3).
func (c *conn) openStream() error {
	hdr, err := c.dec.ReadStreamStart()
	if err != nil {
		// A stream error goes out after a header of ours (RFC 6120
		// §4.9.1.2); finish writes it.
		return c.streamErr(err)
	}
	// RFC 6120 §4.7.4: the client's xml:lang is the stream's default
	// language; without one, ours.
	c.lang = hdr.Lang()
	if c.lang == "" {
		c.lang = "en"
	}
	h := c.header(c.lang)
	to := hdr.Attr("to")
	var serr *stream.Error
	if to != "" {
		if tj, err := jid.Parse(to); err == nil && tj.IsDomain() && c.srv.hosts[tj.Domain()] {
			to = tj.Domain()
		} else {
			serr = &stream.Error{Condition: stream.HostUnknown, Text: "this server does not serve " + to}
		}
	} else {
		// RFC 6120 §4.7.2: 'to' SHOULD be present; serve the default host.
		to = c.defaultHost()
	}
	if c.host != "" && to != c.host && serr == nil {
		serr = &stream.Error{Condition: stream.HostUnknown, Text: "stream restarted for another host"}
	}
	h.From = to
	if serr == nil {
		if f := hdr.Attr("from"); f != "" {
			if fj, err := jid.Parse(f); err != nil {
				serr = &stream.Error{Condition: stream.InvalidFrom, Text: "malformed from"}
			} else {
				h.To = fj.String()
			}
		}
	}
	if serr == nil {
		switch {
		case hdr.Name.Local != "stream":
			serr = &stream.Error{Condition: stream.InvalidNamespace, Text: "root element must be stream"}
		case hdr.Name.Space != ns.Stream && hdr.Name.Space == c.dec.DefaultNS():
			// RFC 6120 §4.9.3.2: <stream> written without the prefix that
			// puts it in the stream namespace.
			serr = &stream.Error{Condition: stream.BadNamespacePrefix, Text: "the stream element needs a prefix bound to " + ns.Stream}
		case hdr.Name.Space != ns.Stream:
			serr = &stream.Error{Condition: stream.InvalidNamespace, Text: "stream namespace must be " + ns.Stream}
		case c.dec.DefaultNS() != ns.Client:
			serr = &stream.Error{Condition: stream.InvalidNamespace, Text: "content namespace must be " + ns.Client}
		}
	}
	if serr == nil {
		serr = stream.CheckVersion(hdr.Attr("version"))
	}
	// Header and features in one write: one segment and one wakeup of the
	// client at each of a login's stream starts.
	b := h.Append(nil)
	if serr == nil {
		c.host = to
		b = stream.AppendElement(b, c.features(), ns.Client)
	}
	if err := c.write(b); err != nil {
		return err
	}
	c.opened = true
	if serr != nil {
		return serr
	}
	return nil
}

// header is our stream header for a new stream (RFC 6120 §4.7): a fresh
// id every time, from our domain.
func (c *conn) header(lang string) stream.Header {
	return stream.Header{From: c.defaultHost(), ID: stream.NewID(), Content: ns.Client, Lang: lang}
}

// errPeerStreamError ends a stream on which the client reported a stream
// error: we close ours without answering with another (RFC 6120 §4.9.1.1).
var errPeerStreamError = errors.New("c2s: client sent a stream error")

// isStreamError reports whether el is a <stream:error/> from the client.
func isStreamError(el *xmlstream.Element) bool {
	return el.Name.Space == ns.Stream && el.Name.Local == "error"
}

func (c *conn) defaultHost() string {
	if c.host != "" {
		return c.host
	}
	if len(c.srv.cfg.Hosts) > 0 {
		return c.srv.cfg.Hosts[0]
	}
	return ""
}

func (c *conn) tlsMandatory() bool {
	return c.srv.cfg.TLSRequired && !c.secure && c.srv.cfg.TLS != nil
}

// features builds <stream:features/> for the current state.
func (c *conn) features() *xmlstream.Element {
	f := xmlstream.New(ns.Stream, "features")
	switch {
	case c.authed:
		f.AddChild(xmlstream.New(ns.Bind, "bind"))
		// RFC 6121 legacy session establishment, advertised optional
		// (draft-cridland-xmpp-session-01) for old clients.
		f.AddChild(xmlstream.New(ns.Session, "session").AddChild(xmlstream.New(ns.Session, "optional")))
		for _, e := range c.srv.cfg.Modules.StreamFeatures(module.Account) {
			f.AddChild(e)
		}
	case c.tlsMandatory():
		f.AddChild(xmlstream.New(ns.TLS, "starttls").AddChild(xmlstream.New(ns.TLS, "required")))
	default:
		if !c.secure && c.srv.cfg.TLS != nil {
			f.AddChild(xmlstream.New(ns.TLS, "starttls"))
		}
		mechs := xmlstream.New(ns.SASL, "mechanisms")
		cb := c.channelBinding()
		plus := cb != nil && len(cb.Types()) > 0
		for _, m := range sasl.ServerMechanisms(c.secure, plus, c.secure || c.srv.cfg.PlainOnInsecure) {
			mechs.AddChild(xmlstream.New(ns.SASL, "mechanism").AddText(m))
		}
		f.AddChild(mechs)
		if plus {
			// XEP-0440: which channel-binding types we support.
			cbe := xmlstream.New(ns.SASLCB, "sasl-channel-binding")
			for _, t := range cb.Types() {
				cbe.AddChild(xmlstream.New(ns.SASLCB, "channel-binding", "type", t))
			}
			f.AddChild(cbe)
		}
		for _, e := range c.srv.cfg.Modules.StreamFeatures(module.PreAuth) {
			f.AddChild(e)
		}
	}
	return f
}

func (c *conn) channelBinding() sasl.ChannelBinding {
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		return nil
	}
	cs := tc.ConnectionState()
	return sasl.TLSChannelBinding(&cs, c.srv.cfg.Cert)
}

// negotiateFeatures handles elements until a restart is due (restart true)
// or the resource is bound (restart false).
func (c *conn) negotiateFeatures() (restart bool, err error) {
	for {
		el, err := c.dec.Next()
		if err != nil {
			return false, c.streamErr(err)
		}
		switch {
		case el.Name.Space == ns.TLS && el.Name.Local == "starttls" && !c.authed:
			return true, c.startTLS()
		case el.Name.Space == ns.SASL && el.Name.Local == "auth" && !c.authed:
			done, err := c.authenticate(el)
			if err != nil || done {
				return done, err
			}
		case el.Name.Space == ns.Client && el.Name.Local == stanza.IQ:
			bound, err := c.preBindIQ(el)
			if err != nil || bound {
				return false, err
			}
		case isStreamError(el):
			return false, errPeerStreamError
		case el.Name.Space == ns.Client && (el.Name.Local == stanza.Message || el.Name.Local == stanza.Presence):
			// RFC 6120 §4.9.3.12: stanzas before the stream is
			// authenticated (or, here, bound).
			return false, &stream.Error{Condition: stream.NotAuthorized, Text: "authenticate and bind a resource first"}
		default:
			return false, unsupported(el)
		}
	}
}

func unsupported(el *xmlstream.Element) *stream.Error {
	if el.Name.Space == ns.Client || el.Name.Space == ns.Stream {
		return &stream.Error{Condition: stream.UnsupportedStanzaType, Text: "unexpected element " + el.Name.Local}
	}
	return &stream.Error{Condition: stream.UnsupportedStanzaType, Text: "unexpected element {" + el.Name.Space + "}" + el.Name.Local}
}

// startTLS answers <starttls/> (RFC 6120 §5.4.2) and upgrades the socket.
func (c *conn) startTLS() error {
	if c.secure || c.srv.cfg.TLS == nil {
		// RFC 6120 §5.4.2.2: <failure/>, then close the stream and the
		// connection. The failure is the whole answer: no stream error.
		if err := c.write([]byte(`<failure xmlns='` + ns.TLS + `'/>`)); err != nil {
			return err
		}
		return errTLSUnavailable
	}
	if err := c.write([]byte(`<proceed xmlns='` + ns.TLS + `'/>`)); err != nil {
		return err
	}
	tc := tls.Server(c.raw, c.srv.cfg.TLS)
	_ = c.raw.SetDeadline(c.negotiationDeadline())
	if err := tc.Handshake(); err != nil { // bounded by the negotiation deadline; Close breaks it with a read deadline
		// RFC 6120 §5.4.3.2: a failed handshake ends the TCP connection.
		c.srv.log.Debug("STARTTLS handshake failed", "addr", c.addr.String(), "err", err)
		return errHandshake
	}
	_ = c.raw.SetDeadline(time.Time{})
	c.nc = tc
	c.secure = true
	return nil
}

var (
	// errHandshake ends a connection whose STARTTLS handshake failed: the
	// socket is closed with nothing more written (RFC 6120 §5.4.3.2).
	errHandshake = errors.New("c2s: TLS handshake failed")
	// errTLSUnavailable closes the stream (without a stream error) after
	// a refused STARTTLS (RFC 6120 §5.4.2.2).
	errTLSUnavailable = errors.New("c2s: STARTTLS refused")
)

func saslFailure(cond, text string) []byte {
	b := []byte(`<failure xmlns='` + ns.SASL + `'><` + cond + `/>`)
	if text != "" {
		b = append(b, `<text xml:lang='en'>`...)
		b = xmlstream.AppendEscapedText(b, text)
		b = append(b, `</text>`...)
	}
	return append(b, `</failure>`...)
}

// authenticate runs one SASL exchange (RFC 6120 §6.4). It reports done when
// authentication succeeded and the stream must restart.
func (c *conn) authenticate(auth *xmlstream.Element) (bool, error) {
	mech := auth.Attr("mechanism")
	// fail answers a failed exchange; creds marks a failure of the
	// client's credentials, the only kind that counts as a failed login.
	failed := func(cond, text string, creds bool) (bool, error) {
		if err := c.write(saslFailure(cond, text)); err != nil {
			return false, err
		}
		c.attempts++
		if creds {
			c.failures++
			c.srv.log.Info("login failed", "addr", c.addr.Addr().String(), "host", c.host, "mechanism", mech, "reason", cmp.Or(text, cond))
			if c.srv.cfg.Throttle != nil {
				c.srv.cfg.Throttle.Failed(c.addr.Addr())
			}
		} else {
			c.srv.log.Debug("sasl exchange failed", "addr", c.addr.Addr().String(), "mechanism", mech, "condition", cond, "text", text)
		}
		if c.failures >= maxAuthFailures || c.attempts >= maxSASLAttempts {
			return false, &stream.Error{Condition: stream.PolicyViolation, Text: "too many failed authentication attempts"}
		}
		return false, nil
	}
	fail := func(cond, text string) (bool, error) { return failed(cond, text, false) }
	if c.tlsMandatory() {
		// RFC 6120 §6.4.2 (via §5.3.1): TLS first.
		return fail("encryption-required", "")
	}
	// Repeated failures from one address are slowed down.
	if c.srv.cfg.Throttle != nil {
		if d := c.srv.cfg.Throttle.Delay(c.addr.Addr()); d > 0 {
			select {
			case <-time.After(d):
			case <-c.ctx.Done():
				return false, c.ctx.Err()
			}
		}
	}
	allowed := false
	cb := c.channelBinding()
	plus := cb != nil && len(cb.Types()) > 0
	for _, m := range sasl.ServerMechanisms(c.secure, plus, c.secure || c.srv.cfg.PlainOnInsecure) {
		if m == mech {
			allowed = true
		}
	}
	if !allowed {
		if !c.secure && slices.Contains(sasl.ServerMechanisms(true, true, true), mech) {
			// RFC 6120 §6.5.3: a mechanism we support, but only over TLS
			// (PLAIN, the -PLUS variants).
			return fail("encryption-required", "")
		}
		return fail("invalid-mechanism", "")
	}
	srv, err := sasl.NewServer(mech, sasl.ServerConfig{Lookup: c.srv.cfg.Lookup(c.host), CB: cb, PlusAdvertised: plus})
	if err != nil {
		return fail("invalid-mechanism", "")
	}
	in, bad := decode64(auth.Text())
	if bad {
		return fail("incorrect-encoding", "")
	}
	for {
		out, done, err := srv.Step(c.ctx, in)
		if err != nil {
			var f *sasl.Failure
			if errors.As(err, &f) {
				return failed(f.Condition, f.Text, f.Credentials)
			}
			c.srv.log.Error("sasl step failed", "err", err)
			return fail("temporary-auth-failure", "")
		}
		if done {
			user := srv.Username()
			bare, err := jid.New(user, c.host, "")
			if err != nil {
				return fail("not-authorized", "")
			}
			if az := srv.Authzid(); az != "" {
				// RFC 6120 §6.4.6: we act only as the authenticated user.
				aj, err := jid.Parse(az)
				if err != nil || aj != bare {
					return fail("invalid-authzid", "")
				}
			}
			var b []byte
			if len(out) > 0 {
				b = []byte(`<success xmlns='` + ns.SASL + `'>` + base64.StdEncoding.EncodeToString(out) + `</success>`)
			} else {
				b = []byte(`<success xmlns='` + ns.SASL + `'/>`)
			}
			if err := c.write(b); err != nil {
				return false, err
			}
			if c.srv.cfg.Throttle != nil {
				c.srv.cfg.Throttle.Succeeded(c.addr.Addr())
			}
			c.authed = true
			c.username = user
			c.srv.log.Info("login", "user", bare.String(), "addr", c.addr.Addr().String(), "mechanism", mech, "tls", c.secure)
			return true, nil
		}
		if err := c.write([]byte(`<challenge xmlns='` + ns.SASL + `'>` + base64.StdEncoding.EncodeToString(out) + `</challenge>`)); err != nil {
			return false, err
		}
		el, err := c.dec.Next()
		if err != nil {
			return false, c.streamErr(err)
		}
		if el.Name.Space == ns.SASL && el.Name.Local == "abort" {
			// RFC 6120 §6.4.4: aborted is not counted as a failed login.
			return false, c.write(saslFailure("aborted", ""))
		}
		if el.Name.Space != ns.SASL || el.Name.Local != "response" {
			return false, unsupported(el)
		}
		in, bad = decode64(el.Text())
		if bad {
			return fail("incorrect-encoding", "")
		}
	}
}

// decode64 decodes a SASL payload; "=" means an empty response (RFC 6120
// §6.4.2).
func decode64(s string) ([]byte, bool) {
	if s == "" {
		return nil, false
	}
	if s == "=" {
		return []byte{}, false
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, true
	}
	return b, false
}

// preBindIQ handles an IQ before the session is bound: registration before
// authentication, bind and legacy session after it.
func (c *conn) preBindIQ(el *xmlstream.Element) (bound bool, err error) {
	st := &stanza.Stanza{El: el}
	if !c.authed {
		if c.tlsMandatory() {
			return false, &stream.Error{Condition: stream.PolicyViolation, Text: "STARTTLS is required first"}
		}
		if to := el.Attr("to"); to != "" {
			// Only the server itself talks to an unauthenticated client;
			// its address may come in any letter case (RFC 7622 §3.2).
			if tj, err := jid.Parse(to); err != nil || tj != jid.MustParse(c.host) {
				return false, &stream.Error{Condition: stream.NotAuthorized, Text: "authenticate first"}
			}
		}
		// XEP-0077: registration on an unauthenticated stream. Replies go
		// straight back on this stream.
		var reply *stanza.Stanza
		o := &module.Origin{Addr: c.addr, Host: c.host, Secure: c.secure, Reply: func(r *stanza.Stanza) { reply = r }}
		st.To = jid.MustParse(c.host)
		ctx := module.WithOrigin(c.ctx, o)
		if !c.srv.cfg.Modules.DispatchPreAuth(ctx, st) {
			if !st.IsRequest() {
				return false, nil
			}
			return false, &stream.Error{Condition: stream.NotAuthorized, Text: "authenticate first"}
		}
		if reply != nil {
			reply.El.RemoveAttr("to")
			return false, c.writeElement(reply.El)
		}
		return false, nil
	}
	p := st.Payload()
	switch {
	case st.Type() == "set" && p != nil && p.Name.Space == ns.Bind && p.Name.Local == "bind":
		return c.bind(st)
	case st.Type() == "set" && p != nil && p.Name.Space == ns.Session && p.Name.Local == "session":
		return false, c.writeElement(resultFor(el))
	default:
		// RFC 6120 §7.1: no stanzas before a resource is bound.
		return false, &stream.Error{Condition: stream.NotAuthorized, Text: "bind a resource first"}
	}
}

func resultFor(iq *xmlstream.Element) *xmlstream.Element {
	return xmlstream.New(ns.Client, stanza.IQ, "type", "result", "id", iq.Attr("id"))
}

// bind performs resource binding (RFC 6120 §7).
func (c *conn) bind(st *stanza.Stanza) (bool, error) {
	bare, err := jid.New(c.username, c.host, "")
	if err != nil {
		return false, &stream.Error{Condition: stream.InternalServerError}
	}
	res := st.Payload().ChildText(ns.Bind, "resource")
	var full jid.JID
	if res == "" {
		full, err = bare.WithResource(newResource())
	} else {
		full, err = bare.WithResource(res)
	}
	if err != nil {
		// RFC 6120 §7.7.2.1: a resourcepart that cannot be processed.
		return false, c.writeElement(stanza.ErrorReply(st, stanza.ErrBadRequest.WithText("invalid resource")).El)
	}
	c.full = full
	replaced, err := c.srv.cfg.Router.Bind(c, c.srv.cfg.MaxSessionsPerUser)
	if errors.Is(err, router.ErrTooManySessions) {
		// RFC 6120 §7.6.2.1: the account has reached its session limit.
		c.full = jid.JID{}
		return false, c.writeElement(stanza.ErrorReply(st, stanza.ErrResourceConstraint.WithText("too many sessions")).El)
	}
	if replaced != nil {
		// RFC 6120 §7.7.2.2: the newer session wins; the old one is told.
		replaced.Close(stream.Conflict, "replaced by a new connection")
	}
	// The router may have queued stanzas for the new JID already; the
	// bind result goes before them, so that the client learns its JID
	// before anything addressed to it.
	reply := resultFor(st.El)
	reply.AddChild(xmlstream.New(ns.Bind, "bind").AddChild(xmlstream.New(ns.Bind, "jid").AddText(full.String())))
	c.qmu.Lock()
	c.queue = slices.Insert(c.queue, 0, &stanza.Stanza{El: reply})
	c.qmu.Unlock()
	c.idleSince = time.Now()
	c.bound.Store(true)
	c.origin = &module.Origin{Addr: c.addr, Host: c.host, JID: full, Secure: c.secure}
	c.startWriter()
	c.srv.log.Info("session bound", "jid", full.String(), "addr", c.addr.Addr().String(), "tls", c.secure)
	hook.Run(c.ctx, c.srv.cfg.Hooks, hook.SessionBound, &hook.SessionEvent{JID: full, Addr: c.addr})
	return true, nil
}

func newResource() string {
	return "parley-" + stream.NewID()[:12]
}
