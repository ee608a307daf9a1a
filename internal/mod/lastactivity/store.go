package lastactivity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/storage"
)

// key is the one key of a user's record in the module's KV.
const key = "last"

// record is when a user was last available, and the status they left.
type record struct {
	Time   time.Time `json:"time"`
	Status string    `json:"status,omitempty"`
}

// store keeps each user's record, as JSON, in the module's generic KV
// (STYLE.md §2).
type store struct{ kv *storage.KV }

// get returns the user's record, and false if none is stored.
func (s store) get(ctx context.Context, user jid.JID) (record, bool, error) {
	b, err := s.kv.Get(ctx, user.Domain(), user.Local(), key)
	if errors.Is(err, storage.ErrNotFound) {
		return record{}, false, nil
	}
	if err != nil {
		return record{}, false, fmt.Errorf("lastactivity: %w", err)
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return record{}, false, fmt.Errorf("lastactivity: stored record of %s: %w", user, err)
	}
	return r, true, nil
}

// put stores the user's record.
func (s store) put(ctx context.Context, user jid.JID, r record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("lastactivity: %w", err)
	}
	if err := s.kv.Put(ctx, user.Domain(), user.Local(), key, b); err != nil {
		return fmt.Errorf("lastactivity: %w", err)
	}
	return nil
}

// remove deletes the user's record.
func (s store) remove(ctx context.Context, user jid.JID) error {
	if err := s.kv.DeleteUser(ctx, user.Domain(), user.Local()); err != nil {
		return fmt.Errorf("lastactivity: %w", err)
	}
	return nil
}
