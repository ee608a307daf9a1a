package storage_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/parleyim/parley/internal/storage"
	"github.com/parleyim/parley/internal/storage/storagetest"
)

// kvEnv is a migrated database on one backend with two owners' KVs.
func kvEnv(t *testing.T, db *storage.DB) (vcard, private *storage.KV) {
	t.Helper()
	if err := db.Migrate(context.Background(), storage.Migrations); err != nil {
		t.Fatal(err)
	}
	return storage.NewKV(db, "vcard"), storage.NewKV(db, "private")
}

func mustGet(t *testing.T, kv *storage.KV, host, user, key string) []byte {
	t.Helper()
	v, err := kv.Get(context.Background(), host, user, key)
	if err != nil {
		t.Fatalf("Get(%s, %s, %q): %v", host, user, key, err)
	}
	return v
}

func wantMissing(t *testing.T, kv *storage.KV, host, user, key string) {
	t.Helper()
	v, err := kv.Get(context.Background(), host, user, key)
	if !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get(%s, %s, %q) = %q, %v; want ErrNotFound", host, user, key, v, err)
	}
}

func mustPut(t *testing.T, kv *storage.KV, host, user, key string, v []byte) {
	t.Helper()
	if err := kv.Put(context.Background(), host, user, key, v); err != nil {
		t.Fatalf("Put(%s, %s, %q): %v", host, user, key, err)
	}
}

func mustKeys(t *testing.T, kv *storage.KV, host, user string) []string {
	t.Helper()
	keys, err := kv.Keys(context.Background(), host, user)
	if err != nil {
		t.Fatalf("Keys(%s, %s): %v", host, user, err)
	}
	return keys
}

func TestKV(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		vc, pr := kvEnv(t, db)
		if vc.Owner() != "vcard" {
			t.Errorf("Owner() = %q", vc.Owner())
		}

		t.Run("missing", func(t *testing.T) {
			wantMissing(t, vc, "example.com", "alice", "vcard")
			if keys := mustKeys(t, vc, "example.com", "alice"); keys == nil || len(keys) != 0 {
				t.Errorf("Keys of nobody = %#v, want an empty list", keys)
			}
		})

		t.Run("put get replace", func(t *testing.T) {
			mustPut(t, vc, "example.com", "alice", "vcard", []byte("<vCard xmlns='vcard-temp'/>"))
			if got := mustGet(t, vc, "example.com", "alice", "vcard"); string(got) != "<vCard xmlns='vcard-temp'/>" {
				t.Errorf("Get = %q", got)
			}
			mustPut(t, vc, "example.com", "alice", "vcard", []byte("second"))
			if got := mustGet(t, vc, "example.com", "alice", "vcard"); string(got) != "second" {
				t.Errorf("Get after replace = %q, want second", got)
			}
		})

		t.Run("values are bytes", func(t *testing.T) {
			cases := []struct {
				name string
				v    []byte
			}{
				{"empty", []byte{}},
				{"nil", nil},
				{"binary", []byte{0, 1, 0xff, 0xfe, '\'', '"', '\\', 0}},
				{"unicode", []byte("Ĳsselmeer — 雪 🐈")},
				{"large", bytes.Repeat([]byte("0123456789abcdef"), 64<<10)}, // 1 MiB
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					mustPut(t, vc, "example.com", "bytes", tc.name, tc.v)
					got := mustGet(t, vc, "example.com", "bytes", tc.name)
					if got == nil || !bytes.Equal(got, tc.v) {
						t.Errorf("Get = %q (nil %v), want %q", got, got == nil, tc.v)
					}
				})
			}
		})

		t.Run("owners are apart", func(t *testing.T) {
			mustPut(t, vc, "example.com", "bob", "k", []byte("vcard's"))
			wantMissing(t, pr, "example.com", "bob", "k")
			mustPut(t, pr, "example.com", "bob", "k", []byte("private's"))
			if got := mustGet(t, vc, "example.com", "bob", "k"); string(got) != "vcard's" {
				t.Errorf("vcard's value = %q after the other owner wrote", got)
			}
			if got := mustGet(t, pr, "example.com", "bob", "k"); string(got) != "private's" {
				t.Errorf("private's value = %q", got)
			}
		})

		t.Run("users and hosts are apart", func(t *testing.T) {
			mustPut(t, vc, "a.example", "carol", "k", []byte("a"))
			mustPut(t, vc, "b.example", "carol", "k", []byte("b"))
			mustPut(t, vc, "a.example", "dave", "k", []byte("d"))
			for _, c := range []struct{ host, user, want string }{
				{"a.example", "carol", "a"}, {"b.example", "carol", "b"}, {"a.example", "dave", "d"},
			} {
				if got := mustGet(t, vc, c.host, c.user, "k"); string(got) != c.want {
					t.Errorf("%s@%s = %q, want %q", c.user, c.host, got, c.want)
				}
			}
			wantMissing(t, vc, "a.example", "Carol", "k") // byte equality: callers pass prepared names
		})

		t.Run("keys", func(t *testing.T) {
			for _, k := range []string{"{urn:b}x", "{urn:a}z", "{urn:a}y", "Z", "é"} {
				mustPut(t, pr, "example.com", "erin", k, []byte(k))
			}
			mustPut(t, vc, "example.com", "erin", "other owner", nil)
			want := []string{"Z", "{urn:a}y", "{urn:a}z", "{urn:b}x", "é"}
			if got := mustKeys(t, pr, "example.com", "erin"); !slices.Equal(got, want) {
				t.Errorf("Keys = %q, want %q", got, want)
			}
		})

		t.Run("delete", func(t *testing.T) {
			mustPut(t, pr, "example.com", "frank", "a", []byte("1"))
			mustPut(t, pr, "example.com", "frank", "b", []byte("2"))
			mustPut(t, vc, "example.com", "frank", "a", []byte("3"))
			for range 2 { // deleting what is gone is not an error
				if err := pr.Delete(ctx, "example.com", "frank", "a"); err != nil {
					t.Fatal(err)
				}
			}
			wantMissing(t, pr, "example.com", "frank", "a")
			if got := mustGet(t, pr, "example.com", "frank", "b"); string(got) != "2" {
				t.Errorf("other key = %q", got)
			}
			if got := mustGet(t, vc, "example.com", "frank", "a"); string(got) != "3" {
				t.Errorf("other owner's key = %q", got)
			}
		})

		t.Run("delete user", func(t *testing.T) {
			mustPut(t, pr, "example.com", "gina", "a", []byte("1"))
			mustPut(t, pr, "example.com", "gina", "b", []byte("2"))
			mustPut(t, vc, "example.com", "gina", "a", []byte("3"))
			mustPut(t, pr, "example.com", "hank", "a", []byte("4"))
			mustPut(t, pr, "other.example", "gina", "a", []byte("5"))
			for range 2 { // idempotent, as user.removed listeners must be
				if err := pr.DeleteUser(ctx, "example.com", "gina"); err != nil {
					t.Fatal(err)
				}
			}
			if keys := mustKeys(t, pr, "example.com", "gina"); len(keys) != 0 {
				t.Errorf("keys left: %q", keys)
			}
			for _, c := range []struct {
				kv         *storage.KV
				host, user string
				want       string
			}{
				{vc, "example.com", "gina", "3"},
				{pr, "example.com", "hank", "4"},
				{pr, "other.example", "gina", "5"},
			} {
				if got := mustGet(t, c.kv, c.host, c.user, "a"); string(got) != c.want {
					t.Errorf("%s's %s@%s = %q, want %q", c.kv.Owner(), c.user, c.host, got, c.want)
				}
			}
		})

		t.Run("concurrent writers", func(t *testing.T) {
			var wg sync.WaitGroup
			errs := make(chan error, 40)
			for i := range 40 {
				wg.Go(func() {
					key := fmt.Sprintf("k%d", i%4)
					errs <- vc.Put(ctx, "example.com", "ivy", key, []byte(key))
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if got := mustKeys(t, vc, "example.com", "ivy"); !slices.Equal(got, []string{"k0", "k1", "k2", "k3"}) {
				t.Errorf("Keys = %q", got)
			}
		})

		t.Run("cancelled", func(t *testing.T) {
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			if err := vc.Put(cctx, "example.com", "jo", "k", nil); !errors.Is(err, context.Canceled) {
				t.Errorf("Put with a cancelled context: %v", err)
			}
		})
	})
}

// Apply writes a batch in one transaction; GetMany reads many keys at
// once.
func TestKVBatches(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		vc, pr := kvEnv(t, db)

		t.Run("apply", func(t *testing.T) {
			mustPut(t, pr, "example.com", "alice", "old", []byte("1"))
			mustPut(t, pr, "example.com", "alice", "gone", []byte("2"))
			err := pr.Apply(ctx, "example.com", "alice", []storage.KVWrite{
				{Key: "a", Value: []byte("first")},
				{Key: "gone", Delete: true},
				{Key: "old", Value: []byte("replaced")},
				{Key: "a", Value: []byte("last")}, // the last write to a key wins
				{Key: "empty"},
				{Key: "never", Value: []byte("x")},
				{Key: "never", Delete: true},
				{Key: "absent", Delete: true}, // deleting what is not there is no error
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := mustKeys(t, pr, "example.com", "alice"); !slices.Equal(got, []string{"a", "empty", "old"}) {
				t.Fatalf("Keys = %q", got)
			}
			for k, want := range map[string]string{"a": "last", "old": "replaced", "empty": ""} {
				if got := mustGet(t, pr, "example.com", "alice", k); got == nil || string(got) != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if err := pr.Apply(ctx, "example.com", "alice", nil); err != nil {
				t.Errorf("Apply of nothing: %v", err)
			}
		})

		t.Run("apply is all or nothing", func(t *testing.T) {
			mustPut(t, pr, "example.com", "bob", "kept", []byte("1"))
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			err := pr.Apply(cctx, "example.com", "bob", []storage.KVWrite{{Key: "new", Value: []byte("x")}, {Key: "kept", Delete: true}})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Apply with a cancelled context: %v", err)
			}
			if db.Dialect == storage.Postgres {
				// PostgreSQL refuses NUL in text: the third write fails
				// after two were made in the transaction.
				err = pr.Apply(ctx, "example.com", "bob", []storage.KVWrite{
					{Key: "new", Value: []byte("x")}, {Key: "kept", Delete: true}, {Key: "bad\x00key", Value: []byte("x")},
				})
				if err == nil {
					t.Fatal("Apply of a key with NUL succeeded on PostgreSQL")
				}
			}
			if got := mustKeys(t, pr, "example.com", "bob"); !slices.Equal(got, []string{"kept"}) {
				t.Fatalf("Keys after failed Applies = %q, want [kept]", got)
			}
		})

		t.Run("get many", func(t *testing.T) {
			// More keys than one query names.
			var keys []string
			var writes []storage.KVWrite
			for i := range 1201 {
				k := fmt.Sprintf("{urn:k}%04d", i)
				keys = append(keys, k)
				if i%3 != 0 {
					writes = append(writes, storage.KVWrite{Key: k, Value: []byte(k)})
				}
			}
			if err := pr.Apply(ctx, "example.com", "carol", writes); err != nil {
				t.Fatal(err)
			}
			mustPut(t, pr, "example.com", "carol", "empty", nil)
			mustPut(t, vc, "example.com", "carol", "{urn:k}0000", []byte("other owner"))
			mustPut(t, pr, "example.com", "dave", "{urn:k}0000", []byte("other user"))
			got, err := pr.GetMany(ctx, "example.com", "carol", append(keys, "empty", "missing"))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(writes)+1 {
				t.Errorf("GetMany returned %d values, want %d", len(got), len(writes)+1)
			}
			for i, k := range keys {
				v, ok := got[k]
				switch {
				case i%3 == 0 && ok:
					t.Errorf("%s = %q, want none", k, v)
				case i%3 != 0 && string(v) != k:
					t.Errorf("%s = %q, want %q", k, v, k)
				}
			}
			if v, ok := got["empty"]; !ok || v == nil || len(v) != 0 {
				t.Errorf("empty = %q (present %v, nil %v), want an empty slice", v, ok, v == nil)
			}
			none, err := pr.GetMany(ctx, "example.com", "carol", nil)
			if err != nil || len(none) != 0 {
				t.Errorf("GetMany of no keys = %v, %v", none, err)
			}
		})
	})
}

func TestKVMigrations(t *testing.T) {
	if len(storage.Migrations) != 1 {
		t.Fatalf("storage.Migrations has %d migrations", len(storage.Migrations))
	}
	m := storage.Migrations[0]
	if m.Component != "storage" || m.Version != 1 || m.Name != "kv" {
		t.Errorf("migration = %s", m)
	}
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		for range 2 {
			if err := db.Migrate(ctx, storage.Migrations); err != nil {
				t.Fatal(err)
			}
		}
		pending, err := db.Pending(ctx, storage.Migrations)
		if err != nil || len(pending) != 0 {
			t.Errorf("Pending after Migrate = %v, %v", pending, err)
		}
	})
}

func TestLoadMigrations(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	cases := []struct {
		name string
		fs   fstest.MapFS
		want []string // Migration.String of each
		err  string
	}{
		{
			name: "pairs sorted by version",
			fs: fstest.MapFS{
				"migrations/sqlite/002_add_colour.sql":   file("ALTER lite"),
				"migrations/postgres/002_add_colour.sql": file("ALTER pg"),
				"migrations/sqlite/001_widgets.sql":      file("CREATE lite"),
				"migrations/postgres/001_widgets.sql":    file("CREATE pg"),
			},
			want: []string{"w v1 (widgets)", "w v2 (add colour)"},
		},
		{
			name: "stray file",
			fs: fstest.MapFS{
				"migrations/sqlite/001_widgets.sql":   file("x"),
				"migrations/postgres/001_widgets.sql": file("x"),
				"migrations/sqlite/002_more.sql":      file("x"),
				"migrations/postgres/README":          file("x"),
			},
			err: "storage: w migration file migrations/postgres/README: want NNN_name.sql",
		},
		{
			name: "unpaired version",
			fs: fstest.MapFS{
				"migrations/sqlite/001_widgets.sql": file("x"),
				"migrations/postgres":               &fstest.MapFile{Mode: fs.ModeDir | 0o755},
			},
			err: "storage: w migration 1 has no file for one dialect",
		},
		{
			name: "bad name",
			fs: fstest.MapFS{
				"migrations/sqlite/one_widgets.sql": file("x"),
				"migrations/postgres":               &fstest.MapFile{Mode: fs.ModeDir | 0o755},
			},
			err: "storage: w migration file migrations/sqlite/one_widgets.sql: want NNN_name.sql",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := storage.LoadMigrations("w", tc.fs)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error %v, want %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range ms {
				got = append(got, m.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			if ms[0].SQLite != "CREATE lite" || ms[0].Postgres != "CREATE pg" {
				t.Errorf("v1 SQL = %q / %q", ms[0].SQLite, ms[0].Postgres)
			}
		})
	}
}
