package storage_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/parleyim/parley/internal/storage"
	"github.com/parleyim/parley/internal/storage/storagetest"
)

// Two statements per migration: both drivers must run all of them.
var (
	widgetsV1 = storage.Migration{
		Component: "widgets", Version: 1, Name: "create widgets",
		SQLite:   "CREATE TABLE widgets (id INTEGER PRIMARY KEY, name TEXT NOT NULL); CREATE INDEX widgets_name ON widgets (name);",
		Postgres: "CREATE TABLE widgets (id BIGINT PRIMARY KEY, name TEXT NOT NULL); CREATE INDEX widgets_name ON widgets (name);",
	}
	widgetsV2 = storage.Migration{
		Component: "widgets", Version: 2, Name: "add colour",
		SQLite:   "ALTER TABLE widgets ADD COLUMN colour TEXT",
		Postgres: "ALTER TABLE widgets ADD COLUMN colour TEXT",
	}
	gadgetsV1 = storage.Migration{
		Component: "gadgets", Version: 1, Name: "create gadgets",
		SQLite:   "CREATE TABLE gadgets (id INTEGER PRIMARY KEY)",
		Postgres: "CREATE TABLE gadgets (id BIGINT PRIMARY KEY)",
	}
)

func names(ms []storage.Migration) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.String())
	}
	return out
}

func equalNames(a, b []storage.Migration) bool {
	x, y := names(a), names(b)
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}

func countMigrations(t *testing.T, db *storage.DB) int {
	t.Helper()
	var n int
	if err := db.SQL.QueryRow("SELECT count(*) FROM parley_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMigrate(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		// Out of order on purpose: Migrate sorts.
		v1 := []storage.Migration{widgetsV1, gadgetsV1}

		// Pending on an untouched database creates nothing.
		p, err := db.Pending(ctx, v1)
		if err != nil {
			t.Fatal(err)
		}
		if want := []storage.Migration{gadgetsV1, widgetsV1}; !equalNames(p, want) {
			t.Fatalf("Pending on empty db = %v, want %v", names(p), names(want))
		}
		if _, err := db.SQL.ExecContext(ctx, "SELECT count(*) FROM parley_migrations"); err == nil {
			t.Fatal("Pending created parley_migrations")
		}

		if err := db.Migrate(ctx, v1); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL.ExecContext(ctx, "INSERT INTO widgets (id, name) VALUES (1, 'a')"); err != nil {
			t.Fatalf("widgets table not usable: %v", err)
		}
		// Twice is a no-op.
		if err := db.Migrate(ctx, v1); err != nil {
			t.Fatalf("second Migrate: %v", err)
		}
		if n := countMigrations(t, db); n != 2 {
			t.Errorf("parley_migrations has %d rows, want 2", n)
		}
		if p, err := db.Pending(ctx, v1); err != nil || len(p) != 0 {
			t.Errorf("Pending after Migrate = %v, %v; want none", names(p), err)
		}

		v2 := []storage.Migration{widgetsV2, widgetsV1, gadgetsV1}
		if p, err := db.Pending(ctx, v2); err != nil || !equalNames(p, []storage.Migration{widgetsV2}) {
			t.Errorf("Pending with v2 = %v, %v; want [widgets v2]", names(p), err)
		}
		if err := db.Migrate(ctx, v2); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL.ExecContext(ctx, "UPDATE widgets SET colour = 'red'"); err != nil {
			t.Errorf("v2 column missing: %v", err)
		}
		var name string
		var applied any
		err = db.SQL.QueryRowContext(ctx, db.Rebind(
			"SELECT name, applied_at FROM parley_migrations WHERE component = ? AND version = ?"),
			"widgets", 2).Scan(&name, &applied)
		if err != nil || name != "add colour" || applied == nil {
			t.Errorf("recorded v2 = %q at %v, %v", name, applied, err)
		}
	})
}

func TestMigrateSchemaTooNew(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		if err := db.Migrate(ctx, []storage.Migration{widgetsV1}); err != nil {
			t.Fatal(err)
		}
		// A newer Parley ran widgets v3 here.
		if _, err := db.SQL.ExecContext(ctx,
			"INSERT INTO parley_migrations (component, version, name) VALUES ('widgets', 3, 'from the future')"); err != nil {
			t.Fatal(err)
		}
		const want = "storage: database schema widgets v3 is newer than this binary (knows v2); upgrade parley"
		ms := []storage.Migration{widgetsV1, widgetsV2, gadgetsV1}
		err := db.Migrate(ctx, ms)
		if !errors.Is(err, storage.ErrSchemaTooNew) {
			t.Fatalf("Migrate = %v, want ErrSchemaTooNew", err)
		}
		if err.Error() != want {
			t.Errorf("error = %q, want %q", err, want)
		}
		var tn *storage.SchemaTooNewError
		if !errors.As(err, &tn) || tn.Component != "widgets" || tn.Database != 3 || tn.Known != 2 {
			t.Errorf("errors.As = %+v", tn)
		}
		if _, err := db.Pending(ctx, ms); !errors.Is(err, storage.ErrSchemaTooNew) {
			t.Errorf("Pending = %v, want ErrSchemaTooNew", err)
		}
		// Nothing was applied, not even the other component.
		if n := countMigrations(t, db); n != 2 {
			t.Errorf("parley_migrations has %d rows, want 2", n)
		}
		// A binary that does not know the component at all ignores it.
		if err := db.Migrate(ctx, []storage.Migration{gadgetsV1}); err != nil {
			t.Errorf("Migrate(other component) = %v", err)
		}
	})
}

func TestMigrateFailureRollsBack(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		bad := storage.Migration{
			Component: "widgets", Version: 2, Name: "broken",
			SQLite:   "CREATE TABLE half (id INTEGER); SELECT * FROM no_such_table;",
			Postgres: "CREATE TABLE half (id INTEGER); SELECT * FROM no_such_table;",
		}
		err := db.Migrate(ctx, []storage.Migration{widgetsV1, bad})
		if err == nil {
			t.Fatal("Migrate with a broken migration succeeded")
		}
		if _, err := db.SQL.ExecContext(ctx, "SELECT * FROM half"); err == nil {
			t.Error("the failed migration left its first statement applied")
		}
		p, err := db.Pending(ctx, []storage.Migration{widgetsV1, bad})
		if err != nil || !equalNames(p, []storage.Migration{bad}) {
			t.Errorf("Pending = %v, %v; want only the broken one", names(p), err)
		}
	})
}

func TestMigrateInvalid(t *testing.T) {
	db := &storage.DB{Dialect: storage.SQLite} // validation runs before any query
	ctx := context.Background()
	tests := [][]storage.Migration{
		0: {{Version: 1, Name: "x", SQLite: "SELECT 1"}},
		1: {{Component: "c", Version: 0, Name: "x", SQLite: "SELECT 1"}},
		2: {{Component: "c", Version: 1, Name: "x", Postgres: "SELECT 1"}},
		3: {widgetsV1, widgetsV1},
	}
	for i, ms := range tests {
		if err := db.Migrate(ctx, ms); err == nil {
			t.Errorf("%d: Migrate(%v) succeeded", i, names(ms))
		}
		if _, err := db.Pending(ctx, ms); err == nil {
			t.Errorf("%d: Pending(%v) succeeded", i, names(ms))
		}
	}
}

func TestMigrateConcurrent(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		ms := []storage.Migration{widgetsV1, widgetsV2, gadgetsV1}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Go(func() { errs <- db.Migrate(ctx, ms) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		if n := countMigrations(t, db); n != 3 {
			t.Errorf("parley_migrations has %d rows, want 3", n)
		}
	})
}
