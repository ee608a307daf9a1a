package private

import (
	"context"
	"fmt"

	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/storage"
	"github.com/parleyim/parley/internal/xmlstream"
)

// store keeps each stored element, serialized, in the module's generic KV
// (STYLE.md §2) under its qualified name.
type store struct{ kv *storage.KV }

// key is the KV key of an element name, in Clark notation: {space}local.
// A local name cannot hold '}', so the key is unambiguous.
func key(n xmlstream.Name) string { return "{" + n.Space + "}" + n.Local }

// encode serializes an element as it is stored, declaring its own
// namespace.
func encode(e *xmlstream.Element) []byte { return e.Append(nil, "") }

// getMany returns the elements stored under names for user, in one
// query: out[i] is the element of names[i], or nil.
func (s store) getMany(ctx context.Context, user jid.JID, names []xmlstream.Name) ([]*xmlstream.Element, error) {
	keys := make([]string, len(names))
	for i, n := range names {
		keys[i] = key(n)
	}
	vals, err := s.kv.GetMany(ctx, user.Domain(), user.Local(), keys)
	if err != nil {
		return nil, fmt.Errorf("private: %w", err)
	}
	out := make([]*xmlstream.Element, len(names))
	for i, n := range names {
		b, ok := vals[keys[i]]
		if !ok {
			continue
		}
		// It passed the stream's limits when it was set and was written
		// again by Append: ParseStored allows for both.
		e, err := xmlstream.ParseStored(b, n.Space)
		if err != nil {
			return nil, fmt.Errorf("private: stored %s of %s: %w", keys[i], user, err)
		}
		out[i] = e
	}
	return out, nil
}

// names returns the keys user has stored.
func (s store) names(ctx context.Context, user jid.JID) (map[string]bool, error) {
	keys, err := s.kv.Keys(ctx, user.Domain(), user.Local())
	if err != nil {
		return nil, fmt.Errorf("private: %w", err)
	}
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m, nil
}

// apply makes the writes of one set for user (encoded elements under
// their keys, or deletions) in one transaction.
func (s store) apply(ctx context.Context, user jid.JID, writes []storage.KVWrite) error {
	if err := s.kv.Apply(ctx, user.Domain(), user.Local(), writes); err != nil {
		return fmt.Errorf("private: %w", err)
	}
	return nil
}

// removeUser deletes everything user stored.
func (s store) removeUser(ctx context.Context, user jid.JID) error {
	if err := s.kv.DeleteUser(ctx, user.Domain(), user.Local()); err != nil {
		return fmt.Errorf("private: %w", err)
	}
	return nil
}
