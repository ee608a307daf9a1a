package module

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"runtime/debug"
	"slices"
	"sort"
	"sync"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/stanza"
	"github.com/parleyim/parley/internal/storage"
	"github.com/parleyim/parley/internal/xmlstream"
)

// ConfigSource is where module options come from (internal/config.Config).
type ConfigSource interface {
	ModuleEnabled(name string, def bool) bool
	DecodeModule(name string, out any) error
}

// Registry loads modules, holds what they registered and dispatches IQs to
// them. It implements router.Dispatcher.
type Registry struct {
	svc     Services
	reg     registry
	hosts   []*Host // in start order
	loaded  []string
	stopped bool
}

// NewRegistry returns an empty registry using the given core services.
func NewRegistry(svc Services) *Registry {
	if svc.Log == nil {
		svc.Log = slog.Default()
	}
	return &Registry{svc: svc, reg: registry{
		iqs:        make(map[iqKey]registration),
		features:   make(map[Target]map[string]string),
		identities: make(map[Target][]ownedIdentity),
		services:   make(map[reflect.Type]ownedService),
	}}
}

// Load decodes the configuration of every enabled module in defs, then
// sets them up in list order. A failing module stops the ones before it.
func (r *Registry) Load(ctx context.Context, defs []Definition, src ConfigSource) error {
	todo, seen, err := decodeConfigs(defs, src)
	if err != nil {
		return err
	}
	// STYLE.md §3.8: a required module must be enabled and set up first.
	// The module list is in start order, so it must come earlier there.
	enabled := map[string]bool{}
	for _, l := range todo {
		for _, req := range l.def.Requires {
			if !enabled[req] {
				if !seen[req] {
					return fmt.Errorf("module %s: requires module %s, which does not exist", l.def.Name, req)
				}
				return fmt.Errorf("module %s: requires module %s, which is disabled or listed after it", l.def.Name, req)
			}
		}
		enabled[l.def.Name] = true
	}
	for _, l := range todo {
		h := &Host{name: l.def.Name, r: r, log: r.svc.Log.With("module", l.def.Name)}
		h.ctx, h.cancel = context.WithCancel(context.WithoutCancel(ctx))
		r.hosts = append(r.hosts, h)
		if err := l.def.Setup(ctx, h, l.cfg); err != nil {
			r.Stop()
			return fmt.Errorf("module %s: %w", l.def.Name, err)
		}
		r.loaded = append(r.loaded, l.def.Name)
	}
	return nil
}

type loaded struct {
	def Definition
	cfg any
}

// decodeConfigs decodes and validates the configuration of every enabled
// module in defs (STYLE.md §3.8 step 1).
func decodeConfigs(defs []Definition, src ConfigSource) ([]loaded, map[string]bool, error) {
	var todo []loaded
	seen := map[string]bool{}
	for _, d := range defs {
		if seen[d.Name] {
			return nil, nil, fmt.Errorf("module %s: defined twice", d.Name)
		}
		seen[d.Name] = true
		if !src.ModuleEnabled(d.Name, d.Default) {
			continue
		}
		var cfg any
		if d.NewConfig != nil {
			cfg = d.NewConfig()
			if err := src.DecodeModule(d.Name, cfg); err != nil {
				return nil, nil, err
			}
			if v, ok := cfg.(Validator); ok {
				if err := v.Validate(); err != nil {
					return nil, nil, fmt.Errorf("modules.%s: %w", d.Name, err)
				}
			}
		}
		todo = append(todo, loaded{d, cfg})
	}
	return todo, seen, nil
}

// CheckConfig decodes and validates every enabled module's configuration
// without setting anything up, so that a bad option stops the server
// before it opens storage or writes a file.
func CheckConfig(defs []Definition, src ConfigSource) error {
	_, _, err := decodeConfigs(defs, src)
	return err
}

// Loaded returns the names of the running modules in start order.
func (r *Registry) Loaded() []string { return slices.Clone(r.loaded) }

// Stop stops the modules in reverse order: cancels their contexts, waits
// for their goroutines and removes everything they registered.
func (r *Registry) Stop() {
	if r.stopped {
		return
	}
	r.stopped = true
	for i := len(r.hosts) - 1; i >= 0; i-- {
		r.hosts[i].stop()
	}
}

// DispatchIQ hands an IQ to the handler registered for its type, payload
// name and target, and routes the reply. It reports false when no handler
// matches.
func (r *Registry) DispatchIQ(ctx context.Context, st *stanza.Stanza, account bool) bool {
	target := Server
	if account {
		target = Account
	}
	return r.dispatch(ctx, st, target)
}

// DispatchPreAuth handles an IQ on an unauthenticated stream. Replies go
// through origin.Reply.
func (r *Registry) DispatchPreAuth(ctx context.Context, st *stanza.Stanza) bool {
	return r.dispatch(ctx, st, PreAuth)
}

func (r *Registry) dispatch(ctx context.Context, st *stanza.Stanza, target Target) bool {
	key := iqKey{typ: st.Type(), target: target}
	if p := st.Payload(); p != nil {
		key.name = p.Name
	}
	r.reg.mu.RLock()
	reg, ok := r.reg.iqs[key]
	r.reg.mu.RUnlock()
	if !ok {
		return false
	}
	reply, err := r.call(ctx, reg, st)
	if err != nil {
		var se *stanza.Error
		switch {
		case errors.As(err, &se):
		case errors.Is(err, storage.ErrUnavailable):
			// The database is away for now: the client may retry.
			r.svc.Log.Warn("storage unavailable", "module", reg.owner, "err", err)
			se = stanza.ErrTemporaryFailure
		default:
			id := errID()
			r.svc.Log.Error("module failed", "module", reg.owner, "err", err, "error_id", id)
			se = stanza.ErrInternalServerError
		}
		if st.IsRequest() {
			reply = stanza.ErrorReply(st, se)
		}
	}
	if reply == nil {
		return true
	}
	if target == PreAuth {
		if o := OriginFrom(ctx); o != nil && o.Reply != nil {
			o.Reply(reply)
		}
		return true
	}
	if err := r.svc.Router.Route(ctx, reply); err != nil {
		r.svc.Log.Debug("reply not delivered", "module", reg.owner, "err", err)
	}
	return true
}

// call runs a handler, turning a panic into an internal error (the module
// dispatch boundary of STYLE.md §5).
func (r *Registry) call(ctx context.Context, reg registration, st *stanza.Stanza) (reply *stanza.Stanza, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return reg.handler(ctx, st)
}

func errID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Features returns the sorted disco features registered for a target.
func (r *Registry) Features(t Target) []string {
	r.reg.mu.RLock()
	defer r.reg.mu.RUnlock()
	out := make([]string, 0, len(r.reg.features[t]))
	for f := range r.reg.features[t] {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// Identities returns the disco identities registered for a target.
func (r *Registry) Identities(t Target) []Identity {
	r.reg.mu.RLock()
	defer r.reg.mu.RUnlock()
	out := make([]Identity, 0, len(r.reg.identities[t]))
	for _, o := range r.reg.identities[t] {
		out = append(out, o.id)
	}
	return out
}

// StreamFeatures returns the stream features modules offer at a state.
func (r *Registry) StreamFeatures(when Target) []*xmlstream.Element {
	r.reg.mu.RLock()
	defer r.reg.mu.RUnlock()
	var out []*xmlstream.Element
	for _, o := range r.reg.streamFeat {
		if o.f.When == when {
			out = append(out, o.f.Element)
		}
	}
	return out
}

// Host is a module's handle on the core. Everything registered through it
// is undone when the module stops.
type Host struct {
	name   string
	r      *Registry
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	undo   []func()
}

// Name returns the module name.
func (h *Host) Name() string { return h.name }

// Log returns the module's logger, tagged module=<name>.
func (h *Host) Log() *slog.Logger { return h.log }

// Hosts returns the served domains.
func (h *Host) Hosts() []string { return h.r.svc.Hosts }

// Router returns the router, the only way a module sends stanzas.
func (h *Host) Router() Router { return h.r.svc.Router }

// Hooks returns the hook registry; use On to listen.
func (h *Host) Hooks() *hook.Registry { return h.r.svc.Hooks }

// Accounts returns the account service.
func (h *Host) Accounts() Accounts { return h.r.svc.Accounts }

// Sessions returns the session service.
func (h *Host) Sessions() Sessions { return h.r.svc.Sessions }

// DB returns the database, for a module that declared Migrations to
// build its store on (STYLE.md §2). It is nil when the core runs modules
// without a database (unit tests); such a module fails its Setup.
func (h *Host) DB() *storage.DB { return h.r.svc.DB }

// KV returns the module's generic per-user key-value store (STYLE.md §2:
// simple features use the generic storage.KV rather than tables of their
// own). Its rows are keyed by the module's name, so a module reads and
// writes only its own. It is nil when the core runs modules without a
// database (unit tests); such a module fails its Setup.
func (h *Host) KV() *storage.KV {
	if h.r.svc.DB == nil {
		return nil
	}
	return storage.NewKV(h.r.svc.DB, h.name)
}

// Version returns the server version string.
func (h *Host) Version() string { return h.r.svc.Version }

// Registry returns the module registry (for disco, which reports what
// every module declared).
func (h *Host) Registry() *Registry { return h.r }

func (h *Host) addUndo(f func()) {
	h.mu.Lock()
	h.undo = append(h.undo, f)
	h.mu.Unlock()
}

// IQ registers handler for IQs of the given type whose payload is
// {space}local at target. A second registration of the same key by any
// module is an error naming both.
func (h *Host) IQ(typ, space, local string, target Target, handler IQHandler) error {
	key := iqKey{typ: typ, name: xmlstream.Name{Space: space, Local: local}, target: target}
	reg := &h.r.reg
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if o, ok := reg.iqs[key]; ok {
		return fmt.Errorf("iq %s {%s}%s at %s registered by both %s and %s", typ, space, local, target, o.owner, h.name)
	}
	reg.iqs[key] = registration{owner: h.name, handler: handler}
	h.addUndo(func() {
		reg.mu.Lock()
		delete(reg.iqs, key)
		reg.mu.Unlock()
	})
	return nil
}

// Feature advertises a disco#info feature at target.
func (h *Host) Feature(feature string, target Target) {
	reg := &h.r.reg
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if reg.features[target] == nil {
		reg.features[target] = make(map[string]string)
	}
	if _, ok := reg.features[target][feature]; ok {
		return
	}
	reg.features[target][feature] = h.name
	h.addUndo(func() {
		reg.mu.Lock()
		if reg.features[target][feature] == h.name {
			delete(reg.features[target], feature)
		}
		reg.mu.Unlock()
	})
}

// Identity advertises a disco#info identity at target.
func (h *Host) Identity(id Identity, target Target) {
	reg := &h.r.reg
	reg.mu.Lock()
	defer reg.mu.Unlock()
	reg.identities[target] = append(reg.identities[target], ownedIdentity{owner: h.name, id: id})
	h.addUndo(func() {
		reg.mu.Lock()
		reg.identities[target] = slices.DeleteFunc(reg.identities[target], func(o ownedIdentity) bool {
			return o.owner == h.name && o.id == id
		})
		reg.mu.Unlock()
	})
}

// StreamFeature offers a stream feature on client streams.
func (h *Host) StreamFeature(f StreamFeature) {
	reg := &h.r.reg
	reg.mu.Lock()
	defer reg.mu.Unlock()
	reg.streamFeat = append(reg.streamFeat, ownedStreamFeature{owner: h.name, f: f})
	h.addUndo(func() {
		reg.mu.Lock()
		reg.streamFeat = slices.DeleteFunc(reg.streamFeat, func(o ownedStreamFeature) bool {
			return o.owner == h.name && o.f.Element == f.Element
		})
		reg.mu.Unlock()
	})
}

// On listens to a hook point on behalf of module h.
func On[E any](h *Host, p *hook.Point[E], prio int, fn func(context.Context, *E) hook.Verdict) {
	h.addUndo(hook.On(h.r.svc.Hooks, p, prio, h.name, fn))
}

// Go runs fn in a goroutine owned by the module: ctx is cancelled when the
// module stops, and stopping waits for fn to return.
func (h *Host) Go(fn func(ctx context.Context)) {
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		fn(h.ctx)
	}()
}

func (h *Host) stop() {
	h.cancel()
	h.wg.Wait()
	h.mu.Lock()
	undo := h.undo
	h.undo = nil
	h.mu.Unlock()
	for i := len(undo) - 1; i >= 0; i-- {
		undo[i]()
	}
}
