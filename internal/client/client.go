// Package client is a small XMPP client (RFC 6120/6121) for end-to-end
// tests, the load tester and smoke checks. It talks to any XMPP server.
//
// A Conn costs one reader goroutine; received elements wait in an unbounded
// in-memory queue until Recv takes them, and IQ replies are matched by id.
package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/xmlstream"
)

const (
	defaultTimeout = 10 * time.Second
	closeWait      = 2 * time.Second
)

// TLSMode selects how the connection is secured.
type TLSMode int

const (
	// StartTLS upgrades with STARTTLS and fails if the server does not offer it.
	StartTLS TLSMode = iota
	// DirectTLS starts TLS right after connecting (XEP-0368).
	DirectTLS
	// NoTLS never uses TLS.
	NoTLS
	// OptionalTLS uses STARTTLS if offered.
	OptionalTLS
)

func (m TLSMode) String() string {
	switch m {
	case StartTLS:
		return "starttls"
	case DirectTLS:
		return "directtls"
	case NoTLS:
		return "notls"
	case OptionalTLS:
		return "optionaltls"
	}
	return "TLSMode(" + strconv.Itoa(int(m)) + ")"
}

// Config describes how to connect and authenticate.
type Config struct {
	Addr               string // host:port to dial
	Domain             string // stream 'to'
	Username, Password string
	Resource           string // "" lets the server pick
	// Mechanism is the SASL mechanism; "" picks the best offered that we
	// support: SCRAM-SHA-512-PLUS … SCRAM-SHA-1, PLAIN last. -PLUS variants
	// are chosen only with TLS. A named mechanism is used even if the server
	// does not offer it.
	Mechanism string
	TLS       TLSMode
	// TLSConfig nil means InsecureSkipVerify (test servers use self-signed
	// certificates). ServerName defaults to Domain; for DirectTLS NextProtos
	// defaults to "xmpp-client".
	TLSConfig *tls.Config
	// Register does XEP-0077 in-band registration before authenticating. A
	// conflict (account exists) is an error unless AllowExisting.
	Register      bool
	AllowExisting bool
	Lang          string        // xml:lang of the stream; "" = "en"
	Timeout       time.Duration // whole negotiation; default 10s
	NoSession     bool          // skip legacy <session/> even if required
	// Dialer is optional, for example to bind a source address.
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Dial connects, negotiates (stream header, STARTTLS, optional
// registration, SASL, restart, bind, optional session) and returns a bound
// session. Errors name the failed step and wrap *StreamError, *SASLError or
// *StanzaError where the server sent one.
func Dial(ctx context.Context, cfg Config) (*Conn, error) {
	n := &negotiator{cfg: &cfg}
	if err := n.start(ctx); err != nil {
		return nil, err
	}
	if cfg.Register {
		if err := n.register(); err != nil {
			return nil, n.fail("register", err)
		}
	}
	if err := n.auth(); err != nil {
		return nil, n.fail("sasl", err)
	}
	j, err := n.bind()
	if err != nil {
		return nil, n.fail("bind", err)
	}
	if err := n.session(); err != nil {
		return nil, n.fail("session", err)
	}
	if err := n.finish(); err != nil {
		return nil, err
	}
	c := &Conn{
		conn:     n.conn,
		dec:      n.dec,
		jid:      j,
		features: n.features,
		q:        n.stash,
		signal:   make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	go c.readLoop()
	return c, nil
}

// Register does XEP-0077 in-band registration only: connect, secure the
// stream per cfg.TLS, register cfg.Username, close.
func Register(ctx context.Context, cfg Config) error {
	n := &negotiator{cfg: &cfg}
	if err := n.start(ctx); err != nil {
		return err
	}
	if err := n.register(); err != nil {
		return n.fail("register", err)
	}
	// Close politely and wait a little for the server's closing tag.
	n.conn.SetDeadline(time.Now().Add(closeWait))
	if n.write([]byte("</stream:stream>")) == nil {
		for {
			if _, err := n.dec.Next(); err != nil {
				break
			}
		}
	}
	n.stop()
	n.cancel()
	n.conn.Close()
	return nil
}

// Conn is a negotiated client session.
type Conn struct {
	conn     net.Conn
	dec      *xmlstream.Decoder
	jid      jid.JID
	features *xmlstream.Element
	ids      atomic.Uint64
	closing  atomic.Bool // Close or Kill called

	wmu       sync.Mutex
	sentClose bool // </stream:stream> written; guarded by wmu

	mu      sync.Mutex
	q       []*xmlstream.Element // received; q[head:] not yet taken by Recv
	head    int
	pending map[string]chan *xmlstream.Element
	err     error // terminal error, set before done is closed

	signal chan struct{} // cap 1: something was queued
	done   chan struct{} // closed when the reader has stopped
}

// JID returns the bound full JID.
func (c *Conn) JID() jid.JID { return c.jid }

// Features returns the last stream features the server sent.
func (c *Conn) Features() *xmlstream.Element { return c.features }

// Done is closed when the stream has ended and the reader has stopped.
func (c *Conn) Done() <-chan struct{} { return c.done }

// ConnectionState returns the TLS state if the connection uses TLS.
func (c *Conn) ConnectionState() (tls.ConnectionState, bool) {
	if tc, ok := c.conn.(*tls.Conn); ok {
		return tc.ConnectionState(), true
	}
	return tls.ConnectionState{}, false
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// Send serializes e with parent namespace jabber:client (an element without
// namespace inherits it) and writes it. Safe for concurrent use.
func (c *Conn) Send(e *xmlstream.Element) error {
	if e == nil {
		return errors.New("client: Send(nil)")
	}
	bp := bufPool.Get().(*[]byte)
	*bp = appendStanza((*bp)[:0], e)
	err := c.write(*bp)
	if cap(*bp) <= 64<<10 {
		bufPool.Put(bp)
	}
	return err
}

// SendRaw writes s as is, for tests of malformed input.
func (c *Conn) SendRaw(s string) error {
	return c.write([]byte(s))
}

func (c *Conn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.sentClose {
		return ErrClosed
	}
	_, err := c.conn.Write(b)
	return err
}

// sendClose writes the closing stream tag once.
func (c *Conn) sendClose() error {
	c.conn.SetWriteDeadline(time.Now().Add(closeWait)) // unblocks a stuck writer
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.sentClose {
		return nil
	}
	c.sentClose = true
	_, err := io.WriteString(c.conn, "</stream:stream>")
	return err
}

// Recv returns the next top-level element received, in order (IQ replies
// claimed by IQ excepted). Once the queue is drained after the stream
// ended it returns *StreamError if the server sent one, io.EOF if the
// server closed the stream or connection, ErrClosed after Close or Kill.
func (c *Conn) Recv(ctx context.Context) (*xmlstream.Element, error) {
	for {
		c.mu.Lock()
		if c.head < len(c.q) {
			e := c.q[c.head]
			c.q[c.head] = nil
			c.head++
			more := c.head < len(c.q)
			if !more {
				// Reuse the array, unless a burst made it big.
				if cap(c.q) > 1024 {
					c.q = nil
				} else {
					c.q = c.q[:0]
				}
				c.head = 0
			}
			c.mu.Unlock()
			if more {
				c.notify() // pass the wake-up on to another waiter
			}
			return e, nil
		}
		err := c.err
		c.mu.Unlock()
		if err != nil {
			return nil, err
		}
		select {
		case <-c.signal:
		case <-c.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// RecvMatch waits for the first element received for which match is true
// and returns it, leaving the elements before and after it queued for
// Recv in their order. It fails like Recv once the stream has ended and
// nothing queued matches.
func (c *Conn) RecvMatch(ctx context.Context, match func(*xmlstream.Element) bool) (*xmlstream.Element, error) {
	for {
		c.mu.Lock()
		for i := c.head; i < len(c.q); i++ {
			if e := c.q[i]; match(e) {
				copy(c.q[i:], c.q[i+1:])
				c.q[len(c.q)-1] = nil
				c.q = c.q[:len(c.q)-1]
				c.mu.Unlock()
				return e, nil
			}
		}
		err := c.err
		c.mu.Unlock()
		if err != nil {
			return nil, err
		}
		select {
		case <-c.signal:
		case <-c.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (c *Conn) notify() {
	select {
	case c.signal <- struct{}{}:
	default:
	}
}

// IQ sends an iq of type get or set (assigning an id if it has none) and
// waits for the matching result or error, which it returns. For a reply of
// type error it returns the reply and its *StanzaError. Other elements
// received meanwhile stay queued for Recv.
func (c *Conn) IQ(ctx context.Context, iq *xmlstream.Element) (*xmlstream.Element, error) {
	if iq == nil || iq.Name.Local != "iq" {
		return nil, errors.New("client: IQ needs an <iq/> element")
	}
	if t := iq.Attr("type"); t != "get" && t != "set" {
		return nil, fmt.Errorf("client: IQ of type %q, want get or set", t)
	}
	id := iq.Attr("id")
	if id == "" {
		id = "c" + strconv.FormatUint(c.ids.Add(1), 36)
		iq = iq.ShallowCopy().SetAttr("id", id)
	}
	ch := make(chan *xmlstream.Element, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, err
	}
	if _, dup := c.pending[id]; dup {
		c.mu.Unlock()
		return nil, fmt.Errorf("client: IQ id %q already pending", id)
	}
	if c.pending == nil {
		c.pending = make(map[string]chan *xmlstream.Element)
	}
	c.pending[id] = ch
	c.mu.Unlock()
	forget := func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}
	if err := c.Send(iq); err != nil {
		forget()
		return nil, err
	}
	var r *xmlstream.Element
	select {
	case r = <-ch:
	case <-c.done:
		select {
		case r = <-ch:
		default:
			forget()
			c.mu.Lock()
			err := c.err
			c.mu.Unlock()
			return nil, err
		}
	case <-ctx.Done():
		forget()
		select {
		case r = <-ch:
		default:
			return nil, ctx.Err()
		}
	}
	if r.Attr("type") == "error" {
		return r, stanzaErr(r)
	}
	return r, nil
}

// claim hands an IQ reply to a waiting IQ call.
func (c *Conn) claim(e *xmlstream.Element) bool {
	if e.Name.Local != "iq" {
		return false
	}
	if t := e.Attr("type"); t != "result" && t != "error" {
		return false
	}
	c.mu.Lock()
	ch, ok := c.pending[e.Attr("id")]
	if ok {
		delete(c.pending, e.Attr("id"))
	}
	c.mu.Unlock()
	if ok {
		ch <- e // buffered, never blocks
	}
	return ok
}

func (c *Conn) readLoop() {
	var err error
	for {
		var e *xmlstream.Element
		if e, err = c.dec.Next(); err != nil {
			break
		}
		if se := ParseStreamError(e); se != nil {
			err = se
			break
		}
		if c.claim(e) {
			continue
		}
		c.mu.Lock()
		c.q = append(c.q, e)
		c.mu.Unlock()
		c.notify()
	}
	var se *StreamError
	switch {
	case errors.As(err, &se):
	case c.closing.Load():
		err = ErrClosed
	case errors.Is(err, xmlstream.ErrStreamEnd), errors.Is(err, io.EOF):
		err = io.EOF
	default:
		err = fmt.Errorf("client: read: %w", err)
	}
	if !c.closing.Load() {
		c.sendClose()
	}
	c.conn.Close()
	c.mu.Lock()
	c.err = err
	c.pending = nil
	c.mu.Unlock()
	close(c.done)
}

// Close sends </stream:stream>, waits briefly for the server's closing tag
// and closes the connection.
func (c *Conn) Close() error {
	if c.closing.Swap(true) {
		<-c.done
		return nil
	}
	err := c.sendClose()
	if err == nil {
		t := time.NewTimer(closeWait)
		select {
		case <-c.done:
		case <-t.C:
		}
		t.Stop()
	}
	c.conn.Close()
	<-c.done
	return err
}

// Kill drops the connection without closing the stream.
func (c *Conn) Kill() error {
	c.closing.Store(true)
	nc := c.conn
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn() // no close_notify either
	}
	err := nc.Close()
	<-c.done
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}
