package private

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/ns"
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

// Service is what the private module offers the admin API (module.Lookup),
// for moving private XML between servers (XEP-0227 §7).
type Service interface {
	// Elements returns every element the user stored, sorted by key.
	Elements(ctx context.Context, user jid.JID) ([]*xmlstream.Element, error)
	// Import stores els for the user in one transaction, each under its
	// qualified name, replacing what the user had under that name.
	Import(ctx context.Context, user jid.JID, els []*xmlstream.Element) error
}

// Elements implements Service.
func (p *privates) Elements(ctx context.Context, user jid.JID) ([]*xmlstream.Element, error) {
	user = user.Bare()
	have, err := p.store.names(ctx, user)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(have))
	for k := range have {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	names := make([]xmlstream.Name, 0, len(keys))
	for _, k := range keys {
		space, local, ok := strings.Cut(strings.TrimPrefix(k, "{"), "}")
		if !ok {
			return nil, fmt.Errorf("private: stored key %q of %s", k, user)
		}
		names = append(names, xmlstream.Name{Space: space, Local: local})
	}
	els, err := p.store.getMany(ctx, user, names)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(els, func(e *xmlstream.Element) bool { return e == nil }), nil
}

// Import implements Service.
func (p *privates) Import(ctx context.Context, user jid.JID, els []*xmlstream.Element) error {
	writes := make([]storage.KVWrite, 0, len(els))
	for _, e := range els {
		if e.Name.Space == "" || e.Name.Space == NS || e.Name.Space == ns.Client {
			return fmt.Errorf("private: import for %s: an element <%s/> in namespace %q cannot be stored (XEP-0049 §3)", user.Bare(), e.Name.Local, e.Name.Space)
		}
		w := storage.KVWrite{Key: key(e.Name), Value: encode(e)}
		if len(w.Value) > p.maxSize {
			return fmt.Errorf("private: import for %s: <%s xmlns='%s'/> is larger than modules.private.max_size", user.Bare(), e.Name.Local, e.Name.Space)
		}
		writes = append(writes, w)
	}
	if len(writes) == 0 {
		return nil
	}
	return p.store.apply(ctx, user.Bare(), writes)
}
