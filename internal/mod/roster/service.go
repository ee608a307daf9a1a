package roster

import (
	"context"
	"errors"

	"github.com/parleyim/parley/internal/jid"
)

// Service is the roster as other modules use it (STYLE.md §3.9): the
// presence module reads subscription states and drives them through RFC
// 6121 §3 with it. Get it in Setup, after the roster module in the module
// list:
//
//	rs, ok := module.Use[roster.Service](h)
//
// Users and contacts are bare JIDs; a user is a local account. Every write
// of an item is stored with the next roster version, pushed to the user's
// interested resources (RFC 6121 §2.1.6) and announced with
// hook.RosterItemChanged, exactly as a client's roster set is. Writes of
// one user are serialized with each other and with roster sets.
//
// Writes must not be made from a stanza.out filter while a roster push is
// being delivered: the push holds the user's roster lock. Reads may be.
//
// Item validation errors are *stanza.Error values (the conditions a
// client's roster set would get), so a caller can send them on.
type Service interface {
	// Get returns the user's item for contact, and false if there is none.
	Get(ctx context.Context, user, contact jid.JID) (Item, bool, error)
	// Items returns the user's roster, sorted by JID.
	Items(ctx context.Context, user jid.JID) ([]Item, error)
	// Put stores it as the user's item for it.JID, replacing any item
	// there, pushes it and returns the new roster version. A new item in a
	// full roster gets ErrFull.
	Put(ctx context.Context, user jid.JID, it Item) (int64, error)
	// Update changes the user's item for contact atomically: fn gets the
	// current item, or (exists false) a new one holding only the JID and
	// subscription none, and changes it in place. If fn returns true the
	// item is stored and pushed as by Put; if false nothing is written and
	// the version returned is 0. fn runs under the user's roster lock and
	// must not call the Service.
	Update(ctx context.Context, user, contact jid.JID, fn func(it *Item, exists bool) bool) (Item, int64, error)
	// Delete removes the user's item for contact, pushes the removal and
	// returns the new version. An absent item gets ErrNoItem.
	Delete(ctx context.Context, user, contact jid.JID) (int64, error)

	// AddPendingIn records a subscription request from p.JID that the
	// user has not answered ("Pending In", RFC 6121 §3.1.3), replacing an
	// earlier one from the same contact. Nothing is pushed: pending
	// requests are not part of the roster. A new request when MaxItems
	// are pending gets ErrFull.
	AddPendingIn(ctx context.Context, user jid.JID, p PendingIn) error
	// RemovePendingIn forgets the pending request from contact and
	// reports whether there was one.
	RemovePendingIn(ctx context.Context, user, contact jid.JID) (bool, error)
	// PendingIns returns the pending requests, sorted by JID, to deliver
	// again when the user logs in.
	PendingIns(ctx context.Context, user jid.JID) ([]PendingIn, error)
}

// ErrNoItem is returned by Service.Delete for an item that is not in the
// roster.
var ErrNoItem = errors.New("roster: no such item")

// errNotBare is returned for a user or contact that is not a bare JID.
var errNotBare = errors.New("roster: users and contacts are bare JIDs")
