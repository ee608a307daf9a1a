package auth

import (
	"net/netip"
	"sync"
	"time"
)

// maxTracked bounds the memory of a Throttle: past it, expired entries are
// pruned, and if none are expired the oldest are dropped.
const maxTracked = 1 << 16

// Throttle slows down login attempts from an address with repeated
// failures: after n failures within per, each further attempt waits
// 1s, 2s, 4s … up to 30s. A success clears the address. Addresses are
// tracked per /64 for IPv6, where one host owns the whole prefix.
type Throttle struct {
	n   int
	per time.Duration
	now func() time.Time

	mu   sync.Mutex
	seen map[netip.Addr]*failures
}

type failures struct {
	count int
	first time.Time
}

// NewThrottle returns a throttle allowing n failures per period; n <= 0
// disables it (a nil *Throttle is also valid and never delays).
func NewThrottle(n int, per time.Duration) *Throttle {
	if n <= 0 || per <= 0 {
		return nil
	}
	return &Throttle{n: n, per: per, now: time.Now, seen: map[netip.Addr]*failures{}}
}

func key(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// Delay returns how long an attempt from addr must wait.
func (t *Throttle) Delay(addr netip.Addr) time.Duration {
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.seen[key(addr)]
	if f == nil || t.now().Sub(f.first) > t.per {
		return 0
	}
	over := f.count - t.n
	if over < 0 {
		return 0
	}
	d := time.Second << min(over, 5)
	return min(d, 30*time.Second)
}

// Failed records a failed attempt from addr.
func (t *Throttle) Failed(addr netip.Addr) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	k := key(addr)
	f := t.seen[k]
	if f == nil || now.Sub(f.first) > t.per {
		if len(t.seen) >= maxTracked {
			t.prune(now)
		}
		t.seen[k] = &failures{count: 1, first: now}
		return
	}
	f.count++
}

// Succeeded clears addr.
func (t *Throttle) Succeeded(addr netip.Addr) {
	if t == nil {
		return
	}
	t.mu.Lock()
	delete(t.seen, key(addr))
	t.mu.Unlock()
}

func (t *Throttle) prune(now time.Time) {
	for k, f := range t.seen {
		if now.Sub(f.first) > t.per {
			delete(t.seen, k)
		}
	}
	// Still full: forget arbitrary entries (map order) rather than grow.
	for k := range t.seen {
		if len(t.seen) < maxTracked*3/4 {
			break
		}
		delete(t.seen, k)
	}
}
