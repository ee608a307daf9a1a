package module

import (
	"fmt"
	"reflect"
)

// ownedService is a typed service offered by a module (Provide).
type ownedService struct {
	owner string
	v     any
}

// Provide offers v to the other modules as the service of type T: the
// second of the three ways modules talk (STYLE.md §3.9; Prosody's
// module:provides). T is named explicitly and is normally an interface
// declared in the provider's package, such as roster.Service:
//
//	module.Provide[roster.Service](h, r)
//
// Services are keyed by T alone, so a second module providing the same
// type is an error naming both. The service is withdrawn when the
// providing module stops.
func Provide[T any](h *Host, v T) error {
	key := reflect.TypeFor[T]()
	reg := &h.r.reg
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if o, ok := reg.services[key]; ok {
		return fmt.Errorf("service %s provided by both %s and %s", key, o.owner, h.name)
	}
	reg.services[key] = ownedService{owner: h.name, v: v}
	h.addUndo(func() {
		reg.mu.Lock()
		if reg.services[key].owner == h.name {
			delete(reg.services, key)
		}
		reg.mu.Unlock()
	})
	return nil
}

// Use returns the service of type T that a module provided, and false if
// none did (the provider is disabled, or comes later in the module list).
// Modules start in list order, so a module that calls Use in its Setup
// sits after its provider in internal/app/modules.go.
func Use[T any](h *Host) (T, bool) { return Lookup[T](h.r) }

// Lookup is Use for the assembly tier: it returns the service of type T
// that a running module of r provides, and false if none does. The admin
// API reaches the roster through it (module.Lookup[roster.Service]), so
// that its changes take the same path as a client's, pushes and hooks
// included. Modules use Use, along their declared Requires edges.
func Lookup[T any](r *Registry) (T, bool) {
	r.reg.mu.RLock()
	o, ok := r.reg.services[reflect.TypeFor[T]()]
	r.reg.mu.RUnlock()
	if !ok {
		var zero T
		return zero, false
	}
	v, ok := o.v.(T)
	return v, ok
}
