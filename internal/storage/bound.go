package storage

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// probeInterval is how often, while the database is known not to answer,
// one new connection may try it; every other use fails at once.
const probeInterval = time.Second

// errNoAnswer fails the use of a connection while the database is known
// not to answer. It is a net.Error, so MapErr classifies it as
// ErrUnavailable.
var errNoAnswer net.Error = &noAnswerError{}

type noAnswerError struct{}

func (*noAnswerError) Error() string {
	return "storage: the database stopped answering; waiting for it to come back"
}
func (*noAnswerError) Timeout() bool   { return true }
func (*noAnswerError) Temporary() bool { return true }

// queryBound bounds the exchanges of a pool's connections with a
// PostgreSQL server, and remembers when the server stopped answering.
//
// Every write on a connection arms a deadline: the server must take the
// request and send the whole answer within timeout. The PostgreSQL
// protocol is request/answer and the driver reads only while it awaits an
// answer, so a connection idle in the pool is never read and the deadline
// its last write set does no harm. A read past the deadline fails with a
// timeout (a net.Error: ErrUnavailable) and the driver closes the
// connection. Without the deadline, a server that vanishes without
// closing its sockets (a partition, a hung host) holds each caller until
// the kernel gives up on the connection, which takes minutes.
//
// A timeout also marks the server as not answering. Until some connection
// reads an answer again, uses of the pool fail at once with errNoAnswer,
// except one new connection per probeInterval, which tries the server:
// otherwise each storage call, and so each stanza that needs one, would
// wait the whole timeout while the server is away. A refused or closed
// connection fails fast by itself and marks nothing.
type queryBound struct {
	timeout   time.Duration
	migrating atomic.Int32 // migrations running: no deadline

	down      atomic.Bool
	mu        sync.Mutex
	nextProbe time.Time // guarded by mu
}

// deadline returns the deadline of an exchange that starts now, zero for
// none.
func (b *queryBound) deadline() time.Time {
	if b.migrating.Load() > 0 {
		return time.Time{}
	}
	return time.Now().Add(b.timeout)
}

// failed records that the server did not answer in time.
func (b *queryBound) failed() {
	b.mu.Lock()
	if !b.down.Load() {
		b.nextProbe = time.Now().Add(probeInterval)
	}
	b.down.Store(true)
	b.mu.Unlock()
}

// answered records that the server answered.
func (b *queryBound) answered() {
	if b.down.Load() {
		b.down.Store(false)
	}
}

// admitDial reports whether a new connection may be dialed now: always
// while the server answers, one per probeInterval while it does not.
func (b *queryBound) admitDial() bool {
	if !b.down.Load() {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if b.down.Load() && now.Before(b.nextProbe) {
		return false
	}
	b.nextProbe = now.Add(probeInterval)
	return true
}

// dialer wraps the driver's dial function.
func (b *queryBound) dialer(dial pgconn.DialFunc) pgconn.DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if !b.admitDial() {
			return nil, errNoAnswer
		}
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &boundedConn{Conn: c, bound: b, probe: b.down.Load()}, nil
	}
}

// boundedConn is one connection of the pool; see queryBound.
type boundedConn struct {
	net.Conn
	bound *queryBound
	probe bool // dialed while the server was down: may try it
}

func (c *boundedConn) Write(p []byte) (int, error) {
	if c.bound.down.Load() && !c.probe {
		return 0, errNoAnswer
	}
	if err := c.Conn.SetDeadline(c.bound.deadline()); err != nil {
		return 0, err
	}
	n, err := c.Conn.Write(p)
	c.check(err)
	return n, err
}

func (c *boundedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.bound.answered()
	}
	c.check(err)
	return n, err
}

// check marks the server down when an exchange timed out on our own
// deadline. A deadline the driver sets to abandon a cancelled query is
// indistinguishable here, and marks it down too until the next answer:
// at worst one probe interval of fast failures.
func (c *boundedConn) check(err error) {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.bound.failed()
	}
}
