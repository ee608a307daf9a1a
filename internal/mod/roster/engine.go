package roster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/stanza"
	"github.com/parleyim/parley/internal/storage"
	"github.com/parleyim/parley/internal/xmlstream"
)

// Limits on what an item may hold. RFC 6121 §2.3.3 leaves the name and
// group sizes to the server; these are constants until someone needs
// otherwise (STYLE.md §3.7).
const (
	// MaxNameBytes is the longest 'name' accepted.
	MaxNameBytes = 1024
	// MaxGroupBytes is the longest group name accepted.
	MaxGroupBytes = 1024
	// MaxGroups is the most groups one item may be in.
	MaxGroups = 64
)

// The stanza errors of roster sets, each with the rule that asks for it.
var (
	// RFC 6121 §2.1.5, §2.3.3: only the account itself may touch its
	// roster.
	errForbidden = stanza.ErrForbidden.WithText("only the account itself may use its roster")
	// §2.1.3: a roster get carries no items.
	errGetItems = stanza.ErrBadRequest.WithText("a roster get carries no items")
	// §2.1.5, §2.3.3: exactly one item per roster set.
	errOneItem = stanza.ErrBadRequest.WithText("a roster set holds exactly one item")
	// §2.1.2.3: the 'jid' attribute is required.
	errNoJID = stanza.ErrBadRequest.WithText("the item has no jid")
	// RFC 6120 §8.3.3.8: the 'jid' is not an XMPP address; roster items
	// are bare JIDs here.
	errBadJID  = stanza.ErrJIDMalformed.WithText("the item's jid is not a valid JID")
	errFullJID = stanza.ErrJIDMalformed.WithText("roster items are bare JIDs")
	// A user's own resources share presence without a roster item; an
	// item for oneself would only tangle the subscription states.
	errSelf = stanza.ErrNotAllowed.WithText("the account's own JID cannot be a roster item")
	// §2.3.3: duplicate groups.
	errDupGroup = stanza.ErrBadRequest.WithText("the item lists a group twice")
	// §2.3.3: an empty group.
	errEmptyGroup = stanza.ErrNotAcceptable.WithText("a group name is empty; leave the group out instead")
	// §2.3.3: a group or name longer than the server's limit.
	errLongGroup  = stanza.ErrNotAcceptable.WithText("a group name is too long")
	errLongName   = stanza.ErrNotAcceptable.WithText("the name is too long")
	errManyGroups = stanza.ErrNotAcceptable.WithText("the item is in too many groups")
	// A name or group the roster could not push: an XML stream carries
	// UTF-8 text of XML 1.0 characters only (RFC 6120 §11.1), and a push
	// with anything else would break each interested client's stream.
	// Roster sets cannot carry such text; other callers of the Service
	// (the admin API) can.
	errNameChars  = stanza.ErrNotAcceptable.WithText("the name holds a character XML cannot carry")
	errGroupChars = stanza.ErrNotAcceptable.WithText("a group name holds a character XML cannot carry")
	// §2.5.3: removing an item that is not there.
	errNotFound = stanza.ErrItemNotFound.WithText("the item is not in the roster")
	// RFC 6120 §8.3.3.12: a local limit (modules.roster.max_items).
	errFull = stanza.ErrPolicyViolation.WithText("the roster is full")
)

// rosters is the module's state: the store, the interested resources and
// the per-user locks. It implements Service.
type rosters struct {
	h        *module.Host
	store    Store
	maxItems int
	locks    userLocks
	interest interests
}

var _ Service = (*rosters)(nil)

// userLocks serializes the writes of one user: a change, its push and the
// answer to the client happen in the order of the versions (RFC 6121
// §2.6.3: pushes in order of modification). Lock order: a user lock, then
// the interest mutex and the router's own locks (through Route); never two
// user locks. The lock, like the interested resources, is this node's:
// a cluster will need the user's writes to go through one node.
type userLocks struct {
	mu sync.Mutex
	m  map[string]*userLock
}

type userLock struct {
	mu   sync.Mutex
	refs int
}

// lock takes the user's lock and returns its release.
func (l *userLocks) lock(user jid.JID) (unlock func()) {
	k := user.String()
	l.mu.Lock()
	if l.m == nil {
		l.m = make(map[string]*userLock)
	}
	ul := l.m[k]
	if ul == nil {
		ul = &userLock{}
		l.m[k] = ul
	}
	ul.refs++
	l.mu.Unlock()
	ul.mu.Lock()
	return func() {
		ul.mu.Unlock()
		l.mu.Lock()
		if ul.refs--; ul.refs == 0 {
			delete(l.m, k)
		}
		l.mu.Unlock()
	}
}

// interests are the interested resources (RFC 6121 §2.2): sessions that
// requested the roster, by bare JID and full JID, with the address of the
// session so that a replaced session's late close does not forget its
// successor.
type interests struct {
	mu sync.Mutex
	m  map[jid.JID]map[jid.JID]netip.AddrPort
}

func (s *interests) add(full jid.JID, addr netip.AddrPort) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[jid.JID]map[jid.JID]netip.AddrPort)
	}
	bare := full.Bare()
	if s.m[bare] == nil {
		s.m[bare] = make(map[jid.JID]netip.AddrPort)
	}
	s.m[bare][full] = addr
}

// remove forgets full; only if it was added from addr unless anyAddr.
func (s *interests) remove(full jid.JID, addr netip.AddrPort, anyAddr bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	bare := full.Bare()
	rs := s.m[bare]
	if a, ok := rs[full]; ok && (anyAddr || a == addr) {
		delete(rs, full)
		if len(rs) == 0 {
			delete(s.m, bare)
		}
	}
}

func (s *interests) dropUser(user jid.JID) {
	s.mu.Lock()
	delete(s.m, user)
	s.mu.Unlock()
}

// of returns the user's interested resources, sorted.
func (s *interests) of(user jid.JID) []jid.JID {
	s.mu.Lock()
	out := make([]jid.JID, 0, len(s.m[user]))
	for full := range s.m[user] {
		out = append(out, full)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b jid.JID) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// newID returns an id for a roster push (RFC 6120 §8.1.3: every IQ has
// one).
func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "push-" + hex.EncodeToString(b[:])
}

// itemElement renders an item as in roster results and pushes (RFC 6121
// §2.1.2); a removal is the JID with subscription='remove' (§2.5.2).
func itemElement(it Item, removed bool) *xmlstream.Element {
	e := xmlstream.New(NS, "item", "jid", it.JID.String())
	if removed {
		return e.SetAttr("subscription", "remove")
	}
	if it.Name != "" {
		e.SetAttr("name", it.Name)
	}
	sub := it.Subscription
	if !sub.Valid() {
		sub = None
	}
	e.SetAttr("subscription", string(sub))
	if it.Ask {
		e.SetAttr("ask", "subscribe")
	}
	if it.Approved {
		e.SetAttr("approved", "true")
	}
	for _, g := range it.Groups {
		e.AddChild(xmlstream.New(NS, "group").AddText(g))
	}
	return e
}

// pushTo sends one roster push (RFC 6121 §2.1.6) from the user's bare JID
// to the resource full.
func (r *rosters) pushTo(ctx context.Context, user, full jid.JID, q *xmlstream.Element) {
	iq := stanza.NewIQ("set", newID(), user, full, q)
	if err := r.h.Router().Route(ctx, iq); err != nil {
		// The session is gone; its session.closed will say so too.
		r.interest.remove(full, netip.AddrPort{}, true)
		r.h.Log().Debug("roster push not delivered", "to", full.String(), "err", err)
	}
}

// push sends a change to every interested resource of the user.
func (r *rosters) push(ctx context.Context, user jid.JID, it Item, removed bool, v Version) {
	q := xmlstream.New(NS, "query", "ver", v.String())
	q.AddChild(itemElement(it, removed))
	for _, full := range r.interest.of(user) {
		r.pushTo(ctx, user, full, q)
	}
}

// check validates an item against RFC 6121 §2.3.3 and the limits, and
// returns it with its groups sorted.
func check(user jid.JID, it Item) (Item, error) {
	if it.JID.IsZero() || !it.JID.IsBare() {
		return Item{}, errFullJID
	}
	if it.JID == user {
		return Item{}, errSelf
	}
	if len(it.Name) > MaxNameBytes {
		return Item{}, errLongName
	}
	if !xmlText(it.Name) {
		return Item{}, errNameChars
	}
	if len(it.Groups) > MaxGroups {
		return Item{}, errManyGroups
	}
	groups := slices.Clone(it.Groups)
	slices.Sort(groups)
	for i, g := range groups {
		switch {
		case g == "":
			return Item{}, errEmptyGroup
		case len(g) > MaxGroupBytes:
			return Item{}, errLongGroup
		case !xmlText(g):
			return Item{}, errGroupChars
		case i > 0 && groups[i-1] == g:
			return Item{}, errDupGroup
		}
	}
	if len(groups) == 0 {
		groups = nil
	}
	it.Groups = groups
	if it.Subscription == "" {
		it.Subscription = None
	}
	if !it.Subscription.Valid() {
		return Item{}, errors.New("roster: invalid subscription " + string(it.Subscription))
	}
	it.Version = 0
	return it, nil
}

// xmlText reports whether s is UTF-8 made of XML 1.0 characters only
// (the Char production: tab, newline, carriage return, U+0020–U+D7FF,
// U+E000–U+FFFD, U+10000–U+10FFFF), the text an XML stream can carry.
func xmlText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		switch {
		case r < 0x20:
			if r != '\t' && r != '\n' && r != '\r' {
				return false
			}
		case r >= 0xD800 && r < 0xE000, r == 0xFFFE, r == 0xFFFF:
			return false
		}
	}
	return true
}

// change is a stored change, for the hook fired after the lock is
// released.
type change struct {
	user, client jid.JID
	item         Item
	removed      bool
	old          Item
	existed      bool
	version      Version
}

func (r *rosters) announce(ctx context.Context, c change) {
	ev := &hook.RosterEvent{
		User:    c.user,
		Contact: c.item.JID,
		Version: c.version.N,
		Removed: c.removed,
		Client:  c.client,
	}
	if c.existed {
		ev.OldSubscription = string(c.old.Subscription)
		ev.OldAsk = c.old.Ask
	}
	hook.Run(ctx, r.h.Hooks(), hook.RosterItemChanged, ev)
}

// lookup returns the stored item, and false if there is none.
func (r *rosters) lookup(ctx context.Context, user, contact jid.JID) (Item, bool, error) {
	it, err := r.store.Item(ctx, user, contact)
	if errors.Is(err, storage.ErrNotFound) {
		return Item{}, false, nil
	}
	if err != nil {
		return Item{}, false, err
	}
	return it, true, nil
}

// putLocked stores a checked item and pushes it; the caller holds the
// user's lock.
func (r *rosters) putLocked(ctx context.Context, user jid.JID, it, old Item, existed bool) (change, error) {
	v, err := r.store.Put(ctx, user, it, r.maxItems)
	if err != nil {
		return change{}, err
	}
	it.Version = v.N
	r.push(ctx, user, it, false, v)
	return change{user: user, item: it, old: old, existed: existed, version: v}, nil
}

// deleteLocked removes an item and pushes the removal; the caller holds
// the user's lock and has looked the item up.
func (r *rosters) deleteLocked(ctx context.Context, user jid.JID, old Item) (change, error) {
	v, err := r.store.Delete(ctx, user, old.JID)
	if errors.Is(err, storage.ErrNotFound) {
		return change{}, ErrNoItem
	}
	if err != nil {
		return change{}, err
	}
	r.push(ctx, user, Item{JID: old.JID}, true, v)
	return change{user: user, item: Item{JID: old.JID}, removed: true, old: old, existed: true, version: v}, nil
}

func bareUser(user jid.JID) error {
	if user.Local() == "" || !user.IsBare() {
		return errNotBare
	}
	return nil
}

// Get implements Service.
func (r *rosters) Get(ctx context.Context, user, contact jid.JID) (Item, bool, error) {
	if err := bareUser(user); err != nil {
		return Item{}, false, err
	}
	return r.lookup(ctx, user, contact)
}

// Items implements Service.
func (r *rosters) Items(ctx context.Context, user jid.JID) ([]Item, error) {
	if err := bareUser(user); err != nil {
		return nil, err
	}
	_, items, err := r.store.Roster(ctx, user)
	return items, err
}

// Put implements Service.
func (r *rosters) Put(ctx context.Context, user jid.JID, it Item) (int64, error) {
	_, v, err := r.Update(ctx, user, it.JID, func(cur *Item, _ bool) bool {
		*cur = it
		return true
	})
	return v, err
}

// Update implements Service.
func (r *rosters) Update(ctx context.Context, user, contact jid.JID, fn func(*Item, bool) bool) (Item, int64, error) {
	if err := bareUser(user); err != nil {
		return Item{}, 0, err
	}
	if contact.IsZero() || !contact.IsBare() {
		return Item{}, 0, errNotBare
	}
	unlock := r.locks.lock(user)
	c, err := func() (change, error) {
		old, existed, err := r.lookup(ctx, user, contact)
		if err != nil {
			return change{}, err
		}
		it := Item{JID: contact, Subscription: None}
		if existed {
			it = old
			it.Groups = slices.Clone(old.Groups)
		}
		if !fn(&it, existed) {
			return change{item: old}, nil
		}
		it.JID = contact
		if it, err = check(user, it); err != nil {
			return change{}, err
		}
		return r.putLocked(ctx, user, it, old, existed)
	}()
	unlock()
	if err != nil || c.version.N == 0 {
		return c.item, 0, err
	}
	r.announce(ctx, c)
	return c.item, c.version.N, nil
}

// Delete implements Service.
func (r *rosters) Delete(ctx context.Context, user, contact jid.JID) (int64, error) {
	if err := bareUser(user); err != nil {
		return 0, err
	}
	unlock := r.locks.lock(user)
	c, err := func() (change, error) {
		old, existed, err := r.lookup(ctx, user, contact)
		if err != nil {
			return change{}, err
		}
		if !existed {
			return change{}, ErrNoItem
		}
		return r.deleteLocked(ctx, user, old)
	}()
	unlock()
	if err != nil {
		return 0, err
	}
	r.announce(ctx, c)
	return c.version.N, nil
}

// AddPendingIn implements Service.
func (r *rosters) AddPendingIn(ctx context.Context, user jid.JID, p PendingIn) error {
	if err := bareUser(user); err != nil {
		return err
	}
	if p.JID.IsZero() || !p.JID.IsBare() {
		return errNotBare
	}
	if p.Stanza == "" {
		return errors.New("roster: a pending request needs its stanza")
	}
	return r.store.PutPendingIn(ctx, user, p, r.maxItems)
}

// RemovePendingIn implements Service.
func (r *rosters) RemovePendingIn(ctx context.Context, user, contact jid.JID) (bool, error) {
	if err := bareUser(user); err != nil {
		return false, err
	}
	return r.store.DeletePendingIn(ctx, user, contact)
}

// PendingIns implements Service.
func (r *rosters) PendingIns(ctx context.Context, user jid.JID) ([]PendingIn, error) {
	if err := bareUser(user); err != nil {
		return nil, err
	}
	return r.store.PendingIns(ctx, user)
}
