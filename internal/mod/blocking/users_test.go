package blocking

// The users table on its own: which entries it keeps, and the bound on
// the lists of users nothing needs.

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/jid"
)

// loaded puts a list of n items in the table for user, as a check that
// read it from the store would, and releases the entry.
func loaded(t *users, user jid.JID, n int) {
	u := t.acquire(user)
	js := make([]jid.JID, n)
	for i := range js {
		js[i] = jid.MustParse(fmt.Sprintf("blocked%d@example.com", i))
	}
	u.setList(newList(js))
	t.release(user, u)
}

// size returns the number of entries and the weight of the idle ones, and
// checks that each shard keeps to the bound.
func size(tb testing.TB, t *users) (entries, weight int) {
	tb.Helper()
	for i := range t.shards {
		s := &t.shards[i]
		if s.weight > idleWeight {
			tb.Fatalf("shard %d: idle weight %d over the bound %d", i, s.weight, idleWeight)
		}
		n := 0
		for u := s.idle.next; u != &s.idle; u = u.next {
			n += u.weight
		}
		if n != s.weight {
			tb.Fatalf("shard %d: idle ring weighs %d, counted %d", i, n, s.weight)
		}
		entries += len(s.m)
		weight += s.weight
	}
	return entries, weight
}

func userN(i int) jid.JID { return jid.MustParse(fmt.Sprintf("u%d@localhost", i)) }

func TestUsersTable(t *testing.T) {
	t.Run("a list never read is not kept", func(t *testing.T) {
		tab := newUsers()
		u := tab.acquire(userN(1))
		tab.release(userN(1), u)
		if n, _ := size(t, tab); n != 0 {
			t.Fatalf("%d entries, want 0", n)
		}
		if _, ok := tab.cached(userN(1)); ok {
			t.Fatal("cached list for a user whose list was never read")
		}
	})

	t.Run("idle lists are bounded", func(t *testing.T) {
		tab := newUsers()
		const n = 2 * userShards * idleWeight
		for i := range n {
			loaded(tab, userN(i), 0)
		}
		entries, weight := size(t, tab)
		if entries > userShards*idleWeight || entries != weight {
			t.Fatalf("%d entries weighing %d after %d users; want at most %d", entries, weight, n, userShards*idleWeight)
		}
		// The most recent are there, the oldest gone.
		if _, ok := tab.cached(userN(n - 1)); !ok {
			t.Error("the last list read is not cached")
		}
		if _, ok := tab.cached(userN(0)); ok {
			t.Error("the first of 2× the bound is still cached")
		}
	})

	t.Run("long lists weigh more", func(t *testing.T) {
		tab := newUsers()
		for i := range 2 * userShards {
			loaded(tab, userN(i), idleWeight/4)
		}
		entries, weight := size(t, tab)
		if weight > userShards*idleWeight || entries > weight/(idleWeight/4+1) {
			t.Fatalf("%d entries weighing %d", entries, weight)
		}
	})

	t.Run("a list used again is kept over older ones", func(t *testing.T) {
		tab := newUsers()
		keep := userN(0)
		loaded(tab, keep, 0)
		for i := 1; i < 2*userShards*idleWeight; i++ {
			loaded(tab, userN(i), 0)
			if _, ok := tab.cached(keep); !ok {
				t.Fatalf("evicted after %d other users although used after each", i)
			}
		}
	})

	t.Run("sessions and operations keep their lists", func(t *testing.T) {
		tab := newUsers()
		online, busy := userN(-1), userN(-2)
		full := jid.MustParse(online.String() + "/phone")
		addr := netip.MustParseAddrPort("192.0.2.1:5000")
		tab.bind(full, addr)
		loaded(tab, online, 3)
		held := tab.acquire(busy)
		held.setList(newList([]jid.JID{jid.MustParse("example.com")}))
		for i := range 2 * userShards * idleWeight {
			loaded(tab, userN(i), 0)
		}
		if l, ok := tab.cached(online); !ok || len(l) != 3 {
			t.Fatalf("list of a user with a session: %v, %v", l, ok)
		}
		if l, ok := tab.cached(busy); !ok || len(l) != 1 {
			t.Fatalf("list of a held entry: %v, %v", l, ok)
		}
		// Once the session ends the entry is idle like any other, and
		// still cached.
		tab.unbind(full, addr)
		tab.release(busy, held)
		for _, j := range []jid.JID{online, busy} {
			if _, ok := tab.cached(j); !ok {
				t.Fatalf("%s not cached right after it became idle", j)
			}
		}
		size(t, tab)
	})
}

// BenchmarkCached is the cost of a check of a cached list, from several
// goroutines, for users spread over the shards.
func BenchmarkCached(b *testing.B) {
	tab := newUsers()
	js := make([]jid.JID, 256)
	for i := range js {
		js[i] = userN(i)
		loaded(tab, js[i], 1)
	}
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, ok := tab.cached(js[i%len(js)]); !ok {
				b.Fatal("not cached")
			}
			i++
		}
	})
}

// While the database is away every stanza fails to read a list: one log
// line per ten seconds goes out, counting the failures it stands for.
func TestFailureLogThrottles(t *testing.T) {
	var f failureLog
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	if n, ok := f.due(t0); !ok || n != 1 {
		t.Fatalf("first failure: %d, %v; want logged, 1", n, ok)
	}
	for i := 1; i <= 5; i++ {
		if _, ok := f.due(t0.Add(time.Duration(i) * time.Second)); ok {
			t.Fatalf("failure %d s later logged", i)
		}
	}
	if n, ok := f.due(t0.Add(10 * time.Second)); !ok || n != 6 {
		t.Fatalf("after 10 s: %d, %v; want logged, 6 (5 held back and this one)", n, ok)
	}
}
