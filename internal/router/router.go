// Package router decides where a stanza goes, by its 'to' address and the
// delivery rules of RFC 6120 §10 and RFC 6121 §8.5, and keeps the table of
// local sessions. It knows nothing of rosters or subscriptions: modules
// handle those and send through the router like any other entity.
//
// The router never blocks on a session: delivery is a non-blocking push
// onto the session's bounded queue.
package router

import (
	"context"
	"errors"
	"hash/maphash"
	"log/slog"
	"slices"
	"sync"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/stanza"
)

// Session is a local client session as the router sees it.
type Session interface {
	// JID is the bound full JID.
	JID() jid.JID
	// Deliver queues st for the client without blocking. It returns false
	// if the session is closing or its queue is full (the session then
	// closes itself).
	Deliver(st *stanza.Stanza) bool
	// Available reports whether the client has sent available presence,
	// and Priority its presence priority (RFC 6121 §4.7.2.3).
	Available() bool
	Priority() int
	// Close ends the session with the given stream error condition.
	Close(cond, text string)
}

// Dispatcher handles IQs addressed to the server itself or, on a user's
// behalf, to a user's bare JID. It reports whether some handler took the
// stanza; the router answers service-unavailable otherwise.
type Dispatcher interface {
	DispatchIQ(ctx context.Context, st *stanza.Stanza, account bool) bool
}

// Users tells whether a local account exists (RFC 6121 §8.5.1).
type Users interface {
	UserExists(ctx context.Context, host, username string) (bool, error)
}

// Remote delivers stanzas for domains this server does not host (s2s) or
// JIDs that live on another node (cluster). Nil means none.
type Remote interface {
	RouteRemote(ctx context.Context, st *stanza.Stanza) error
}

// Delivery errors.
var (
	ErrNoSuchUser     = errors.New("router: no such user")
	ErrResourceGone   = errors.New("router: resource not online")
	ErrRemoteNotFound = errors.New("router: remote server not found")
)

const shards = 64

// Router routes stanzas. Create it with New.
type Router struct {
	hosts    map[string]bool
	hooks    *hook.Registry
	log      *slog.Logger
	seed     maphash.Seed
	shards   [shards]shard
	dispatch Dispatcher
	users    Users
	remote   Remote
}

type shard struct {
	mu    sync.RWMutex
	users map[string][]Session // bare JID string → sessions
}

// Config holds the router's collaborators.
type Config struct {
	Hosts  []string
	Hooks  *hook.Registry
	Log    *slog.Logger
	Users  Users
	Remote Remote
}

// New returns a router serving the given hosts.
func New(cfg Config) *Router {
	r := &Router{
		hosts:  make(map[string]bool),
		hooks:  cfg.Hooks,
		log:    cfg.Log,
		seed:   maphash.MakeSeed(),
		users:  cfg.Users,
		remote: cfg.Remote,
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	for _, h := range cfg.Hosts {
		r.hosts[h] = true
	}
	for i := range r.shards {
		r.shards[i].users = make(map[string][]Session)
	}
	return r
}

// SetDispatcher sets the IQ dispatcher (the module registry). It must be
// called before the router routes anything.
func (r *Router) SetDispatcher(d Dispatcher) { r.dispatch = d }

// IsLocal reports whether domain is served here.
func (r *Router) IsLocal(domain string) bool { return r.hosts[domain] }

func (r *Router) shard(bare string) *shard {
	return &r.shards[maphash.String(r.seed, bare)%shards]
}

// Bind enters s in the table. If a session with the same full JID exists it
// is removed and returned: the caller closes it with a conflict stream error
// (RFC 6120 §7.7.2.2). max limits the sessions per account (0: no limit);
// ErrTooManySessions is returned when it is reached.
func (r *Router) Bind(s Session, max int) (replaced Session, err error) {
	full := s.JID()
	bare := full.BareString()
	sh := r.shard(bare)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	list := sh.users[bare]
	for i, o := range list {
		if o.JID() == full {
			list = slices.Clone(list)
			list[i] = s
			sh.users[bare] = list
			return o, nil
		}
	}
	if max > 0 && len(list) >= max {
		return nil, ErrTooManySessions
	}
	sh.users[bare] = append(slices.Clone(list), s)
	return nil, nil
}

// ErrTooManySessions is returned by Bind when an account has as many
// sessions as allowed.
var ErrTooManySessions = errors.New("router: too many sessions for this account")

// Unbind removes s from the table if it is still the session bound to its
// full JID. It reports whether it removed it.
func (r *Router) Unbind(s Session) bool {
	full := s.JID()
	bare := full.BareString()
	sh := r.shard(bare)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	list := sh.users[bare]
	for i, o := range list {
		if o == s {
			if len(list) == 1 {
				delete(sh.users, bare)
			} else {
				sh.users[bare] = slices.Delete(slices.Clone(list), i, i+1)
			}
			return true
		}
	}
	return false
}

// Sessions returns the local sessions of a bare JID. The slice must not be
// modified.
func (r *Router) Sessions(bare jid.JID) []Session {
	b := bare.BareString()
	sh := r.shard(b)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	return sh.users[b]
}

// Session returns the local session bound to a full JID, or nil.
func (r *Router) Session(full jid.JID) Session {
	for _, s := range r.Sessions(full) {
		if s.JID() == full {
			return s
		}
	}
	return nil
}

// BestAvailable returns the full JID of the local session of bare that a
// message to the bare JID would reach first: available, with the highest
// non-negative priority (RFC 6121 §8.5.2.1.1), the earliest bound among
// equals. It reports false when the user has no such session.
func (r *Router) BestAvailable(bare jid.JID) (jid.JID, bool) {
	var best Session
	for _, s := range r.Sessions(bare) {
		if s.Available() && s.Priority() >= 0 && (best == nil || s.Priority() > best.Priority()) {
			best = s
		}
	}
	if best == nil {
		return jid.JID{}, false
	}
	return best.JID(), true
}

// All calls fn for every local session until fn returns false.
func (r *Router) All(fn func(Session) bool) {
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.RLock()
		var all []Session
		for _, l := range sh.users {
			all = append(all, l...)
		}
		sh.mu.RUnlock()
		for _, s := range all {
			if !fn(s) {
				return
			}
		}
	}
}

// Count returns the number of local sessions.
func (r *Router) Count() int {
	n := 0
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.RLock()
		for _, l := range sh.users {
			n += len(l)
		}
		sh.mu.RUnlock()
	}
	return n
}
