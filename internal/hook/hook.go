// Package hook runs typed extension points. Every point is declared once in
// points.go with its event type, whether it is a Filter (may stop or consume
// the event) or a Notify (told after the fact), and who fires it. Listeners
// run in order of priority, ties broken by owner name, so the order never
// depends on map iteration or registration order.
package hook

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"sync/atomic"
)

// Kind tells whether listeners of a point may stop the event.
type Kind int

const (
	// Notify listeners are told of an event and cannot change it.
	Notify Kind = iota
	// Filter listeners may consume the event (Handled) or drop it.
	Filter
)

// Verdict is what a Filter listener decides. Notify listeners return
// Continue.
type Verdict int

const (
	// Continue passes the event to the next listener.
	Continue Verdict = iota
	// Handled stops the chain: the listener consumed the event.
	Handled
	// Drop stops the chain: the event is discarded.
	Drop
)

// Priority bands. Lower runs first.
const (
	First   = -100
	Early   = -50
	Default = 0
	Late    = 50
	Last    = 100
)

// Point is one declared extension point carrying events of type E.
type Point[E any] struct {
	Name string
	Kind Kind
}

type listener[E any] struct {
	id    uint64
	prio  int
	owner string
	fn    func(context.Context, *E) Verdict
}

// Registry holds the listeners of all points. It is safe for concurrent
// use; running a point takes no lock (copy-on-write lists).
type Registry struct {
	mu     sync.Mutex // serialises changes
	nextID uint64
	lists  sync.Map // point name → *atomic.Value holding []listener[E]
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{}
}

// On adds fn to point p with the given priority, on behalf of owner (a
// module name). It returns a function that removes the listener.
func On[E any](r *Registry, p *Point[E], prio int, owner string, fn func(context.Context, *E) Verdict) (remove func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nextID++
	id := r.nextID
	a, _ := r.lists.LoadOrStore(p.Name, new(atomic.Value))
	v := a.(*atomic.Value)
	old, _ := v.Load().([]listener[E])
	next := append(slices.Clone(old), listener[E]{id: id, prio: prio, owner: owner, fn: fn})
	slices.SortStableFunc(next, func(a, b listener[E]) int {
		if c := cmp.Compare(a.prio, b.prio); c != 0 {
			return c
		}
		return cmp.Compare(a.owner, b.owner)
	})
	v.Store(next)
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		cur, _ := v.Load().([]listener[E])
		v.Store(slices.DeleteFunc(slices.Clone(cur), func(l listener[E]) bool { return l.id == id }))
	}
}

// Run fires point p with event e. For a Filter point it returns the first
// verdict other than Continue; a Notify point always returns Continue and
// runs every listener.
func Run[E any](ctx context.Context, r *Registry, p *Point[E], e *E) Verdict {
	if r == nil {
		return Continue
	}
	a, ok := r.lists.Load(p.Name)
	if !ok {
		return Continue
	}
	ls, _ := a.(*atomic.Value).Load().([]listener[E])
	for _, l := range ls {
		verdict := l.fn(ctx, e)
		if p.Kind == Filter && verdict != Continue {
			return verdict
		}
	}
	return Continue
}

// Owners lists, for a point name, the owners of its listeners in run order
// (for `parley ctl hooks` and tests).
func Owners[E any](r *Registry, p *Point[E]) []string {
	a, ok := r.lists.Load(p.Name)
	if !ok {
		return nil
	}
	ls, _ := a.(*atomic.Value).Load().([]listener[E])
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.owner
	}
	return out
}
