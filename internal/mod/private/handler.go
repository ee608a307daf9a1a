package private

import (
	"context"
	"fmt"
	"strings"

	"github.com/parleyim/parley/internal/config"
	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/stanza"
	"github.com/parleyim/parley/internal/xmlstream"
)

type privates struct {
	h           *module.Host
	store       store
	maxSize     int
	maxElements int
}

// Errors of XEP-0049 §2.3 and its error table.
var (
	// The IQ is for another user's storage.
	errForbidden = stanza.ErrForbidden
	// "Bad Format", which RFC 6120 §8.3.3.1 stanza errors call
	// bad-request: the query has no child.
	errNoChild = stanza.ErrBadRequest.WithText("the query names no element")
	// A child is not in a namespace of its own.
	errNamespace = stanza.ErrNotAcceptable.WithText("an element must be qualified by its own namespace")
)

// reserved are the namespaces a stored element may not be in (XEP-0049
// §2.3: "a proper namespace"). A child that declares none is in
// jabber:iq:private by XML's rules.
var reserved = map[string]bool{"": true, NS: true, ns.Client: true, ns.Server: true}

// children returns the query's children after the checks both get and set
// make: the sender is the account (XEP-0049 §2.3, Security
// Considerations), there is a child, and each has a proper namespace.
func (p *privates) children(iq *stanza.Stanza) ([]*xmlstream.Element, error) {
	from := iq.From
	if from.Local() == "" || !p.h.Router().IsLocal(from.Domain()) || iq.To.Bare() != from.Bare() {
		return nil, errForbidden
	}
	els := iq.Payload().Elements()
	if len(els) == 0 {
		return nil, errNoChild
	}
	for _, e := range els {
		if reserved[e.Name.Space] {
			return nil, errNamespace
		}
	}
	return els, nil
}

// get returns the stored element for each child named (XEP-0049 §2.3),
// or the empty element when none is stored. The XEP asks clients for one
// namespace per get; more are answered, in order.
func (p *privates) get(ctx context.Context, iq *stanza.Stanza) (*stanza.Stanza, error) {
	els, err := p.children(iq)
	if err != nil {
		return nil, err
	}
	user := iq.From.Bare()
	q := xmlstream.New(NS, "query")
	for _, e := range els {
		stored, err := p.store.get(ctx, user, e.Name)
		if err != nil {
			return nil, err
		}
		if stored == nil {
			stored = xmlstream.New(e.Name.Space, e.Name.Local)
		}
		q.AddChild(stored)
	}
	return stanza.Result(iq, q), nil
}

// empty reports whether e holds nothing: storing it means deleting.
func empty(e *xmlstream.Element) bool {
	return len(e.Attrs) == 0 && len(e.Elements()) == 0 && strings.TrimSpace(e.Text()) == ""
}

// set stores each child under its qualified name (XEP-0049 §2.3). Every
// child is checked before anything is written.
func (p *privates) set(ctx context.Context, iq *stanza.Stanza) (*stanza.Stanza, error) {
	els, err := p.children(iq)
	if err != nil {
		return nil, err
	}
	user := iq.From.Bare()
	type write struct {
		key string
		val []byte // nil: delete
	}
	writes := make([]write, 0, len(els))
	for _, e := range els {
		w := write{key: key(e.Name)}
		if !empty(e) {
			w.val = encode(e)
			if len(w.val) > p.maxSize {
				// RFC 6120 §8.3.3.9: the request does not meet the
				// server's criteria.
				return nil, stanza.ErrNotAcceptable.WithText(fmt.Sprintf("an element larger than %s", config.Size(p.maxSize)))
			}
		}
		writes = append(writes, w)
	}
	have, err := p.store.names(ctx, user)
	if err != nil {
		return nil, err
	}
	before := len(have)
	for _, w := range writes {
		have[w.key] = w.val != nil
	}
	n := 0
	for _, kept := range have {
		if kept {
			n++
		}
	}
	// Only a set that stores more names than before can break the limit:
	// after max_elements was lowered, replacing or deleting still works.
	if n > p.maxElements && n > before {
		return nil, stanza.ErrPolicyViolation.WithText(fmt.Sprintf("more than %d stored elements", p.maxElements))
	}
	for _, w := range writes {
		if w.val == nil {
			err = p.store.remove(ctx, user, w.key)
		} else {
			err = p.store.put(ctx, user, w.key, w.val)
		}
		if err != nil {
			return nil, err
		}
	}
	return stanza.Result(iq, nil), nil
}
