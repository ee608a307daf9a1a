package blocking

import (
	"context"
	"slices"
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
	if len(js) == 0 {
		return nil // most lists are empty: they cost nothing
	}
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
	users    *users
	bounced  recent
	// readFailed throttles the log of blocklists that could not be read
	// (logReadFailure).
	readFailed failureLog
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
