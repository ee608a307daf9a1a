package presence

import (
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/stanza"
)

// resource is the presence state of one bound session, owned by this
// module: the last available presence it broadcast (what probes are
// answered with, RFC 6121 §4.3.2) and the entities it sent directed
// presence to (§4.6), which are owed unavailable presence at the end.
type resource struct {
	full jid.JID
	addr netip.AddrPort // tells a replaced session's late close from its successor's
	// last is the last available presence without 'to' (nil: the
	// resource is not available).
	last *stanza.Stanza
	// directed are the JIDs sent available directed presence to, and not
	// unavailable since.
	directed map[jid.JID]bool
}

// table holds every local session's presence state, by bare JID: a
// short slice per user (a user has a few resources; a map each would cost
// more memory per session than the state itself). One mutex guards it;
// nothing else is locked or called under it.
type table struct {
	mu    sync.Mutex
	users map[jid.JID][]*resource
}

// get returns the state of full, or nil.
func (t *table) get(full jid.JID) *resource {
	for _, r := range t.users[full.Bare()] {
		if r.full == full {
			return r
		}
	}
	return nil
}

// bind starts a fresh state for a session and returns the state of the
// session with the same full JID it replaces, if any.
func (t *table) bind(full jid.JID, addr netip.AddrPort) (replaced *resource) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.users == nil {
		t.users = make(map[jid.JID][]*resource)
	}
	bare := full.Bare()
	rs := t.users[bare]
	for i, r := range rs {
		if r.full == full {
			rs[i] = &resource{full: full, addr: addr}
			return r
		}
	}
	t.users[bare] = append(rs, &resource{full: full, addr: addr})
	return nil
}

// unbind removes a closed session's state and returns it, or nil when a
// newer session with the same full JID has taken its place.
func (t *table) unbind(full jid.JID, addr netip.AddrPort) *resource {
	t.mu.Lock()
	defer t.mu.Unlock()
	bare := full.Bare()
	rs := t.users[bare]
	for i, r := range rs {
		if r.full != full {
			continue
		}
		if r.addr != addr {
			return nil
		}
		if len(rs) == 1 {
			delete(t.users, bare)
		} else {
			t.users[bare] = append(rs[:i:i], rs[i+1:]...)
		}
		return r
	}
	return nil
}

// setAvailable records a resource's broadcast presence and reports
// whether it was its initial presence (§4.2) and the resource exists.
func (t *table) setAvailable(full jid.JID, st *stanza.Stanza) (initial, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.get(full)
	if r == nil {
		return false, false
	}
	initial = r.last == nil
	r.last = st
	return initial, true
}

// setUnavailable marks a resource unavailable and returns the directed
// presence recipients it had (§4.6.3); wasAvailable reports whether it
// was available.
func (t *table) setUnavailable(full jid.JID) (directed []jid.JID, wasAvailable bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.get(full)
	if r == nil {
		return nil, false
	}
	wasAvailable = r.last != nil
	directed = sortedJIDs(r.directed)
	r.last = nil
	r.directed = nil
	return directed, wasAvailable
}

// direct records directed presence from full to target: available adds
// target to the recipients owed unavailable presence, unavailable removes
// it.
func (t *table) direct(full, target jid.JID, available bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.get(full)
	if r == nil {
		return
	}
	if !available {
		delete(r.directed, target)
		return
	}
	if r.directed == nil {
		r.directed = make(map[jid.JID]bool)
	}
	r.directed[target] = true
}

// available returns the last presence of each available resource of
// user, sorted by full JID.
func (t *table) available(user jid.JID) []*stanza.Stanza {
	t.mu.Lock()
	var out []*stanza.Stanza
	for _, r := range t.users[user] {
		if r.last != nil {
			out = append(out, r.last)
		}
	}
	t.mu.Unlock()
	slices.SortFunc(out, func(a, b *stanza.Stanza) int { return strings.Compare(a.From.String(), b.From.String()) })
	return out
}

// availableResources returns the full JIDs of user's available resources.
func (t *table) availableResources(user jid.JID) []jid.JID {
	var out []jid.JID
	for _, p := range t.available(user) {
		out = append(out, p.From)
	}
	return out
}

func sortedJIDs(m map[jid.JID]bool) []jid.JID {
	out := make([]jid.JID, 0, len(m))
	for j := range m {
		out = append(out, j)
	}
	slices.SortFunc(out, func(a, b jid.JID) int { return strings.Compare(a.String(), b.String()) })
	return out
}
