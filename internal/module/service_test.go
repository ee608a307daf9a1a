package module_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/storage"
)

// allEnabled is a ConfigSource with every module on and no options.
type allEnabled struct{}

func (allEnabled) ModuleEnabled(string, bool) bool { return true }
func (allEnabled) DecodeModule(string, any) error  { return nil }

// Greeter is a service one module offers another.
type Greeter interface{ Greet() string }

type greeter string

func (g greeter) Greet() string { return string(g) }

func def(name string, setup func(h *module.Host) error) module.Definition {
	return module.Define[struct{}](name, name, nil, true, nil, func(_ context.Context, h *module.Host, _ *struct{}) error {
		return setup(h)
	})
}

func provider(name, greeting string) module.Definition {
	return def(name, func(h *module.Host) error { return module.Provide[Greeter](h, greeter(greeting)) })
}

// STYLE.md §3.9: a typed service, found by its type, from a module that
// started earlier; withdrawn when its provider stops.
func TestProvideUse(t *testing.T) {
	var got Greeter
	var found bool
	var hosts []*module.Host
	consumer := def("consumer", func(h *module.Host) error {
		got, found = module.Use[Greeter](h)
		// Another type is another service.
		if _, ok := module.Use[error](h); ok {
			t.Error("Use found a service nobody provided")
		}
		hosts = append(hosts, h)
		return nil
	})
	r := module.NewRegistry(module.Services{})
	if err := r.Load(context.Background(), []module.Definition{provider("hello", "hi"), consumer}, allEnabled{}); err != nil {
		t.Fatal(err)
	}
	if !found || got.Greet() != "hi" {
		t.Fatalf("Use = %v, %v", got, found)
	}
	r.Stop()
	if _, ok := module.Use[Greeter](hosts[0]); ok {
		t.Fatal("the service outlived its provider")
	}

	// A consumer before its provider finds nothing: modules start in list
	// order.
	found = true
	r = module.NewRegistry(module.Services{})
	if err := r.Load(context.Background(), []module.Definition{consumer, provider("hello", "hi")}, allEnabled{}); err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	if found {
		t.Fatal("Use found a service whose provider had not started")
	}
}

// The assembly tier finds a running module's service through the
// registry, and loses it when the module stops.
func TestLookup(t *testing.T) {
	r := module.NewRegistry(module.Services{})
	if _, ok := module.Lookup[Greeter](r); ok {
		t.Fatal("Lookup found a service in an empty registry")
	}
	if err := r.Load(context.Background(), []module.Definition{provider("hello", "hi")}, allEnabled{}); err != nil {
		t.Fatal(err)
	}
	if g, ok := module.Lookup[Greeter](r); !ok || g.Greet() != "hi" {
		t.Fatalf("Lookup = %v, %v; want the greeter of hello", g, ok)
	}
	if _, ok := module.Lookup[error](r); ok {
		t.Error("Lookup found a service nobody provided")
	}
	r.Stop()
	if _, ok := module.Lookup[Greeter](r); ok {
		t.Fatal("Lookup found the service of a stopped module")
	}
}

func TestProvideTwice(t *testing.T) {
	r := module.NewRegistry(module.Services{})
	err := r.Load(context.Background(), []module.Definition{provider("one", "a"), provider("two", "b")}, allEnabled{})
	if err == nil || !strings.Contains(err.Error(), "provided by both one and two") {
		t.Fatalf("Load = %v", err)
	}
}

var (
	m1 = storage.Migration{Component: "widgets", Version: 1, Name: "one", SQLite: "SELECT 1", Postgres: "SELECT 1"}
	m2 = storage.Migration{Component: "widgets", Version: 2, Name: "two", SQLite: "SELECT 2", Postgres: "SELECT 2"}
)

func TestWithMigrations(t *testing.T) {
	base := def("w", func(*module.Host) error { return nil })
	a := base.WithMigrations(m1)
	b := a.WithMigrations(m2)
	c := a.WithMigrations(m1) // must not write into b's array
	if len(base.Migrations) != 0 || len(a.Migrations) != 1 || len(b.Migrations) != 2 || b.Migrations[1] != m2 || c.Migrations[1] != m1 {
		t.Fatalf("base %v, a %v, b %v, c %v", base.Migrations, a.Migrations, b.Migrations, c.Migrations)
	}
}

// Host.DB hands modules the database of Services, nil without one.
func TestHostDB(t *testing.T) {
	db := &storage.DB{Dialect: storage.Postgres}
	errNoDB := errors.New("no db")
	for _, tc := range []struct {
		db   *storage.DB
		want error
	}{{db, nil}, {nil, errNoDB}} {
		m := def("store", func(h *module.Host) error {
			if h.DB() != tc.db {
				t.Errorf("DB() = %p, want %p", h.DB(), tc.db)
			}
			if h.DB() == nil {
				return errNoDB
			}
			return nil
		})
		r := module.NewRegistry(module.Services{DB: tc.db})
		if err := r.Load(context.Background(), []module.Definition{m}, allEnabled{}); !errors.Is(err, tc.want) {
			t.Errorf("Load = %v, want %v", err, tc.want)
		}
		r.Stop()
	}
}

// onlyEnabled is a ConfigSource with the named modules on.
type onlyEnabled map[string]bool

func (o onlyEnabled) ModuleEnabled(name string, _ bool) bool { return o[name] }
func (onlyEnabled) DecodeModule(string, any) error           { return nil }

// STYLE.md §3.8: a required module must be enabled and set up first, or
// the server refuses to start, naming both.
func TestRequires(t *testing.T) {
	started := 0
	consumer := def("consumer", func(*module.Host) error { started++; return nil }).WithRequires("hello")
	hello := provider("hello", "hi")
	cases := []struct {
		name    string
		defs    []module.Definition
		src     module.ConfigSource
		wantErr string
	}{
		{"required first", []module.Definition{hello, consumer}, allEnabled{}, ""},
		{"required after", []module.Definition{consumer, hello}, allEnabled{}, "module consumer: requires module hello, which is disabled or listed after it"},
		{"required disabled", []module.Definition{hello, consumer}, onlyEnabled{"consumer": true}, "module consumer: requires module hello, which is disabled or listed after it"},
		{"required unknown", []module.Definition{consumer}, allEnabled{}, "module consumer: requires module hello, which does not exist"},
		{"consumer disabled", []module.Definition{consumer}, onlyEnabled{}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			started = 0
			r := module.NewRegistry(module.Services{})
			err := r.Load(context.Background(), tc.defs, tc.src)
			defer r.Stop()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || err.Error() != tc.wantErr {
				t.Fatalf("Load = %v, want %q", err, tc.wantErr)
			}
			if started != 0 {
				t.Fatal("a module was set up although the server refused to start")
			}
		})
	}
}
