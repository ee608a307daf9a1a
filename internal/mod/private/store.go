package private

import (
	"context"
	"errors"
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

// get returns the element stored under n for user, or nil.
func (s store) get(ctx context.Context, user jid.JID, n xmlstream.Name) (*xmlstream.Element, error) {
	b, err := s.kv.Get(ctx, user.Domain(), user.Local(), key(n))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("private: %w", err)
	}
	// It passed the stream's limits when it was set; only its size may
	// exceed the default stanza limit.
	e, err := xmlstream.ParseFrame(b, n.Space, xmlstream.Limits{MaxStanzaBytes: len(b) + 1})
	if err != nil {
		return nil, fmt.Errorf("private: stored %s of %s: %w", key(n), user, err)
	}
	return e, nil
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

// put stores b, an encoded element, under k for user.
func (s store) put(ctx context.Context, user jid.JID, k string, b []byte) error {
	if err := s.kv.Put(ctx, user.Domain(), user.Local(), k, b); err != nil {
		return fmt.Errorf("private: %w", err)
	}
	return nil
}

// remove deletes what user stored under k, if anything.
func (s store) remove(ctx context.Context, user jid.JID, k string) error {
	if err := s.kv.Delete(ctx, user.Domain(), user.Local(), k); err != nil {
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
