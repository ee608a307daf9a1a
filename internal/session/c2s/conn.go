package c2s

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/stanza"
	"github.com/parleyim/parley/internal/stream"
	"github.com/parleyim/parley/internal/xmlstream"
)

// maxQueue bounds the stanzas waiting for a slow client. Past it the
// session is closed rather than left to grow memory without bound.
const maxQueue = 4096

// conn is one client connection. Its reader goroutine (serve, then
// serveBound) owns the stream state. Once bound, a processor goroutine
// (process) handles what the reader checked; it reads only what binding
// fixed (full, origin, addr) and the atomics. Other goroutines only call
// Deliver and requestClose.
type conn struct {
	srv       *Server
	nc        net.Conn // current transport, TLS after STARTTLS
	raw       net.Conn
	directTLS bool
	addr      netip.AddrPort
	since     time.Time
	dec       *xmlstream.Decoder
	ctx       context.Context
	cancel    context.CancelFunc

	// Owned by the reader goroutine.
	host     string
	lang     string
	secure   bool
	authed   bool
	username string
	full     jid.JID
	origin   *module.Origin
	failures int  // failed logins (wrong credentials) on this stream
	attempts int  // failed SASL exchanges of any kind on this stream
	idle     bool // a SessionIdle probe is out
	tokens   float64
	lastTok  time.Time

	// Idle timing and parking (park.go), owned by whichever goroutine
	// reads for the session.
	idleSince time.Time // last input, or last idle check
	noPark    bool
	fd        int // the socket, once looked up for the poller; -1 before
	ptimer    *time.Timer
	poll      *poller      // the poller the session parks on
	pstate    atomic.Int32 // running, parking, woken or parked (park.go)
	done      func()       // tells the server the connection is over

	bound    atomic.Bool
	avail    atomic.Bool
	priority atomic.Int32

	closing atomic.Pointer[stream.Error] // close requested by another goroutine

	opened  bool // our stream header is out on the current stream
	writing bool // writes go through the queue (after binding)

	// Outbound queue, after binding. The router may Deliver as soon as the
	// session is in its table, a moment before writes through the queue
	// are enabled. A flusher goroutine runs only while there is something
	// to write: an idle session holds no goroutine but its reader.
	qmu      sync.Mutex
	queue    []*stanza.Stanza
	final    *stream.Error // written after the queue, then writing stops
	qclosed  bool
	wenabled bool          // flushers may run (set by startWriter)
	wrun     bool          // a flusher runs
	wdone    chan struct{} // closed when the final write is done

	// Inbound queue, after binding: stanzas the reader checked, handled
	// in order by a processor goroutine that runs only while there are
	// some (loop.go).
	imu   sync.Mutex
	icond sync.Cond // on imu: room in inq, or the processor stopped
	inq   []inbound
	irun  bool // a processor runs
}

var errClosing = errors.New("c2s: close requested")

func newConn(s *Server, nc net.Conn, directTLS bool) *conn {
	c := &conn{srv: s, nc: nc, raw: nc, directTLS: directTLS, since: time.Now(),
		wdone: make(chan struct{}), fd: -1}
	if ap, err := netip.ParseAddrPort(nc.RemoteAddr().String()); err == nil {
		c.addr = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.icond.L = &c.imu
	return c
}

// JID, Available, Priority, Deliver and Close make conn a router.Session.
func (c *conn) JID() jid.JID    { return c.full }
func (c *conn) Available() bool { return c.avail.Load() }
func (c *conn) Priority() int   { return int(c.priority.Load()) }
func (c *conn) Close(cond, text string) {
	c.requestClose(&stream.Error{Condition: cond, Text: text})
}

// requestClose asks the reader to end the stream with e. It never blocks.
func (c *conn) requestClose(e *stream.Error) {
	if c.closing.CompareAndSwap(nil, e) {
		// Wake the reader out of its blocking Read, or out of the
		// poller.
		_ = c.raw.SetReadDeadline(time.Now())
		c.wake()
	}
}

// Deliver queues st for the client without blocking.
func (c *conn) Deliver(st *stanza.Stanza) bool {
	c.qmu.Lock()
	if c.qclosed {
		c.qmu.Unlock()
		return false
	}
	if len(c.queue) >= maxQueue {
		c.qmu.Unlock()
		c.requestClose(&stream.Error{Condition: stream.PolicyViolation, Text: "too many stanzas waiting; the client reads too slowly"})
		return false
	}
	c.queue = append(c.queue, st)
	c.kickLocked()
	c.qmu.Unlock()
	return true
}

// kickLocked starts a flusher if writing is enabled and none runs. qmu
// is held.
func (c *conn) kickLocked() {
	if c.wenabled && !c.wrun {
		c.wrun = true
		go c.flush()
	}
}

// serve runs the life of the connection and calls done when it is over.
// Negotiation runs on the calling goroutine; a bound session goes on on a
// fresh one (serveBound).
func (c *conn) serve(done func()) {
	handedOff := false
	defer func() {
		if !handedOff {
			done()
		}
	}()
	if c.directTLS {
		if c.srv.cfg.TLS == nil {
			c.cancel()
			c.raw.Close()
			return
		}
		tc := tls.Server(c.raw, c.srv.cfg.TLS)
		_ = c.raw.SetDeadline(c.negotiationDeadline())
		if err := tc.Handshake(); err != nil { // bounded by the negotiation deadline; Close breaks it with a read deadline
			c.srv.log.Debug("direct TLS handshake failed", "addr", c.addr.String(), "err", err)
			c.cancel()
			c.raw.Close()
			return
		}
		_ = c.raw.SetDeadline(time.Time{})
		c.nc = tc
		c.secure = true
	}
	c.dec = xmlstream.NewDecoder(reader{c}, c.srv.cfg.Limits)
	if err := c.negotiate(); err != nil {
		c.end(err)
		return
	}
	handedOff = true
	c.done = done
	go c.serveBound()
}

// serveBound serves a bound session until it ends or parks. It runs on a
// goroutine of its own so that the stack the TLS handshake, SASL and
// binding grew on the negotiating goroutine is freed: what an idle
// session keeps is the small stack of its reader blocked in a read (see
// loop), or, once parked, no goroutine at all (park.go).
func (c *conn) serveBound() {
	for {
		err := c.loop()
		if err != errPark {
			c.end(err)
			c.done()
			return
		}
		switch c.park() {
		case parkDone:
			return
		case parkFailed:
			c.noPark = true
		case parkWoken:
		}
	}
}

// end closes the connection after negotiate or loop returned err: nil
// when the client closed its stream, a *stream.Error to send, or an I/O
// error.
func (c *conn) end(err error) {
	defer c.cancel()
	var se *stream.Error
	switch {
	case err == nil:
		// The client closed its stream (RFC 6120 §4.4): answer and hang up.
		c.finish(nil, true)
		return
	case errors.Is(err, errHandshake):
		c.raw.Close()
		return
	case errors.Is(err, io.EOF):
	case errors.As(err, &se):
	default:
		c.srv.log.Debug("connection ended", "addr", c.addr.String(), "err", err)
	}
	c.finish(se, false)
}

// finish ends the connection: it sends the stream error (if any) and the
// closing tag, leaves the router, tells the hooks, waits briefly for the
// client's own closing tag unless peerClosed says it came already (RFC
// 6120 §4.4) and closes the socket.
func (c *conn) finish(se *stream.Error, peerClosed bool) {
	wasBound := c.bound.Load()
	if wasBound {
		c.srv.cfg.Router.Unbind(c)
		c.bound.Store(false)
	}
	var tail []byte
	switch {
	case se != nil:
		if !c.opened {
			// RFC 6120 §4.9.1.2: an error needs a stream to travel in.
			tail = c.header(c.lang).Append(nil)
		}
		tail = stream.AppendError(tail, se)
	case c.opened:
		tail = []byte(stream.Close)
	}
	// Without an open stream of ours (the client left before its header,
	// or right after a restart) there is nothing to close.
	if c.writing {
		c.qmu.Lock()
		c.qclosed = true
		if se == nil {
			se = &stream.Error{} // empty condition: just the closing tag
		}
		c.final = se
		c.kickLocked()
		c.qmu.Unlock()
		select {
		case <-c.wdone:
		case <-time.After(c.srv.cfg.WriteTimeout):
		}
	} else if len(tail) > 0 {
		_ = c.nc.SetWriteDeadline(time.Now().Add(c.srv.cfg.WriteTimeout))
		_, _ = c.nc.Write(tail)
	}
	if wasBound {
		reason := ""
		if se != nil {
			reason = se.Condition
		}
		c.srv.log.Info("session closed", "jid", c.full.String(), "addr", c.addr.Addr().String(), "reason", cmp.Or(reason, "closed"), "duration", time.Since(c.since).Round(time.Second).String())
		hook.Run(c.ctx, c.srv.cfg.Hooks, hook.SessionClosed, &hook.SessionEvent{JID: c.full, Addr: c.addr, Reason: reason})
		c.undelivered()
	}
	if !peerClosed {
		c.awaitClose()
	}
	c.nc.Close()
}

// closeWait bounds how long finish waits for the client's closing tag.
const closeWait = time.Second

// awaitClose gives the client a moment to send its closing tag (RFC 6120
// §4.4), reading and discarding what it sends meanwhile so that closing
// the socket does not reset the connection under data the client has not
// read yet. It returns at the closing tag, at the end of input or after
// closeWait.
func (c *conn) awaitClose() {
	_ = c.raw.SetReadDeadline(time.Now().Add(closeWait))
	const tag = "</stream:stream>"
	var buf [512]byte
	var tail []byte // the last bytes read, to find a tag split across reads
	for {
		n, err := c.nc.Read(buf[:])
		if n > 0 {
			tail = append(tail, buf[:n]...)
			if bytes.Contains(tail, []byte(tag)) {
				return
			}
			if len(tail) > len(tag) {
				tail = append(tail[:0], tail[len(tail)-len(tag):]...)
			}
		}
		if err != nil {
			return
		}
	}
}

// undelivered hands messages still queued when the session ended back to
// the router's undelivered path (message.undelivered: offline storage),
// so that an accepted message is not lost. Only the messages RFC 6121
// §8.5.2 would store for an account with no resource go there: normal,
// chat, and unknown types, which §5.2.2 treats as normal. The others are
// dropped on purpose, as §8.5.3.2.1 allows for a resource that is gone: a
// headline is time-sensitive, a groupchat message was for an occupant who
// has left with the session, and an error is never stored or answered
// (RFC 6120 §8.3.1). A message no listener took — the offline module is
// off, could not store it, or refused it (a no-store hint) — is lost: the
// count is logged as an error.
func (c *conn) undelivered() {
	c.qmu.Lock()
	q := c.queue
	c.queue = nil
	c.qmu.Unlock()
	lost := 0
	for _, st := range q {
		if !st.IsMessage() {
			continue
		}
		switch st.Type() {
		case "headline", "groupchat", "error":
			continue
		}
		ev := &hook.StanzaEvent{Stanza: st, Session: c.full}
		if hook.Run(c.ctx, c.srv.cfg.Hooks, hook.MessageUndelivered, ev) != hook.Handled {
			lost++
		}
	}
	if lost > 0 {
		c.srv.log.Error("queued messages lost when the session ended", "jid", c.full.String(), "count", lost)
	}
}

// reader is the io.Reader the decoder reads from. It applies the
// negotiation and idle timeouts, fires SessionIdle once before giving up,
// turns a close request into errClosing, and a long enough silence of a
// bound session into errPark (park.go).
type reader struct{ c *conn }

func (r reader) Read(p []byte) (int, error) {
	c := r.c
	for {
		if c.closing.Load() != nil {
			return 0, errClosing
		}
		// Before binding the whole negotiation has one deadline, so a peer
		// that trickles bytes (whitespace, say) cannot hold an
		// unauthenticated connection open; after it the idle timeout
		// runs from the last input, and a silence of parkAfter before it
		// parks the session.
		dl := c.negotiationDeadline()
		parking := false
		if c.bound.Load() {
			dl = c.idleSince.Add(c.srv.cfg.IdleTimeout)
			if c.canPark() {
				if t := time.Now().Add(c.parkAfter()); t.Before(dl) {
					dl, parking = t, true
				}
			}
		}
		_ = c.raw.SetReadDeadline(dl)
		if c.closing.Load() != nil {
			return 0, errClosing
		}
		n, err := c.nc.Read(p)
		if n > 0 {
			c.idle = false
			if c.bound.Load() {
				c.idleSince = time.Now()
			}
			return n, nil
		}
		if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
			if c.closing.Load() != nil {
				return 0, errClosing
			}
			if parking {
				// The read waited parkAfter and found nothing: not in
				// the socket, and not in crypto/tls either, which
				// returns what it holds (decrypted input, a complete
				// record read ahead) without waiting. A record it holds
				// only in part needs more bytes from the socket, which
				// wake the session.
				return 0, errPark
			}
			if !c.bound.Load() {
				return 0, &stream.Error{Condition: stream.ConnectionTimeout, Text: "no data received in time"}
			}
			if c.processing() {
				// Silence while the server is still handling what the
				// client sent is not the client's idleness.
				c.idleSince = time.Now()
				continue
			}
			if !c.idle {
				// Listeners probe the client (XEP-0199); they run on the
				// processor, in order with the client's stanzas.
				c.idle = true
				c.idleSince = time.Now()
				c.enqueueIn(inbound{})
				continue
			}
			return 0, &stream.Error{Condition: stream.ConnectionTimeout, Text: "no data received in time"}
		}
		return n, err
	}
}

// negotiationDeadline is when negotiation must be over: the connection
// has NegotiationTimeout from its accept to a bound resource.
func (c *conn) negotiationDeadline() time.Time {
	return c.since.Add(c.srv.cfg.NegotiationTimeout)
}

// streamErr maps a read error to what the server sends.
func (c *conn) streamErr(err error) error {
	if errors.Is(err, errClosing) {
		return c.closing.Load()
	}
	var se *stream.Error
	if errors.As(err, &se) {
		return se
	}
	var sx *xmlstream.SyntaxError
	if errors.As(err, &sx) {
		return &stream.Error{Condition: sx.Cond, Text: sx.Msg}
	}
	if errors.Is(err, xmlstream.ErrStreamEnd) {
		return nil
	}
	return err
}

// write sends bytes directly; only the reader uses it, before binding.
func (c *conn) write(b []byte) error {
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.srv.cfg.WriteTimeout))
	_, err := c.nc.Write(b)
	return err
}

// writeElement writes one top-level element directly (before binding).
func (c *conn) writeElement(e *xmlstream.Element) error {
	return c.write(stream.AppendElement(nil, e, ns.Client))
}

// startWriter enables writes through the queue once the session is
// bound, and flushes what is queued already.
func (c *conn) startWriter() {
	c.writing = true
	c.qmu.Lock()
	c.wenabled = true
	if len(c.queue) > 0 || c.final != nil {
		c.kickLocked()
	}
	c.qmu.Unlock()
}

// writeBufs recycles the flushers' write buffers across sessions, so that
// an idle session keeps none.
var writeBufs = sync.Pool{New: func() any { return new([]byte) }}

// flush writes what is queued until the queue is empty, then returns; a
// Deliver that finds no flusher running starts another. It owns writes to
// the socket after binding: at most one runs at a time (wrun).
func (c *conn) flush() {
	bp := writeBufs.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 64<<10 {
			*bp = (*bp)[:0]
			writeBufs.Put(bp)
		}
	}()
	for {
		c.qmu.Lock()
		q := c.queue
		c.queue = nil
		final := c.final
		if len(q) == 0 && final == nil {
			c.wrun = false
			c.qmu.Unlock()
			return
		}
		c.qmu.Unlock()
		buf := (*bp)[:0]
		for _, st := range q {
			buf = st.El.Append(buf, ns.Client)
		}
		if final != nil {
			if final.Condition != "" {
				buf = stream.AppendError(buf, final)
			} else {
				buf = append(buf, stream.Close...)
			}
		}
		err := c.write(buf)
		*bp = buf[:0]
		if final != nil {
			close(c.wdone)
			return
		}
		if err != nil {
			c.requestClose(&stream.Error{Condition: stream.ConnectionTimeout, Text: "write failed"})
			// Keep draining until finish sets final, so Deliver never
			// fills the queue against a dead socket.
			c.qmu.Lock()
			c.qclosed = true
			c.qmu.Unlock()
		}
	}
}
