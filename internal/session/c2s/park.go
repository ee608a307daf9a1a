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
// When a read has waited parkAfter in vain between two stanzas, the
// reader returns instead: the socket is registered with the server's
// poller, a timer is set for the idle timeout, and the goroutine ends.
// The first of input, the timer and a close request starts a new reader,
// which goes on exactly where the old one stopped; what a parked session
// keeps is its state, not a stack.

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

// Park states (conn.pstate). Only the goroutine that moves a session from
// parked to running may run it; while the reader is still parking, a wake
// is left for it to find (woken).
const (
	running int32 = iota
	parking       // park is registering the session
	woken         // a wake came while parking: the reader goes on
	parked        // no goroutine runs the session
)

// canPark reports whether the reader may park at its next wait: the
// session is bound and the decoder is between stanzas with nothing left
// over (parking in the middle of a stanza would only make the decoder
// parse its beginning again).
func (c *conn) canPark() bool {
	return !c.noPark && c.bound.Load() && c.dec.Idle()
}

// Outcomes of park.
const (
	parkDone   = iota // parked: the calling goroutine must leave the session alone
	parkWoken         // woken while parking: read on
	parkFailed        // cannot park: read on, and do not try again
)

// park hands the session to the poller.
func (c *conn) park() int {
	p := c.srv.poller()
	if p == nil {
		return parkFailed
	}
	if c.fd < 0 {
		sc, ok := c.raw.(syscall.Conn)
		if !ok {
			return parkFailed
		}
		rc, err := sc.SyscallConn()
		if err != nil {
			return parkFailed
		}
		if err := rc.Control(func(fd uintptr) { c.fd = int(fd) }); err != nil {
			c.fd = -1
			return parkFailed
		}
	}
	if c.ptimer == nil {
		c.ptimer = time.AfterFunc(time.Hour, c.wake)
		c.ptimer.Stop()
	}
	c.poll = p
	// The timer wakes the session for its idle check (reader.Read) when
	// the client has been silent for the idle timeout.
	idle := max(time.Until(c.idleSince.Add(c.srv.cfg.IdleTimeout)), 0)
	c.pstate.Store(parking)
	if err := p.add(c.fd, c); err != nil {
		c.pstate.Store(running)
		c.srv.log.Debug("session cannot park", "jid", c.full.String(), "err", err)
		return parkFailed
	}
	c.ptimer.Reset(idle)
	// A close requested now found the session running and woke nobody.
	if c.closing.Load() == nil && c.pstate.CompareAndSwap(parking, parked) {
		return parkDone
	}
	// Woken while parking, by input, the timer or a close request: undo,
	// and let the reader find out which.
	c.ptimer.Stop()
	p.remove(c.fd, c)
	c.pstate.Store(running)
	return parkWoken
}

// wake resumes a parked session on a new goroutine, or tells a session
// that is parking to read on; it does nothing to a running one. The
// poller, the idle timer and requestClose call it.
func (c *conn) wake() {
	for {
		switch c.pstate.Load() {
		case parked:
			if c.pstate.CompareAndSwap(parked, running) {
				go c.resume()
				return
			}
		case parking:
			if c.pstate.CompareAndSwap(parking, woken) {
				return
			}
		default:
			return
		}
	}
}

// resume undoes park and reads on.
func (c *conn) resume() {
	c.ptimer.Stop()
	c.poll.remove(c.fd, c)
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
