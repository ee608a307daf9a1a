package blocking

import (
	"context"
	"hash/maphash"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/stanza"
)

// Every stanza to or from a local user is checked against a blocklist,
// most of them twice (the sender's list and the recipient's), so reading
// a cached list must be cheap: one read lock of one shard of the table,
// and no store call.
const (
	// userShards is the number of shards of the users table; a user's
	// shard is chosen by a hash of the bare JID.
	userShards = 64
	// idleWeight bounds the lists a shard keeps for users that no session
	// and no operation needs ("idle" entries: mostly users without a
	// session that stanzas are sent to). An idle entry weighs one plus the
	// length of its list, so the table keeps at most 64×512 = 32768 such
	// lists when they are empty, and fewer when they are long. The least
	// recently used go first (CLOCK: an entry used since it became idle is
	// passed over once).
	idleWeight = 512
)

// users is the table of the users this node keeps state for. A user's
// entry holds the cached blocklist (read from the store on first use and
// kept in step with every change made through this module) and the
// user's sessions. An entry stays while the user has a session or an
// operation holds it; after that it is kept, idle, for its list, until
// the shard's idle lists outweigh idleWeight. An entry whose list was
// never read is dropped as soon as nothing needs it. The store stays the
// truth: every change goes through it before the cache.
//
// Lock order: a shard's mu is never held while another lock is taken, nor
// while the store, the roster or the router is called, so filters (which
// take only a shard's read lock) may run inside Route calls made under a
// user's op; a user's op before the same user's load.
type users struct {
	seed   maphash.Seed
	shards [userShards]shard
}

type shard struct {
	mu sync.RWMutex
	m  map[jid.JID]*user
	// idle is the sentinel of the ring of idle entries, most recently
	// made idle first; weight is their total weight.
	idle   user
	weight int
}

type user struct {
	bare jid.JID

	// Guarded by the shard's mu.
	inflight   int         // operations holding the entry
	res        []*resource // bound sessions (a few; a map each would cost more memory)
	prev, next *user       // in the shard's idle ring; nil when not idle
	weight     int         // while idle: 1 + the list's length

	// used is set when a check reads the list of an idle entry, under
	// the shard's read lock: eviction passes such an entry over once.
	used atomic.Bool

	// op serializes the block and unblock commands of one user and the
	// blocklist gets, so that a get's result and the pushes of later
	// changes reach each resource in order.
	op sync.Mutex

	// load serializes reading the list from the store with replacing it
	// after a change (setList), so that a read that began before a change
	// was stored cannot put the old list back after it.
	load sync.Mutex
	// list is the cached blocklist, nil until read. A list is never
	// changed once built: a change stores a new one.
	list atomic.Pointer[list]
}

// resource is one bound session of a user.
type resource struct {
	full jid.JID
	addr netip.AddrPort // tells a session from a successor with the same JID
	// interested: the session requested the blocklist (XEP-0191 §3.3:
	// pushes go to the resources that did).
	interested bool
	// presence is the last available presence the client broadcast, nil
	// when it has sent none or went unavailable.
	presence *stanza.Stanza
}

func newUsers() *users {
	t := &users{seed: maphash.MakeSeed()}
	for i := range t.shards {
		s := &t.shards[i]
		s.m = make(map[jid.JID]*user)
		s.idle.prev, s.idle.next = &s.idle, &s.idle
	}
	return t
}

func (t *users) shard(bare jid.JID) *shard {
	return &t.shards[maphash.Comparable(t.seed, bare)%userShards]
}

// entry returns the user's entry, creating it, and takes it out of the
// idle ring; mu is held.
func (s *shard) entry(bare jid.JID) *user {
	u := s.m[bare]
	if u == nil {
		u = &user{bare: bare}
		s.m[bare] = u
	}
	s.unlink(u)
	return u
}

// settle files an entry after what holds it changed; mu is held. An entry
// something needs stays; one with a cached list becomes idle; any other
// is dropped.
func (s *shard) settle(u *user) {
	switch {
	case u.inflight > 0 || len(u.res) > 0:
		s.unlink(u)
	case u.list.Load() == nil:
		s.unlink(u)
		if s.m[u.bare] == u {
			delete(s.m, u.bare)
		}
	case u.next == nil:
		s.pushFront(u)
		s.evict()
	}
}

// pushFront makes u idle; mu is held.
func (s *shard) pushFront(u *user) {
	u.weight = 1 + len(*u.list.Load())
	u.used.Store(false)
	u.prev, u.next = &s.idle, s.idle.next
	s.idle.next.prev = u
	s.idle.next = u
	s.weight += u.weight
}

// unlink takes u out of the idle ring, if it is there; mu is held.
func (s *shard) unlink(u *user) {
	if u.next == nil {
		return
	}
	u.prev.next, u.next.prev = u.next, u.prev
	u.prev, u.next = nil, nil
	s.weight -= u.weight
}

// evict drops the least recently used idle entries until the ring weighs
// no more than idleWeight, passing over once each entry used since it
// became idle; mu is held. An entry that alone weighs more than the bound
// is dropped too: a long list is read again when needed.
func (s *shard) evict() {
	for s.weight > idleWeight {
		u := s.idle.prev
		s.unlink(u)
		if u.used.Load() {
			s.pushFront(u) // clears used
			continue
		}
		delete(s.m, u.bare)
	}
}

// cached returns the user's list if it is in the table, with one read
// lock of the user's shard.
func (t *users) cached(bare jid.JID) (list, bool) {
	s := t.shard(bare)
	s.mu.RLock()
	defer s.mu.RUnlock()
	u := s.m[bare]
	if u == nil {
		return nil, false
	}
	p := u.list.Load()
	if p == nil {
		return nil, false
	}
	if u.next != nil {
		u.used.Store(true)
	}
	return *p, true
}

// acquire returns the user's entry, held until release.
func (t *users) acquire(bare jid.JID) *user {
	s := t.shard(bare)
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.entry(bare)
	u.inflight++
	return u
}

func (t *users) release(bare jid.JID, u *user) {
	s := t.shard(bare)
	s.mu.Lock()
	defer s.mu.Unlock()
	u.inflight--
	s.settle(u)
}

// bind records a new session; a session replaced by it (same full JID)
// is forgotten with all it had: interest and presence.
func (t *users) bind(full jid.JID, addr netip.AddrPort) {
	s := t.shard(full.Bare())
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resource(full, addr, true)
}

// unbind forgets a session that ended, unless a successor with the same
// full JID took its place.
func (t *users) unbind(full jid.JID, addr netip.AddrPort) {
	bare := full.Bare()
	s := t.shard(bare)
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.m[bare]
	if u == nil {
		return
	}
	for i, r := range u.res {
		if r.full == full && r.addr == addr {
			u.res = append(u.res[:i:i], u.res[i+1:]...)
			s.settle(u)
			return
		}
	}
}

// resource returns the session's record, creating it — anew if fresh is
// set — also for a session whose binding this module did not see (it
// started before the module did); mu is held.
func (s *shard) resource(full jid.JID, addr netip.AddrPort, fresh bool) *resource {
	u := s.entry(full.Bare())
	for i, r := range u.res {
		if r.full == full {
			if fresh {
				r = &resource{full: full, addr: addr}
				u.res[i] = r
			}
			return r
		}
	}
	r := &resource{full: full, addr: addr}
	u.res = append(u.res, r)
	return r
}

// setInterested marks a session as having requested the blocklist.
func (t *users) setInterested(full jid.JID, addr netip.AddrPort) {
	s := t.shard(full.Bare())
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resource(full, addr, false).interested = true
}

// setPresence records a session's broadcast presence: st for available
// presence, nil for unavailable. Sessions this module does not know are
// left alone: their end would not be seen.
func (t *users) setPresence(full jid.JID, st *stanza.Stanza) {
	s := t.shard(full.Bare())
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.m[full.Bare()]; u != nil {
		for _, r := range u.res {
			if r.full == full {
				r.presence = st
			}
		}
	}
}

// interested returns the user's sessions that requested the blocklist,
// sorted.
func (t *users) interested(bare jid.JID) []jid.JID {
	s := t.shard(bare)
	s.mu.RLock()
	var out []jid.JID
	if u := s.m[bare]; u != nil {
		for _, r := range u.res {
			if r.interested {
				out = append(out, r.full)
			}
		}
	}
	s.mu.RUnlock()
	sortJIDs(out)
	return out
}

// available returns the last broadcast presence of each of the user's
// available sessions, sorted by full JID.
func (t *users) available(bare jid.JID) []*stanza.Stanza {
	s := t.shard(bare)
	s.mu.RLock()
	var out []*stanza.Stanza
	if u := s.m[bare]; u != nil {
		for _, r := range u.res {
			if r.presence != nil {
				out = append(out, r.presence)
			}
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b *stanza.Stanza) int { return strings.Compare(a.From.String(), b.From.String()) })
	return out
}

// listOf returns the user's blocklist, reading it from the store the
// first time. u is the user's entry, held by the caller.
func (b *blocker) listOf(ctx context.Context, bare jid.JID, u *user) (list, error) {
	if p := u.list.Load(); p != nil {
		return *p, nil
	}
	u.load.Lock()
	defer u.load.Unlock()
	if p := u.list.Load(); p != nil {
		return *p, nil
	}
	js, err := b.store.List(ctx, bare)
	if err != nil {
		return nil, err
	}
	l := newList(js)
	u.list.Store(&l)
	return l, nil
}

// setList replaces the user's cached blocklist after a change was stored.
// u is held by the caller.
func (u *user) setList(l list) {
	u.load.Lock()
	u.list.Store(&l)
	u.load.Unlock()
}

// blocks reports whether the local user owner (a bare JID) has blocked
// x. A cached list costs one read lock; otherwise the list is read from
// the store and cached. The module fails open: a list that cannot be read
// blocks nothing — the failure is logged, not cached, and the stanza flows
// as if the module were not there — so that a database outage does not
// stop every stanza of the users whose lists are not cached.
func (b *blocker) blocks(ctx context.Context, owner, x jid.JID) bool {
	if x.IsZero() || exempt(owner, x) {
		return false
	}
	l, ok := b.users.cached(owner)
	if !ok {
		var err error
		if l, err = b.read(ctx, owner); err != nil {
			if n, ok := b.readFailed.due(time.Now()); ok {
				b.h.Log().Error("reading a blocklist failed; stanzas pass unfiltered", "user", owner.String(), "err", err, "failures_since_last_log", n)
			}
			return false
		}
	}
	return l.blocks(x)
}

// read returns the user's list, reading it into the table.
func (b *blocker) read(ctx context.Context, owner jid.JID) (list, error) {
	u := b.users.acquire(owner)
	defer b.users.release(owner, u)
	return b.listOf(ctx, owner, u)
}

// failureLog lets through one log line per failureLogEvery for a failure
// that repeats at every stanza while the database is away, and counts the
// others, so that an outage does not flood the log.
type failureLog struct {
	last  atomic.Int64 // unix nanoseconds of the last line let through
	count atomic.Int64 // failures since then
}

// failureLogEvery is the least time between two lines of a failureLog.
const failureLogEvery = 10 * time.Second

// due records a failure at now and reports whether to log it, with the
// number of failures since the last line that was logged (this one
// included).
func (f *failureLog) due(now time.Time) (int64, bool) {
	f.count.Add(1)
	last := f.last.Load()
	if now.UnixNano()-last < int64(failureLogEvery) || !f.last.CompareAndSwap(last, now.UnixNano()) {
		return 0, false
	}
	return f.count.Swap(0), true
}
