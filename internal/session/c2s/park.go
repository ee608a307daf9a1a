package c2s

import (
	"errors"
	"syscall"
	"time"
)

// Parking: a bound session that has read everything it was sent gives up
// its reader goroutine until the client sends more.
//
// An idle session's only goroutine is its reader, blocked in a read; its
// stack, about 4 KiB, is the largest single cost of an idle TLS session.
// After parkAfter without input, with nothing buffered at any layer (the
// XML decoder, crypto/tls, the record framing below it), the reader
// returns instead: the socket is registered with the server's poller, a
// timer is set for the idle timeout, and the goroutine ends. The first of
// input, the timer and a close request starts a new reader, which goes on
// exactly where the old one stopped; what a parked session keeps is its
// state, not a stack.

// parkAfter is how long a bound session's reader waits for input before
// it parks, at most: a quarter of the idle timeout if that is less.
// Sessions that talk more often than this never park, so a busy server
// pays nothing for parking.
const parkAfter = 2 * time.Second

func (c *conn) parkAfter() time.Duration {
	return min(parkAfter, c.srv.cfg.IdleTimeout/4)
}

// errPark is what the reader returns, through the decoder, when the
// session should park; the decoder keeps its state (see xmlstream.Decoder).
var errPark = errors.New("c2s: park")

// Park states.
const (
	running int32 = iota
	parked
)

// canPark reports whether the reader may give up its goroutine now:
// nothing the client sent waits in a buffer that only a read would drain.
func (c *conn) canPark() bool {
	if c.noPark || !c.bound.Load() || c.more || !c.dec.Idle() {
		return false
	}
	return c.rec == nil || c.rec.Buffered() == 0
}

// park hands the session to the poller. It reports false if it could
// not, and the reader then goes on blocking as before. After it returns
// true the calling goroutine must not touch the session again: another
// may be running it already.
func (c *conn) park() bool {
	p := c.srv.poller()
	if p == nil {
		return false
	}
	if c.fd < 0 {
		sc, ok := c.raw.(syscall.Conn)
		if !ok {
			return false
		}
		rc, err := sc.SyscallConn()
		if err != nil {
			return false
		}
		if err := rc.Control(func(fd uintptr) { c.fd = int(fd) }); err != nil {
			c.fd = -1
			return false
		}
	}
	if c.ptimer == nil {
		c.ptimer = time.AfterFunc(time.Hour, c.wake)
		c.ptimer.Stop()
	}
	c.poll = p
	c.pstate.Store(parked)
	// The timer wakes the session for its idle check (reader.Read) when
	// the client has been silent for the idle timeout.
	c.ptimer.Reset(max(time.Until(c.idleSince.Add(c.srv.cfg.IdleTimeout)), 0))
	if err := p.add(c.fd, c); err != nil {
		if c.pstate.CompareAndSwap(parked, running) {
			c.ptimer.Stop()
			c.srv.log.Debug("session cannot park", "jid", c.full.String(), "err", err)
			return false
		}
		// The timer fired already; the goroutine it started owns the
		// session.
		return true
	}
	// A close requested while parking found the session running and
	// woke nobody.
	if c.closing.Load() != nil {
		c.wake()
	}
	return true
}

// wake resumes a parked session on a new goroutine; it does nothing if
// the session runs. The poller, the idle timer and requestClose call it.
func (c *conn) wake() {
	if c.pstate.CompareAndSwap(parked, running) {
		go c.resume()
	}
}

// resume undoes park and reads on.
func (c *conn) resume() {
	c.ptimer.Stop()
	c.poll.remove(c.fd)
	c.serveBound()
}

// poller returns the server's poller, starting it on first use, or nil
// where sessions cannot park.
func (s *Server) poller() *poller {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.poll == nil && s.pollErr == nil {
		s.poll, s.pollErr = newPoller(s.log)
		if s.pollErr != nil {
			s.log.Debug("idle sessions keep a goroutine", "err", s.pollErr)
		}
	}
	return s.poll
}
