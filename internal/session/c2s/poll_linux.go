//go:build linux

package c2s

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"golang.org/x/sys/unix"
)

// poller wakes parked sessions (park.go) when their socket becomes
// readable or is hung up. It is an epoll instance of its own, beside the
// Go runtime's: the runtime's poller only wakes a goroutine that is
// blocked in a read, and keeping such a goroutine is what a parked session
// avoids. Each registration is one-shot: it fires once, and the session
// removes it when it resumes.
type poller struct {
	epfd, evfd int
	log        *slog.Logger
	done       chan struct{}

	mu     sync.Mutex
	conns  map[int32]*conn // by socket descriptor
	broken bool            // the wait loop failed: nothing parks any more
}

func newPoller(log *slog.Logger) (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("c2s: epoll_create1: %w", err)
	}
	evfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("c2s: eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(evfd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &ev); err != nil {
		unix.Close(evfd)
		unix.Close(epfd)
		return nil, fmt.Errorf("c2s: epoll_ctl: %w", err)
	}
	p := &poller{epfd: epfd, evfd: evfd, log: log, done: make(chan struct{}), conns: map[int32]*conn{}}
	go p.run()
	return p, nil
}

var errPollerBroken = errors.New("c2s: poller stopped")

// add registers fd for one wake-up of c.
func (p *poller) add(fd int, c *conn) error {
	p.mu.Lock()
	if p.broken {
		p.mu.Unlock()
		return errPollerBroken
	}
	if old := p.conns[int32(fd)]; old != nil && old != c {
		p.mu.Unlock()
		return fmt.Errorf("c2s: descriptor %d is registered for another session", fd)
	}
	p.conns[int32(fd)] = c
	p.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: int32(fd)}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		p.mu.Lock()
		if p.conns[int32(fd)] == c {
			delete(p.conns, int32(fd))
		}
		p.mu.Unlock()
		return fmt.Errorf("c2s: epoll_ctl add: %w", err)
	}
	return nil
}

// remove drops c's registration of fd; it must come before the socket is
// closed, so that a later connection reusing the descriptor number is not
// taken for this one.
func (p *poller) remove(fd int, c *conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.broken || p.conns[int32(fd)] != c {
		return
	}
	_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, &unix.EpollEvent{})
	delete(p.conns, int32(fd))
}

func (p *poller) run() {
	defer close(p.done)
	events := make([]unix.EpollEvent, 256)
	for {
		n, err := unix.EpollWait(p.epfd, events, -1)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			// Cannot happen with a valid epoll descriptor; if it does,
			// no parked session may be left waiting for a wake-up that
			// will not come.
			p.log.Error("c2s poller failed; idle sessions keep a goroutine from now on", "err", err)
			p.mu.Lock()
			p.broken = true
			parked := make([]*conn, 0, len(p.conns))
			for _, c := range p.conns {
				parked = append(parked, c)
			}
			p.mu.Unlock()
			for _, c := range parked {
				c.wake()
			}
			return
		}
		for _, ev := range events[:n] {
			if ev.Fd == int32(p.evfd) {
				return
			}
			p.mu.Lock()
			c := p.conns[ev.Fd]
			p.mu.Unlock()
			if c != nil {
				c.wake()
			}
		}
	}
}

// close stops the poller. No session may be parked on it.
func (p *poller) close() {
	p.mu.Lock()
	p.broken = true
	p.mu.Unlock()
	var one = [8]byte{1}
	_, _ = unix.Write(p.evfd, one[:])
	<-p.done
	unix.Close(p.evfd)
	unix.Close(p.epfd)
}
