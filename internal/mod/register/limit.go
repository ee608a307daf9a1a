package register

import (
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/parleyim/parley/internal/config"
)

// maxTracked bounds the addresses a limiter remembers. Only addresses that
// registered within the window are kept, so reaching it means a flood of
// new accounts from that many networks at once; the limiter then refuses
// new addresses until the window lets old ones go, rather than grow.
const maxTracked = 1 << 16

// limiter counts successful registrations per client address over a
// sliding window: at most n within any period of length per. It owns no
// goroutine; expired entries are dropped when the map has doubled since
// the last sweep, which keeps the work per call constant on average.
// A nil *limiter allows everything.
type limiter struct {
	n   int
	per time.Duration
	now func() time.Time

	mu   sync.Mutex
	seen map[netip.Addr][]time.Time // registration times, oldest first
	// sweepAt is the size of seen that triggers the next sweep, and
	// nextExpiry the earliest time a sweep can free anything.
	sweepAt    int
	nextExpiry time.Time
}

const minSweep = 1024

// newLimiter returns the limiter for rate r, nil when r is unlimited.
func newLimiter(r config.Rate) *limiter {
	if r.Unlimited || r.N <= 0 || r.Per <= 0 {
		return nil
	}
	return &limiter{n: r.N, per: r.Per, now: time.Now, seen: map[netip.Addr][]time.Time{}, sweepAt: minSweep}
}

// limitKey groups addresses that one client controls: an IPv6 host
// usually owns a whole /64.
func limitKey(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// reserve takes a registration slot for addr. It reports false when addr
// has used all of them within the window. A caller whose registration then
// fails calls release, so that only successful registrations count.
func (l *limiter) reserve(addr netip.Addr) (release func(), ok bool) {
	if l == nil {
		return func() {}, true
	}
	k := limitKey(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	times := l.live(l.seen[k], now)
	if len(times) >= l.n {
		l.seen[k] = times
		return nil, false
	}
	if len(times) == 0 {
		delete(l.seen, k)
		if len(l.seen) >= l.sweepAt && !now.Before(l.nextExpiry) {
			l.sweep(now)
		}
		if len(l.seen) >= maxTracked {
			return nil, false
		}
	}
	l.seen[k] = append(times, now)
	return func() { l.release(k, now) }, true
}

// live drops the times that have left the window.
func (l *limiter) live(times []time.Time, now time.Time) []time.Time {
	i := 0
	for i < len(times) && now.Sub(times[i]) >= l.per {
		i++
	}
	if i == len(times) {
		return nil
	}
	return times[i:]
}

func (l *limiter) release(k netip.Addr, t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	times := l.seen[k]
	if i := slices.Index(times, t); i >= 0 {
		times = slices.Delete(times, i, i+1)
	}
	if len(times) == 0 {
		delete(l.seen, k)
		return
	}
	l.seen[k] = times
}

// sweep forgets every address whose registrations have all expired, and
// sets when the next sweep is due: once the map has doubled (or reached
// maxTracked), and not before something can have expired.
func (l *limiter) sweep(now time.Time) {
	l.nextExpiry = time.Time{}
	for k, times := range l.seen {
		if len(times) == 0 || now.Sub(times[len(times)-1]) >= l.per {
			delete(l.seen, k)
			continue
		}
		if exp := times[len(times)-1].Add(l.per); l.nextExpiry.IsZero() || exp.Before(l.nextExpiry) {
			l.nextExpiry = exp
		}
	}
	l.sweepAt = min(maxTracked, max(minSweep, 2*len(l.seen)))
}

// tracked returns how many addresses the limiter remembers (for tests).
func (l *limiter) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.seen)
}
