// Package storagetest runs store tests on every backend Parley supports:
// SQLite in a temporary file, and the PostgreSQL of the machine in a fresh
// schema per test, so tests may run in parallel.
//
// PostgreSQL is found through the environment variable PARLEY_TEST_POSTGRES
// (default postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable). If
// it cannot be reached the test is skipped with the reason, unless
// PARLEY_TEST_REQUIRE contains "postgres", as in CI, where it fails.
package storagetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/storage"
)

// DefaultPostgresDSN is used when PARLEY_TEST_POSTGRES is unset.
const DefaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Backend is one database backend under test.
type Backend struct {
	// Name is the subtest name: "sqlite" or "postgres".
	Name string
	open func(tb testing.TB) *storage.DB
}

// Open returns a new, empty database on the backend, closed and removed
// when tb ends. It skips or fails tb if the backend is unavailable.
func (b Backend) Open(tb testing.TB) *storage.DB {
	tb.Helper()
	return b.open(tb)
}

// Backends lists the backends, SQLite first.
func Backends() []Backend {
	return []Backend{
		{Name: "sqlite", open: openSQLite},
		{Name: "postgres", open: openPostgres},
	}
}

// Run runs fn as a subtest per backend, each with a new, empty database.
func Run(t *testing.T, fn func(t *testing.T, db *storage.DB)) {
	t.Helper()
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) {
			fn(t, b.Open(t))
		})
	}
}

// RunB is Run for benchmarks.
func RunB(b *testing.B, fn func(b *testing.B, db *storage.DB)) {
	b.Helper()
	for _, be := range Backends() {
		b.Run(be.Name, func(b *testing.B) {
			fn(b, be.Open(b))
		})
	}
}

// Migrated is a shortcut for Open followed by Migrate(ms).
func (b Backend) Migrated(tb testing.TB, ms []storage.Migration) *storage.DB {
	tb.Helper()
	db := b.Open(tb)
	if err := db.Migrate(context.Background(), ms); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	return db
}

func openSQLite(tb testing.TB) *storage.DB {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "parley.db")
	db, err := storage.Open(context.Background(), "sqlite", path, 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func openPostgres(tb testing.TB) *storage.DB {
	tb.Helper()
	dsn := PostgresDSN(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := storage.Open(ctx, "postgres", dsn, 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// PostgresServer returns the DSN of the test PostgreSQL server
// (PARLEY_TEST_POSTGRES, else DefaultPostgresDSN), without a schema.
func PostgresServer() string {
	if dsn := os.Getenv("PARLEY_TEST_POSTGRES"); dsn != "" {
		return dsn
	}
	return DefaultPostgresDSN
}

// PostgresDSN creates a fresh, empty schema on the test PostgreSQL server
// and returns a DSN whose search_path is that schema, for tests that open
// the database themselves (a whole server through its configuration). The
// schema is dropped when tb ends, after the cleanups registered later
// (close the database in one of those). It skips or fails tb as Open does
// when the server is unavailable.
func PostgresDSN(tb testing.TB) string {
	tb.Helper()
	return WithSearchPath(PostgresServer(), newSchema(tb, PostgresServer()))
}

// newSchema creates a schema on the server of dsn and drops it when tb
// ends.
func newSchema(tb testing.TB, dsn string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := storage.Open(ctx, "postgres", dsn, 1)
	if err != nil {
		if strings.Contains(os.Getenv("PARLEY_TEST_REQUIRE"), "postgres") {
			tb.Fatalf("postgres required (PARLEY_TEST_REQUIRE) but unavailable: %v", err)
		}
		tb.Skipf("postgres unavailable (set PARLEY_TEST_POSTGRES, or PARLEY_TEST_REQUIRE=postgres to fail): %v", err)
	}
	schema := "t_" + randomHex(8)
	if _, err := admin.SQL.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		tb.Fatalf("create schema %s: %v", schema, err)
	}
	// Cleanups run last-registered first: the test's db closes before the
	// schema is dropped.
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.SQL.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	return schema
}

// WithSearchPath adds the search_path run-time parameter to a pgx DSN in
// either URL or keyword/value form.
func WithSearchPath(dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		return dsn + sep + "search_path=" + schema
	}
	return dsn + " search_path=" + schema
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
