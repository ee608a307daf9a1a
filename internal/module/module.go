// Package module is the contract between Parley's core and its features.
// A feature is a package under internal/mod that exports one Definition;
// the core knows no feature by name. Everything a module registers — IQ
// handlers, disco features and identities, stream features, hooks,
// goroutines and the typed services it offers other modules (Provide, Use)
// — goes through its Host, which records it so that stopping the module
// undoes all of it. A module with its own tables declares their migrations
// in its Definition and reaches the database through Host.DB; a simple one
// keeps per-user values in the generic store Host.KV gives it.
package module

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"reflect"
	"sync"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/stanza"
	"github.com/parleyim/parley/internal/storage"
	"github.com/parleyim/parley/internal/xmlstream"
)

// Spec names a specification a module implements.
type Spec struct {
	Name    string // "XEP-0199"
	Version string // "2.0.1"
}

// Definition declares a module. Reading it has no side effects.
type Definition struct {
	Name    string // config key under modules:, log and metric name
	Summary string // one line for docs and `parley ctl modules`
	Specs   []Spec
	// Default modules run in the zero-config set; others must be named in
	// the modules section.
	Default bool
	// NewConfig returns a pointer to the module's config struct holding
	// its defaults (nil for modules without options).
	NewConfig func() any
	// Setup registers everything through h. cfg is the value NewConfig
	// returned, decoded from the modules.<name> section and validated.
	Setup func(ctx context.Context, h *Host, cfg any) error
	// Migrations are the schema migrations of the module's own store
	// (STYLE.md §2: a feature with real query needs owns its tables). The
	// server applies those of every listed module at start, before any
	// module is set up; Setup then builds its store on Host.DB.
	Migrations []storage.Migration
	// Requires names the modules this one needs (STYLE.md §3.9): they must
	// be enabled and set up before it, and this module may import their
	// packages for the typed services they Provide. internal/archtest
	// allows an import of another module only along such an edge.
	Requires []string
}

// WithRequires returns d requiring the named modules:
//
//	var Module = module.Define(...).WithRequires("roster")
func (d Definition) WithRequires(names ...string) Definition {
	d.Requires = append(d.Requires[:len(d.Requires):len(d.Requires)], names...)
	return d
}

// WithMigrations returns d declaring the schema migrations ms:
//
//	var Module = module.Define(...).WithMigrations(Migrations...)
func (d Definition) WithMigrations(ms ...storage.Migration) Definition {
	d.Migrations = append(d.Migrations[:len(d.Migrations):len(d.Migrations)], ms...)
	return d
}

// Define builds a Definition whose Setup receives the module's typed config.
func Define[C any](name, summary string, specs []Spec, def bool, defaults func() *C, setup func(ctx context.Context, h *Host, cfg *C) error) Definition {
	d := Definition{Name: name, Summary: summary, Specs: specs, Default: def}
	d.NewConfig = func() any {
		if defaults == nil {
			return new(C)
		}
		return defaults()
	}
	d.Setup = func(ctx context.Context, h *Host, cfg any) error {
		c, ok := cfg.(*C)
		if !ok {
			return fmt.Errorf("module %s: config has type %T", name, cfg)
		}
		return setup(ctx, h, c)
	}
	return d
}

// Validator is implemented by module configs that check themselves after
// decoding.
type Validator interface{ Validate() error }

// Target says where an IQ handler or disco feature applies.
type Target int

const (
	// Server is the domain itself (to='example.com').
	Server Target = iota
	// Account is a user's bare JID, answered by the server on the user's
	// behalf (to='alice@example.com' or no 'to').
	Account
	// PreAuth is an unauthenticated stream (XEP-0077 registration).
	PreAuth
)

func (t Target) String() string {
	switch t {
	case Server:
		return "server"
	case Account:
		return "account"
	default:
		return "pre-auth"
	}
}

// IQHandler answers one IQ request. It returns the reply stanza (usually
// built with stanza.Result), or an error: a *stanza.Error becomes the error
// reply, any other error becomes internal-server-error and a log line. A
// handler for result/error IQs returns (nil, nil).
type IQHandler func(ctx context.Context, iq *stanza.Stanza) (*stanza.Stanza, error)

// Origin describes the stream a stanza arrived on; handlers get it with
// OriginFrom. It is how a pre-auth handler learns the client's address.
type Origin struct {
	Addr   netip.AddrPort
	Host   string  // the domain the stream is for
	JID    jid.JID // the full JID, zero before authentication
	Secure bool    // TLS is on
	// Reply, set on pre-auth streams only, writes a stanza straight to
	// the unauthenticated client (it has no address to route to).
	Reply func(*stanza.Stanza)
}

type originKey struct{}

// WithOrigin returns ctx carrying o.
func WithOrigin(ctx context.Context, o *Origin) context.Context {
	return context.WithValue(ctx, originKey{}, o)
}

// OriginFrom returns the origin carried by ctx, or nil (stanzas the server
// sends itself).
func OriginFrom(ctx context.Context) *Origin {
	o, _ := ctx.Value(originKey{}).(*Origin)
	return o
}

// Identity is a disco#info identity (XEP-0030).
type Identity struct {
	Category, Type, Name string
}

// StreamFeature is a stream feature a module offers on c2s streams once
// the given state is reached.
type StreamFeature struct {
	// When: PreAuth offers it after TLS and before SASL (registration);
	// Account offers it after resource binding is possible (csi, sm).
	When    Target
	Element *xmlstream.Element
}

// Router is what a module may use to send stanzas and look at sessions.
type Router interface {
	Route(ctx context.Context, st *stanza.Stanza) error
	// Deliver hands st to the local session bound to st.To, a full JID,
	// as it is: the server delivering on the user's behalf what it kept
	// for that session (stored subscription requests, offline messages),
	// which Route would process again as if it came in. It fails when no
	// such session takes it.
	Deliver(ctx context.Context, st *stanza.Stanza) error
	// BestAvailable returns the full JID of the user's local session that
	// a message to the bare JID would reach first (available, highest
	// non-negative priority), or false when there is none.
	BestAvailable(bare jid.JID) (jid.JID, bool)
	IsLocal(domain string) bool
}

type iqKey struct {
	typ    string
	name   xmlstream.Name
	target Target
}

type registration struct {
	owner   string
	handler IQHandler
}

// Services are the core services a module may use.
type Services struct {
	Router   Router
	Hooks    *hook.Registry
	Accounts Accounts
	Sessions Sessions
	// DB is the database every store shares, already migrated with
	// storage's own Migrations (the generic KV) and the Migrations of every
	// module; nil where a test runs modules without one.
	DB      *storage.DB
	Log     *slog.Logger
	Hosts   []string
	Version string
}

// Accounts is the account service (internal/auth) as modules see it.
type Accounts interface {
	Register(ctx context.Context, host, username, password string) error
	SetPassword(ctx context.Context, host, username, password string) error
	Remove(ctx context.Context, host, username string) error
	Exists(ctx context.Context, host, username string) (bool, error)
}

// Sessions lets modules act on local sessions without reaching into them.
type Sessions interface {
	// Kick closes every local session of the bare JID (all resources when
	// j is bare) with the given stream error condition.
	Kick(j jid.JID, cond, text string) int
}

// registry is shared by the hosts of all modules.
type registry struct {
	mu         sync.RWMutex
	iqs        map[iqKey]registration
	features   map[Target]map[string]string // feature → owner
	identities map[Target][]ownedIdentity
	streamFeat []ownedStreamFeature
	services   map[reflect.Type]ownedService
}

type ownedIdentity struct {
	owner string
	id    Identity
}

type ownedStreamFeature struct {
	owner string
	f     StreamFeature
}
