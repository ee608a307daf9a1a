package roster

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/parleyim/parley/internal/jid"
)

// Subscription is the presence subscription state of a roster item (RFC
// 6121 §2.1.2.5): whether the user sees the contact's presence (To), the
// contact sees the user's (From), both, or neither.
type Subscription string

// The subscription states of RFC 6121 §2.1.2.5.
const (
	None Subscription = "none"
	To   Subscription = "to"
	From Subscription = "from"
	Both Subscription = "both"
)

// Valid reports whether s is one of the four states.
func (s Subscription) Valid() bool {
	switch s {
	case None, To, From, Both:
		return true
	}
	return false
}

// Item is one contact in a user's roster.
type Item struct {
	// JID is the contact's bare JID, the item's key.
	JID jid.JID
	// Name is the user's handle for the contact; "" for none.
	Name string
	// Groups are the roster groups the item is in, sorted, each once.
	Groups []string
	// Subscription is the subscription state; the zero value means None.
	Subscription Subscription
	// Ask is the "Pending Out" sub-state: the user asked to subscribe to
	// the contact's presence and the contact has not answered (shown as
	// ask='subscribe', RFC 6121 §2.1.2.2).
	Ask bool
	// Approved is a subscription pre-approval (RFC 6121 §3.4; shown as
	// approved='true', §2.1.2.1).
	Approved bool
	// Version is the roster version of the item's last change. Stores set
	// it; callers' values are ignored.
	Version int64
}

// PendingIn is a subscription request the contact sent and the user has
// not answered: the "Pending In" sub-state (RFC 6121 §3.1.3). It is kept
// apart from the items because it is never shown in the roster: a
// contact may ask without being in it.
type PendingIn struct {
	// JID is the contact's bare JID.
	JID jid.JID
	// Stanza is the subscription request as received (XML), so that it
	// can be delivered again when the user next logs in (§3.1.3).
	Stanza string
}

// Version identifies the state of a user's roster (RFC 6121 §2.6).
type Version struct {
	// Epoch is chosen at random when a user's roster is first written,
	// so that a roster deleted with its account and created again never
	// repeats the versions of the old one. Zero: never written.
	Epoch int64
	// N is the version: it grows by one with every change.
	N int64
	// Removed is the version of the last deletion of an item (0 for
	// none). A deletion leaves no trace to push later, so a client that
	// cached a version older than Removed gets the whole roster.
	Removed int64
}

// ErrFull is returned when adding an item (or a pending request) would
// take a roster past its configured size (modules.roster.max_items).
var ErrFull = errors.New("roster: roster is full")

// Store persists rosters. NewSQLStore implements it. Users and contacts
// are bare JIDs. Writes are atomic: a change and its new version are
// stored together or not at all.
type Store interface {
	// Roster returns the user's version and items, sorted by JID. A user
	// with no roster gets the zero Version and no items.
	Roster(ctx context.Context, user jid.JID) (Version, []Item, error)
	// Item returns one item, or an error matching storage.ErrNotFound.
	Item(ctx context.Context, user, contact jid.JID) (Item, error)
	// Put adds or replaces the item it.JID, giving it the next version,
	// which it returns. Adding an item to a roster that holds limit items
	// or more fails with ErrFull.
	Put(ctx context.Context, user jid.JID, it Item, limit int) (Version, error)
	// Delete removes an item, recording the deletion's version; an
	// absent item is an error matching storage.ErrNotFound.
	Delete(ctx context.Context, user, contact jid.JID) (Version, error)
	// PutPendingIn records or replaces a pending request. Recording a new
	// one when limit are pending fails with ErrFull.
	PutPendingIn(ctx context.Context, user jid.JID, p PendingIn, limit int) error
	// DeletePendingIn removes a pending request and reports whether there
	// was one.
	DeletePendingIn(ctx context.Context, user, contact jid.JID) (bool, error)
	// PendingIns returns the pending requests, sorted by JID.
	PendingIns(ctx context.Context, user jid.JID) ([]PendingIn, error)
	// DeleteUser removes the user's roster, version and pending requests.
	// Deleting what does not exist is no error.
	DeleteUser(ctx context.Context, user jid.JID) error
}

// String returns the version as sent in the 'ver' attribute: opaque to
// clients (RFC 6121 §2.6.1), "<epoch in base 36>-<N>".
func (v Version) String() string {
	return strconv.FormatInt(v.Epoch, 36) + "-" + strconv.FormatInt(v.N, 10)
}

// since parses a 'ver' a client sent (RFC 6121 §2.6.2) against the current
// version cur. It returns the version number the client has cached and
// true if the changes since then can be sent as roster pushes: the same
// epoch, no later than cur, and not before the last deletion.
func since(ver string, cur Version) (int64, bool) {
	e, n, ok := strings.Cut(ver, "-")
	if !ok {
		return 0, false
	}
	epoch, err := strconv.ParseInt(e, 36, 64)
	if err != nil || epoch != cur.Epoch {
		return 0, false
	}
	got, err := strconv.ParseInt(n, 10, 64)
	if err != nil || got < cur.Removed || got > cur.N {
		return 0, false
	}
	return got, true
}
