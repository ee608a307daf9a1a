package c2s

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/stanza"
	"github.com/parleyim/parley/internal/stream"
	"github.com/parleyim/parley/internal/xmlstream"
)

// loop reads a bound session's stream: every element the client sends is
// checked and stamped here (RFC 6120 §8.1), then handled and routed (§10)
// in order by a processor goroutine (see process). Reading and handling
// are split so that the reader, which is all an idle session keeps, never
// runs the deep calls of the modules and the storage: its stack stays at
// what a blocked read needs, a few KiB, instead of growing to the largest
// any stanza ever needed.
//
// It returns errPark, without waiting for the processor, when the session
// should park (park.go).
func (c *conn) loop() (err error) {
	defer func() {
		if err != errPark {
			c.drainIn()
		}
	}()
	for {
		el, err := c.dec.Next()
		if err != nil {
			if errors.Is(err, errPark) {
				return errPark
			}
			return c.streamErr(err)
		}
		c.shape()
		if isStreamError(el) {
			return errPeerStreamError
		}
		if el.Name.Space != ns.Client {
			return unsupported(el)
		}
		var kind string
		switch el.Name.Local {
		case stanza.Message, stanza.Presence, stanza.IQ:
			kind = el.Name.Local
		default:
			return unsupported(el)
		}
		st, serr, berr := c.check(el, kind)
		if serr != nil {
			return serr
		}
		if berr != nil {
			if el.Attr("type") != "error" {
				// Through the queue, so that it follows the replies to
				// what the client sent before (RFC 6120 §10.1).
				c.enqueueIn(inbound{reply: stanza.ErrorReply(&stanza.Stanza{El: el, From: c.full, To: jid.MustParse(c.host)}, berr)})
			}
			continue
		}
		c.enqueueIn(inbound{st: st})
	}
}

// inbound is what the reader hands the processor: a checked stanza, an
// error reply to a stanza that failed the checks, or (both nil) the news
// that the connection has been idle for the idle timeout.
type inbound struct {
	st    *stanza.Stanza
	reply *stanza.Stanza
}

// maxIn bounds the stanzas read and not yet handled; past it the reader
// waits, so a client that sends faster than its stanzas are handled is
// slowed down by TCP rather than buffered in memory.
const maxIn = 64

// enqueueIn queues in for the processor, starting one if none runs. It
// waits while the queue is full.
func (c *conn) enqueueIn(in inbound) {
	c.imu.Lock()
	for len(c.inq) >= maxIn {
		c.icond.Wait()
	}
	c.inq = append(c.inq, in)
	if !c.irun {
		c.irun = true
		go c.process()
	}
	c.imu.Unlock()
}

// processing reports whether the processor has stanzas in hand: the
// client is then waiting for the server, not idle.
func (c *conn) processing() bool {
	c.imu.Lock()
	defer c.imu.Unlock()
	return c.irun
}

// drainIn waits until the processor has handled everything queued, so
// that the session ends (unbinds, broadcasts unavailable presence) after
// the last stanza the client sent.
func (c *conn) drainIn() {
	c.imu.Lock()
	for c.irun {
		c.icond.Wait()
	}
	c.imu.Unlock()
}

// process handles queued stanzas in order until the queue is empty, then
// returns; the reader starts it again at the next stanza. Its deep stack
// is freed with it.
func (c *conn) process() {
	ctx := module.WithOrigin(c.ctx, c.origin)
	for {
		c.imu.Lock()
		if len(c.inq) == 0 {
			// An idle session keeps no queue.
			c.inq = nil
			c.irun = false
			c.icond.Broadcast()
			c.imu.Unlock()
			return
		}
		in := c.inq[0]
		c.inq[0] = inbound{}
		c.inq = c.inq[1:]
		c.icond.Broadcast()
		c.imu.Unlock()
		// What was read is handled even when a close was requested
		// meanwhile (shutdown, a replacing session): the client sent it
		// before it learnt of the close, and a message is not to be lost.
		switch {
		case in.reply != nil:
			c.reply(in.reply)
		case in.st == nil:
			hook.Run(c.ctx, c.srv.cfg.Hooks, hook.SessionIdle, &hook.SessionEvent{JID: c.full, Addr: c.addr})
		default:
			c.handle(ctx, in.st)
		}
	}
}

// handle processes one checked stanza from the client: the stream's own
// IQs, the session's presence state, the stanza.in hooks, then routing.
func (c *conn) handle(ctx context.Context, st *stanza.Stanza) {
	kind := st.El.Name.Local
	if kind == stanza.IQ && c.sessionIQ(st) {
		return
	}
	initial := false
	if kind == stanza.Presence && st.El.Attr("to") == "" {
		wasAvail := c.avail.Load()
		if berr := c.ownPresence(st); berr != nil {
			c.reply(stanza.ErrorReply(st, berr))
			return
		}
		initial = !wasAvail && c.avail.Load()
	}
	ev := &hook.StanzaEvent{Stanza: st, Session: c.full}
	verdict := hook.Run(ctx, c.srv.cfg.Hooks, hook.StanzaIn, ev)
	if initial {
		// After the broadcast (done in stanza.in by the presence
		// module), so that stored messages follow the client's
		// presence (XEP-0160).
		hook.Run(ctx, c.srv.cfg.Hooks, hook.SessionAvailable, &hook.SessionEvent{JID: c.full, Addr: c.addr})
	}
	if verdict != hook.Continue {
		return
	}
	st = ev.Stanza
	if kind == stanza.Presence && st.El.Attr("to") == "" {
		// Presence broadcast is the presence module's business; it
		// handled it in stanza.in if it is loaded.
		return
	}
	_ = c.srv.cfg.Router.Route(ctx, st)
}

// reply queues a stanza from the server to this client.
func (c *conn) reply(st *stanza.Stanza) {
	c.Deliver(st)
}

var (
	iqTypes       = map[string]bool{"get": true, "set": true, "result": true, "error": true}
	presenceTypes = map[string]bool{"": true, "unavailable": true, "subscribe": true, "subscribed": true,
		"unsubscribe": true, "unsubscribed": true, "probe": true, "error": true}
)

// check validates a stanza from the client and stamps its addresses. It
// returns a stream error (fatal) or a stanza error (bounced), or the
// stanza ready to route.
func (c *conn) check(el *xmlstream.Element, kind string) (*stanza.Stanza, *stream.Error, *stanza.Error) {
	// RFC 6120 §8.1.2.1: 'from' must be absent or name this session (its
	// full or bare JID); anything else is invalid-from.
	if f := el.Attr("from"); f != "" {
		fj, err := jid.Parse(f)
		if err != nil || (fj != c.full && fj != c.full.Bare()) {
			return nil, &stream.Error{Condition: stream.InvalidFrom, Text: "from does not match the session"}, nil
		}
	}
	typ := el.Attr("type")
	switch kind {
	case stanza.IQ:
		// RFC 6120 §8.2.3: id and a known type are required; a get or set
		// carries exactly one payload.
		if !iqTypes[typ] || el.Attr("id") == "" {
			return nil, nil, stanza.ErrBadRequest.WithText("iq needs an id and a type of get, set, result or error")
		}
		if (typ == "get" || typ == "set") && len(el.Elements()) != 1 {
			return nil, nil, stanza.ErrBadRequest.WithText("iq get and set carry exactly one child element")
		}
	case stanza.Presence:
		if !presenceTypes[typ] {
			return nil, nil, stanza.ErrBadRequest.WithText("unknown presence type")
		}
	}
	out := el.ShallowCopy()
	out.SetAttr("from", c.full.String())
	st := &stanza.Stanza{El: out, From: c.full}
	if to := el.Attr("to"); to != "" {
		tj, err := jid.Parse(to)
		if err != nil {
			// RFC 6120 §8.3.3.8.
			return nil, nil, stanza.ErrJIDMalformed
		}
		st.To = tj
		if tj.String() != to {
			out.SetAttr("to", tj.String())
		}
	} else {
		// RFC 6120 §10.3: no 'to' means the account itself; presence
		// without 'to' is a broadcast, handled before routing.
		st.To = c.full.Bare()
	}
	return st, nil, nil
}

// sessionIQ answers the IQs that belong to the stream itself. It reports
// whether it handled st.
func (c *conn) sessionIQ(st *stanza.Stanza) bool {
	if st.El.Attr("to") != "" && st.To != c.full.Bare() && st.To != c.full.DomainJID() {
		return false
	}
	p := st.Payload()
	if p == nil || st.Type() != "set" {
		return false
	}
	switch {
	case p.Name.Space == ns.Session && p.Name.Local == "session":
		// Legacy session establishment: a no-op that succeeds.
		c.reply(&stanza.Stanza{El: resultFor(st.El)})
		return true
	case p.Name.Space == ns.Bind:
		// RFC 6120 §7: one resource per stream.
		c.reply(stanza.ErrorReply(st, stanza.ErrNotAllowed.WithText("a resource is already bound")))
		return true
	}
	return false
}

// ownPresence records the session's own availability and priority from
// presence without 'to' (RFC 6121 §4.2, §4.4, §4.7.2.3).
func (c *conn) ownPresence(st *stanza.Stanza) *stanza.Error {
	switch st.Type() {
	case "":
		prio := 0
		if p := st.El.Child(ns.Client, "priority"); p != nil {
			n, err := strconv.Atoi(p.Text())
			if err != nil || n < -128 || n > 127 {
				return stanza.ErrBadRequest.WithText("priority must be an integer from -128 to 127")
			}
			prio = n
		}
		c.priority.Store(int32(prio))
		c.avail.Store(true)
	case "unavailable":
		c.avail.Store(false)
	}
	return nil
}

// shape enforces the stanzas-per-second limit by slowing the reader down
// (a token bucket with a one-second burst).
func (c *conn) shape() {
	rate := float64(c.srv.cfg.StanzasPerSecond)
	if rate <= 0 {
		return
	}
	now := time.Now()
	if c.lastTok.IsZero() {
		c.tokens = rate
	} else {
		c.tokens = min(rate, c.tokens+now.Sub(c.lastTok).Seconds()*rate)
	}
	c.lastTok = now
	if c.tokens >= 1 {
		c.tokens--
		return
	}
	wait := time.Duration((1 - c.tokens) / rate * float64(time.Second))
	select {
	case <-time.After(wait):
	case <-c.ctx.Done():
	}
	c.tokens = 0
	c.lastTok = time.Now()
}
