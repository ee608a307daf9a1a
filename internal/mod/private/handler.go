package private

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/parleyim/parley/internal/config"
	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/stanza"
	"github.com/parleyim/parley/internal/storage"
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
	// A get without a child: "the server SHOULD return a 'Bad Format'
	// error", the error table's condition for it, which RFC 6120
	// §8.3.3.1 stanza errors call bad-request.
	errGetNoChild = stanza.ErrBadRequest.WithText("the query names no element")
	// A set without a child: "At least one child element with a proper
	// namespace MUST be included; otherwise the server MUST respond with
	// a 'Not Acceptable' error" (§2.3, Elements).
	errSetNoChild = stanza.ErrNotAcceptable.WithText("the query holds no element to store")
	// A child is not in a namespace of its own.
	errNamespace = stanza.ErrNotAcceptable.WithText("an element must be qualified by its own namespace")
)

// errTooMany refuses a query with more children than a user may store
// (max_elements) before any is looked at, so that one IQ cannot cost
// thousands of reads or writes. It is the limit of max_elements, the
// local policy RFC 6120 §8.3.3.12 names policy-violation for, which a
// set storing too many names gets too; not-acceptable (§8.3.3.9) stays
// for what is wrong with an element itself (its namespace, its size).
func errTooMany(max int) *stanza.Error {
	return stanza.ErrPolicyViolation.WithText(fmt.Sprintf("more than %d elements in one query", max))
}

// reserved are the namespaces a stored element may not be in (XEP-0049
// §2.3: "a proper namespace"). A child that declares none is in
// jabber:iq:private by XML's rules.
var reserved = map[string]bool{"": true, NS: true, ns.Client: true, ns.Server: true}

// children returns the query's children after the checks both get and set
// make: the sender is the account (XEP-0049 §2.3, Security
// Considerations), there is a child (else noChild), there are no more
// than max_elements, and each has a proper namespace.
func (p *privates) children(iq *stanza.Stanza, noChild *stanza.Error) ([]*xmlstream.Element, error) {
	from := iq.From
	if from.Local() == "" || !p.h.Router().IsLocal(from.Domain()) || iq.To.Bare() != from.Bare() {
		return nil, errForbidden
	}
	els := iq.Payload().Elements()
	if len(els) == 0 {
		return nil, noChild
	}
	if len(els) > p.maxElements {
		return nil, errTooMany(p.maxElements)
	}
	for _, e := range els {
		if reserved[e.Name.Space] {
			return nil, errNamespace
		}
	}
	return els, nil
}

// get returns the stored element for each name the children give
// (XEP-0049 §2.3), once per name, in the order named, or the empty
// element when none is stored; all are read in one query. The XEP asks
// clients for one namespace per get; more are answered.
func (p *privates) get(ctx context.Context, iq *stanza.Stanza) (*stanza.Stanza, error) {
	els, err := p.children(iq, errGetNoChild)
	if err != nil {
		return nil, err
	}
	var names []xmlstream.Name
	for _, e := range els {
		if !slices.Contains(names, e.Name) {
			names = append(names, e.Name)
		}
	}
	stored, err := p.store.getMany(ctx, iq.From.Bare(), names)
	if err != nil {
		return nil, err
	}
	q := xmlstream.New(NS, "query")
	for i, n := range names {
		e := stored[i]
		if e == nil {
			e = xmlstream.New(n.Space, n.Local)
		}
		q.AddChild(e)
	}
	return stanza.Result(iq, q), nil
}

// empty reports whether e holds nothing: storing it means deleting.
func empty(e *xmlstream.Element) bool {
	return len(e.Attrs) == 0 && len(e.Elements()) == 0 && strings.TrimSpace(e.Text()) == ""
}

// set stores each child under its qualified name (XEP-0049 §2.3); of
// several children with one name, the last is stored. Every child is
// checked before anything is written, and all are written in one
// transaction.
func (p *privates) set(ctx context.Context, iq *stanza.Stanza) (*stanza.Stanza, error) {
	els, err := p.children(iq, errSetNoChild)
	if err != nil {
		return nil, err
	}
	user := iq.From.Bare()
	writes := make([]storage.KVWrite, 0, len(els))
	at := make(map[string]int, len(els)) // key → its write
	for _, e := range els {
		w := storage.KVWrite{Key: key(e.Name), Delete: empty(e)}
		if !w.Delete {
			w.Value = encode(e)
			if len(w.Value) > p.maxSize {
				// RFC 6120 §8.3.3.9: the request does not meet the
				// server's criteria.
				return nil, stanza.ErrNotAcceptable.WithText(fmt.Sprintf("an element larger than %s", config.Size(p.maxSize)))
			}
		}
		if i, ok := at[w.Key]; ok {
			writes[i] = w
			continue
		}
		at[w.Key] = len(writes)
		writes = append(writes, w)
	}
	have, err := p.store.names(ctx, user)
	if err != nil {
		return nil, err
	}
	before := len(have)
	for _, w := range writes {
		have[w.Key] = !w.Delete
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
	if err := p.store.apply(ctx, user, writes); err != nil {
		return nil, err
	}
	return stanza.Result(iq, nil), nil
}
