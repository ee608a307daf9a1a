package blocking

import (
	"context"
	"errors"

	"github.com/parleyim/parley/internal/jid"
)

// ErrFull is returned when blocking more JIDs would take a blocklist past
// its configured size (modules.blocking.max_items).
var ErrFull = errors.New("blocking: blocklist is full")

// Store persists blocklists. NewSQLStore implements it. Users are bare
// JIDs of local accounts; blocked items are any JIDs (a domain, a bare
// JID, a full JID, or domain/resource), compared exactly as given.
type Store interface {
	// List returns the user's blocked JIDs, sorted by their string form.
	// A user who never blocked anyone has an empty list.
	List(ctx context.Context, user jid.JID) ([]jid.JID, error)
	// Block adds items to the user's list and returns those that were
	// not in it already, in the order given. If the list would then hold
	// more than limit items, nothing is written and the error is ErrFull.
	Block(ctx context.Context, user jid.JID, items []jid.JID, limit int) ([]jid.JID, error)
	// Unblock removes items from the user's list and returns those that
	// were in it, in the order given; an item not there is no error.
	Unblock(ctx context.Context, user jid.JID, items []jid.JID) ([]jid.JID, error)
	// UnblockAll empties the user's list and returns what it held,
	// sorted. It also serves to delete the data of a removed account:
	// emptying an empty list is no error.
	UnblockAll(ctx context.Context, user jid.JID) ([]jid.JID, error)
}
