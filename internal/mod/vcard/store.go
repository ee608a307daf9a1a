package vcard

import (
	"context"
	"errors"
	"fmt"

	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/storage"
	"github.com/parleyim/parley/internal/xmlstream"
)

// key is the one key of a user's vCard in the module's KV.
const key = "vcard"

// store keeps each user's vCard, serialized, in the module's generic KV
// (STYLE.md §2): one value per user.
type store struct{ kv *storage.KV }

// encode serializes a vCard element as it is stored, declaring its own
// namespace.
func encode(v *xmlstream.Element) []byte { return v.Append(nil, "") }

// get returns the user's vCard, or nil if none is stored.
func (s store) get(ctx context.Context, user jid.JID) (*xmlstream.Element, error) {
	b, err := s.kv.Get(ctx, user.Domain(), user.Local(), key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("vcard: %w", err)
	}
	// The stored vCard passed the stream's limits when it was set; only
	// its size may exceed the default stanza limit.
	v, err := xmlstream.ParseStored(b, NS)
	if err != nil {
		return nil, fmt.Errorf("vcard: stored vcard of %s: %w", user, err)
	}
	return v, nil
}

// put stores the encoded vCard of user.
func (s store) put(ctx context.Context, user jid.JID, b []byte) error {
	if err := s.kv.Put(ctx, user.Domain(), user.Local(), key, b); err != nil {
		return fmt.Errorf("vcard: %w", err)
	}
	return nil
}

// remove deletes the user's vCard, if any.
func (s store) remove(ctx context.Context, user jid.JID) error {
	if err := s.kv.DeleteUser(ctx, user.Domain(), user.Local()); err != nil {
		return fmt.Errorf("vcard: %w", err)
	}
	return nil
}
