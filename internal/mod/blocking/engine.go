package blocking

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/mod/roster"
	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/stanza"
)

// list is a user's blocklist as a set. A list is never changed once built:
// a change makes a new one, so a reader may use it without a lock.
type list map[jid.JID]struct{}

func newList(js []jid.JID) list {
	l := make(list, len(js))
	for _, j := range js {
		l[j] = struct{}{}
	}
	return l
}

// blocks reports whether an item of the list matches x, by the rules of
// XEP-0191 §6 (those of XEP-0016 §2.1): an item user@domain/resource
// matches only that JID; user@domain matches it with any resource or
// none; domain/resource matches only that JID; domain matches itself and
// every JID at that domain (user@domain, user@domain/resource,
// domain/resource).
func (l list) blocks(x jid.JID) bool {
	if len(l) == 0 || x.IsZero() {
		return false
	}
	if _, ok := l[x]; ok {
		return true
	}
	if x.Local() != "" && x.Resource() != "" {
		if _, ok := l[x.Bare()]; ok {
			return true
		}
	}
	if x.Local() != "" || x.Resource() != "" {
		if _, ok := l[x.DomainJID()]; ok {
			return true
		}
	}
	return false
}

// sorted returns the items sorted by their string form.
func (l list) sorted() []jid.JID {
	out := make([]jid.JID, 0, len(l))
	for j := range l {
		out = append(out, j)
	}
	sortJIDs(out)
	return out
}

// with returns a copy of l holding js as well.
func (l list) with(js []jid.JID) list {
	out := make(list, len(l)+len(js))
	for j := range l {
		out[j] = struct{}{}
	}
	for _, j := range js {
		out[j] = struct{}{}
	}
	return out
}

// without returns a copy of l without js.
func (l list) without(js []jid.JID) list {
	out := make(list, len(l))
	for j := range l {
		if !slices.Contains(js, j) {
			out[j] = struct{}{}
		}
	}
	return out
}

// exempt reports whether other is never blocked for user (a bare JID):
// XEP-0191 §5 forbids blocking one of a user's resources from another, and
// the user's own server (its domain JID) keeps answering the user's
// requests whatever the list says.
func exempt(user, other jid.JID) bool {
	return other.Bare() == user || other == user.DomainJID()
}

// blocker is the module's state: the store, the roster it reads to know
// who may receive the user's presence, and the users it holds in memory.
type blocker struct {
	h        *module.Host
	store    Store
	roster   roster.Service
	maxItems int
	users    users
	bounced  recent
}

// users is the table of the users this node keeps state for: those with a
// bound session, and those an operation is looking at. A user's entry
// holds the cached blocklist (read from the store on first use and kept
// in step with every change made through this module) and the user's
// sessions; it is dropped once no session and no operation needs it, so
// the store stays the truth and offline users cost no memory.
//
// Lock order: users.mu is never held while another lock is taken; a
// user's op before the same user's mu; mu is never held while the store,
// the roster or the router is called, so filters (which take only mu)
// may run inside Route calls made under op.
type users struct {
	mu sync.Mutex
	m  map[jid.JID]*user
}

type user struct {
	// Guarded by users.mu.
	inflight int                   // operations holding the entry
	res      map[jid.JID]*resource // bound sessions, by full JID

	// op serializes the block and unblock commands of one user and the
	// blocklist gets, so that a get's result and the pushes of later
	// changes reach each resource in order.
	op sync.Mutex

	mu     sync.RWMutex // guards loaded and list
	loaded bool
	list   list
}

// resource is one bound session of a user.
type resource struct {
	addr netip.AddrPort // tells a session from a successor with the same JID
	// interested: the session requested the blocklist (XEP-0191 §3.3:
	// pushes go to the resources that did).
	interested bool
	// presence is the last available presence the client broadcast, nil
	// when it has sent none or went unavailable.
	presence *stanza.Stanza
}

// entry returns the user's entry, creating it; users.mu is held.
func (t *users) entry(bare jid.JID) *user {
	if t.m == nil {
		t.m = make(map[jid.JID]*user)
	}
	u := t.m[bare]
	if u == nil {
		u = &user{res: make(map[jid.JID]*resource)}
		t.m[bare] = u
	}
	return u
}

// drop forgets an entry nobody needs; users.mu is held.
func (t *users) drop(bare jid.JID, u *user) {
	if u.inflight == 0 && len(u.res) == 0 && t.m[bare] == u {
		delete(t.m, bare)
	}
}

// acquire returns the user's entry, held until release.
func (t *users) acquire(bare jid.JID) *user {
	t.mu.Lock()
	defer t.mu.Unlock()
	u := t.entry(bare)
	u.inflight++
	return u
}

func (t *users) release(bare jid.JID, u *user) {
	t.mu.Lock()
	defer t.mu.Unlock()
	u.inflight--
	t.drop(bare, u)
}

// bind records a new session; a session replaced by it (same full JID)
// is forgotten with all it had: interest and presence.
func (t *users) bind(full jid.JID, addr netip.AddrPort) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.entry(full.Bare()).res[full] = &resource{addr: addr}
}

// unbind forgets a session that ended, unless a successor with the same
// full JID took its place.
func (t *users) unbind(full jid.JID, addr netip.AddrPort) {
	t.mu.Lock()
	defer t.mu.Unlock()
	bare := full.Bare()
	u := t.m[bare]
	if u == nil {
		return
	}
	if r := u.res[full]; r != nil && r.addr == addr {
		delete(u.res, full)
		t.drop(bare, u)
	}
}

// resource returns the session's record, creating it for a session whose
// binding this module did not see (it started before the module did).
// users.mu is held.
func (t *users) resource(full jid.JID, addr netip.AddrPort) *resource {
	u := t.entry(full.Bare())
	r := u.res[full]
	if r == nil {
		r = &resource{addr: addr}
		u.res[full] = r
	}
	return r
}

// setInterested marks a session as having requested the blocklist.
func (t *users) setInterested(full jid.JID, addr netip.AddrPort) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.resource(full, addr).interested = true
}

// setPresence records a session's broadcast presence: st for available
// presence, nil for unavailable. Sessions this module does not know are
// left alone: their end would not be seen.
func (t *users) setPresence(full jid.JID, st *stanza.Stanza) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if u := t.m[full.Bare()]; u != nil {
		if r := u.res[full]; r != nil {
			r.presence = st
		}
	}
}

// interested returns the user's sessions that requested the blocklist,
// sorted.
func (t *users) interested(bare jid.JID) []jid.JID {
	t.mu.Lock()
	var out []jid.JID
	if u := t.m[bare]; u != nil {
		for full, r := range u.res {
			if r.interested {
				out = append(out, full)
			}
		}
	}
	t.mu.Unlock()
	sortJIDs(out)
	return out
}

// available returns the last broadcast presence of each of the user's
// available sessions, sorted by full JID.
func (t *users) available(bare jid.JID) []*stanza.Stanza {
	t.mu.Lock()
	var out []*stanza.Stanza
	if u := t.m[bare]; u != nil {
		for _, r := range u.res {
			if r.presence != nil {
				out = append(out, r.presence)
			}
		}
	}
	t.mu.Unlock()
	slices.SortFunc(out, func(a, b *stanza.Stanza) int { return strings.Compare(a.From.String(), b.From.String()) })
	return out
}

// listOf returns the user's blocklist, reading it from the store the
// first time. u is the user's entry, held by the caller.
func (b *blocker) listOf(ctx context.Context, bare jid.JID, u *user) (list, error) {
	u.mu.RLock()
	l, ok := u.list, u.loaded
	u.mu.RUnlock()
	if ok {
		return l, nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.loaded {
		return u.list, nil
	}
	js, err := b.store.List(ctx, bare)
	if err != nil {
		return nil, err
	}
	u.list, u.loaded = newList(js), true
	return u.list, nil
}

// setList replaces the user's cached blocklist after a change was stored.
func (u *user) setList(l list) {
	u.mu.Lock()
	u.list, u.loaded = l, true
	u.mu.Unlock()
}

// blocks reports whether the local user owner (a bare JID) has blocked
// x. A blocklist that cannot be read blocks nothing: the failure is
// logged, and the stanza flows as if the module were not there.
func (b *blocker) blocks(ctx context.Context, owner, x jid.JID) bool {
	if x.IsZero() || exempt(owner, x) {
		return false
	}
	u := b.users.acquire(owner)
	defer b.users.release(owner, u)
	l, err := b.listOf(ctx, owner, u)
	if err != nil {
		b.h.Log().Error("reading a blocklist", "user", owner.String(), "err", err)
		return false
	}
	return l.blocks(x)
}

// isLocalUser reports whether j is (a resource of) an account of this
// server.
func (b *blocker) isLocalUser(j jid.JID) bool {
	return j.Local() != "" && b.h.Router().IsLocal(j.Domain())
}

// recent remembers the last stanzas this module answered with an error
// on delivery, so that a message the router hands to several sessions of
// one user (RFC 6121 §8.5.2.1.1) is answered once. The router passes the
// same *stanza.Stanza to each of them.
type recent struct {
	mu   sync.Mutex
	ring [16]*stanza.Stanza
	next int
}

// first reports whether st was not seen lately, and remembers it.
func (r *recent) first(st *stanza.Stanza) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if slices.Contains(r.ring[:], st) {
		return false
	}
	r.ring[r.next] = st
	r.next = (r.next + 1) % len(r.ring)
	return true
}

// exemption marks a stanza this module routes itself, through the context
// of the Route call, so that its own filters let it pass.
type exemption int

const (
	exemptNone exemption = iota
	// exemptSender: the sender's blocklist is not applied. The unavailable
	// presence XEP-0191 §3.3 sends to a JID the user just blocked.
	exemptSender
	// exemptAll: no blocklist is applied. The errors that tell a sender
	// of a block (§3.3): service-unavailable to the blocked JID,
	// not-acceptable to the user.
	exemptAll
)

type exemptionKey struct{}

func withExemption(ctx context.Context, e exemption) context.Context {
	return context.WithValue(ctx, exemptionKey{}, e)
}

func exemptionOf(ctx context.Context) exemption {
	e, _ := ctx.Value(exemptionKey{}).(exemption)
	return e
}
