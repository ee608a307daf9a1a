package module_test

import (
	"context"
	"errors"
	"testing"

	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/storage"
	"github.com/parleyim/parley/internal/storage/storagetest"
)

// Host.KV is scoped to the module: two modules writing the same user and
// key keep two values, and neither sees the other's.
func TestHostKV(t *testing.T) {
	db := storagetest.Backends()[0].Migrated(t, storage.Migrations)
	kvs := map[string]*storage.KV{}
	keep := func(h *module.Host) error { kvs[h.Name()] = h.KV(); return nil }
	r := module.NewRegistry(module.Services{DB: db})
	if err := r.Load(context.Background(), []module.Definition{def("vcard", keep), def("private", keep)}, allEnabled{}); err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	ctx := context.Background()
	for name, kv := range kvs {
		if kv == nil || kv.Owner() != name {
			t.Fatalf("%s: KV() = %v", name, kv)
		}
		if err := kv.Put(ctx, "example.com", "alice", "k", []byte(name)); err != nil {
			t.Fatal(err)
		}
	}
	for name, kv := range kvs {
		v, err := kv.Get(ctx, "example.com", "alice", "k")
		if err != nil || string(v) != name {
			t.Errorf("%s reads %q, %v; want its own value", name, v, err)
		}
	}
	if err := kvs["vcard"].DeleteUser(ctx, "example.com", "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := kvs["private"].Get(ctx, "example.com", "alice", "k"); err != nil {
		t.Errorf("another module's DeleteUser removed private's value: %v", err)
	}
	if _, err := kvs["vcard"].Get(ctx, "example.com", "alice", "k"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("vcard's value after DeleteUser: %v", err)
	}
}

// Without a database (unit tests of the core) there is no KV.
func TestHostKVWithoutDB(t *testing.T) {
	var kv *storage.KV
	called := false
	r := module.NewRegistry(module.Services{})
	m := def("m", func(h *module.Host) error { kv, called = h.KV(), true; return nil })
	if err := r.Load(context.Background(), []module.Definition{m}, allEnabled{}); err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	if !called || kv != nil {
		t.Fatalf("KV() without a database = %v", kv)
	}
}
