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

// Service is what the vcard module offers the admin API (module.Lookup),
// for moving vCards between servers (XEP-0227 §6).
type Service interface {
	// Get returns the user's vCard, or nil if none is stored.
	Get(ctx context.Context, user jid.JID) (*xmlstream.Element, error)
	// Set stores v, a <vCard xmlns='vcard-temp'/>, as the user's vCard.
	Set(ctx context.Context, user jid.JID, v *xmlstream.Element) error
}

// Get implements Service.
func (v *vcards) Get(ctx context.Context, user jid.JID) (*xmlstream.Element, error) {
	return v.store.get(ctx, user.Bare())
}

// Set implements Service.
func (v *vcards) Set(ctx context.Context, user jid.JID, el *xmlstream.Element) error {
	if el == nil || el.Name.Space != NS || el.Name.Local != "vCard" {
		return errors.New("vcard: want a <vCard xmlns='vcard-temp'/>")
	}
	b := encode(el)
	if v.maxSize > 0 && len(b) > v.maxSize {
		return fmt.Errorf("vcard: the vCard of %s has %d bytes, more than modules.vcard.max_size", user.Bare(), len(b))
	}
	return v.store.put(ctx, user.Bare(), b)
}
