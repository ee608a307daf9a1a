package register

import (
	"net/netip"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/config"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }
func testLimiter(n int, per time.Duration) (*limiter, *fakeClock) {
	l := newLimiter(config.Rate{N: n, Per: per})
	c := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	l.now = c.now
	return l, c
}

func TestLimiterWindow(t *testing.T) {
	l, clock := testLimiter(2, time.Minute)
	a := netip.MustParseAddr("198.51.100.7")
	other := netip.MustParseAddr("198.51.100.8")
	take := func(addr netip.Addr, want bool) {
		t.Helper()
		if _, ok := l.reserve(addr); ok != want {
			t.Fatalf("reserve(%s) at %s = %v, want %v", addr, clock.t.Format(time.TimeOnly), ok, want)
		}
	}
	take(a, true)
	clock.advance(30 * time.Second)
	take(a, true)
	take(a, false)    // two within the minute
	take(other, true) // addresses are counted apart
	clock.advance(30 * time.Second)
	take(a, true) // the first one left the window
	take(a, false)
	clock.advance(2 * time.Minute)
	take(a, true)
	take(a, true)
	take(a, false)
}

func TestLimiterRelease(t *testing.T) {
	l, _ := testLimiter(1, time.Minute)
	a := netip.MustParseAddr("198.51.100.7")
	release, ok := l.reserve(a)
	if !ok {
		t.Fatal("first reserve refused")
	}
	release() // the registration failed: it does not count
	if _, ok := l.reserve(a); !ok {
		t.Fatal("reserve after release refused")
	}
	if _, ok := l.reserve(a); ok {
		t.Fatal("second registration allowed")
	}
}

func TestLimiterKeys(t *testing.T) {
	l, _ := testLimiter(1, time.Minute)
	cases := []struct {
		first, second string
		same          bool
	}{
		// One IPv6 host usually holds a whole /64.
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true},
		{"2001:db8:1:3::1", "2001:db8:1:4::1", false},
		// An IPv4-mapped address is the IPv4 address.
		{"::ffff:192.0.2.1", "192.0.2.1", true},
		{"192.0.2.2", "192.0.2.3", false},
	}
	for _, tc := range cases {
		if _, ok := l.reserve(netip.MustParseAddr(tc.first)); !ok {
			t.Fatalf("reserve(%s) refused", tc.first)
		}
		if _, ok := l.reserve(netip.MustParseAddr(tc.second)); ok == tc.same {
			t.Errorf("%s after %s: allowed %v, want %v", tc.second, tc.first, ok, !tc.same)
		}
	}
}

// The limiter remembers only addresses inside the window: memory does not
// grow with the addresses seen over time, and past maxTracked live
// addresses it refuses rather than grows.
func TestLimiterMemory(t *testing.T) {
	l, clock := testLimiter(1, time.Minute)
	addr := func(i int) netip.Addr {
		return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
	}
	for i := range 10 * minSweep {
		if _, ok := l.reserve(addr(i)); !ok {
			t.Fatalf("reserve %d refused", i)
		}
		clock.advance(time.Second)
	}
	if n := l.tracked(); n > 2*minSweep {
		t.Fatalf("%d addresses tracked after a slow trickle, want at most %d", n, 2*minSweep)
	}

	clock.advance(time.Hour)
	for i := range maxTracked {
		if _, ok := l.reserve(addr(i)); !ok {
			t.Fatalf("reserve %d of a flood refused below the cap", i)
		}
	}
	if _, ok := l.reserve(addr(maxTracked)); ok {
		t.Fatal("a new address was let in past maxTracked")
	}
	clock.advance(time.Minute)
	if _, ok := l.reserve(addr(maxTracked)); !ok {
		t.Fatal("still refused once the window passed")
	}
	if n := l.tracked(); n != 1 {
		t.Fatalf("%d addresses tracked after the flood expired, want 1", n)
	}
}

func TestLimiterUnlimited(t *testing.T) {
	l := newLimiter(config.Rate{Unlimited: true})
	if l != nil {
		t.Fatal("unlimited rate gave a limiter")
	}
	for range 100 {
		if _, ok := l.reserve(netip.MustParseAddr("192.0.2.1")); !ok {
			t.Fatal("nil limiter refused")
		}
	}
}
