package offline

import (
	"context"
	"errors"
	"time"

	"github.com/parleyim/parley/internal/jid"
)

// Message is one stored message.
type Message struct {
	// ID is assigned by the store when the message is put; a user's
	// messages are taken in the order of their IDs, the order they were
	// stored in, and an ID is never reused. Put ignores the caller's
	// value; Restore keeps it.
	ID int64
	// Stored is when the message was stored; the store keeps it to the
	// microsecond.
	Stored time.Time
	// Stanza is the message as XML, with its namespace declared, as
	// xmlstream.Element.String gives it.
	Stanza string
}

// ErrFull is returned by Put when the user's store already holds the
// limit (modules.offline.max_messages).
var ErrFull = errors.New("offline: offline storage is full")

// Store persists offline messages. NewSQLStore implements it. Users are
// bare JIDs.
type Store interface {
	// Put appends m to the user's messages and returns its ID. With
	// limit > 0, a user who holds limit messages or more gets ErrFull and
	// nothing is stored. When Put returns nil the message is committed.
	Put(ctx context.Context, user jid.JID, m Message, limit int) (int64, error)
	// Take removes up to n of the user's oldest messages and returns
	// them, oldest first. Concurrent Takes never return the same message:
	// each message stored is returned by one Take at most, and only the
	// messages returned are removed.
	Take(ctx context.Context, user jid.JID, n int) ([]Message, error)
	// Restore puts back messages that Take returned and that could not be
	// delivered, as they were: their IDs, stored times and stanzas. Since
	// IDs are never reused, they come out again in their first order and
	// ahead of every message stored since. The limit does not apply: they
	// were accepted already.
	Restore(ctx context.Context, user jid.JID, ms []Message) error
	// List returns the user's messages, oldest first, without taking
	// them (an export, XEP-0227 §5).
	List(ctx context.Context, user jid.JID) ([]Message, error)
	// Count returns how many messages the user has.
	Count(ctx context.Context, user jid.JID) (int, error)
	// DeleteUser removes all the user's messages. Deleting what does not
	// exist is no error.
	DeleteUser(ctx context.Context, user jid.JID) error
}

// Service is what the offline module offers the admin API (module.Lookup):
// reading a user's stored messages and storing messages imported from
// another server (XEP-0227 §5).
type Service interface {
	// Messages returns the user's stored messages, oldest first; they stay
	// stored.
	Messages(ctx context.Context, user jid.JID) ([]Message, error)
	// Import appends ms to the user's messages in their order, keeping
	// their Stored times; the quota does not apply (the old server
	// accepted them). Each Stanza must be a message in jabber:client.
	Import(ctx context.Context, user jid.JID, ms []Message) error
}
