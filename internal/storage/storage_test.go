package storage_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/storage"
	"github.com/parleyim/parley/internal/storage/storagetest"
)

func TestRebind(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		0: {"SELECT 1", "SELECT 1"},
		1: {"SELECT a FROM t WHERE b = ? AND c = ?", "SELECT a FROM t WHERE b = $1 AND c = $2"},
		2: {"INSERT INTO t VALUES (?, '?', ?)", "INSERT INTO t VALUES ($1, '?', $2)"},
		3: {`SELECT "odd?col" FROM t WHERE x = ?`, `SELECT "odd?col" FROM t WHERE x = $1`},
		4: {"SELECT 'it''s?' , ?", "SELECT 'it''s?' , $1"},
		5: {"SELECT ? -- why?\n, ?", "SELECT $1 -- why?\n, $2"},
		6: {"SELECT /* a ? b */ ?", "SELECT /* a ? b */ $1"},
		7: {"SELECT '?", "SELECT '?"},
		8: {"SELECT ? -- ?", "SELECT $1 -- ?"},
		9: {"?,?,?,?,?,?,?,?,?,?,?", "$1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11"},
	}
	pg := &storage.DB{Dialect: storage.Postgres}
	lite := &storage.DB{Dialect: storage.SQLite}
	for i, tc := range tests {
		if got := pg.Rebind(tc.in); got != tc.want {
			t.Errorf("%d: postgres Rebind(%q) = %q, want %q", i, tc.in, got, tc.want)
		}
		if got := lite.Rebind(tc.in); got != tc.in {
			t.Errorf("%d: sqlite Rebind(%q) = %q, want it unchanged", i, tc.in, got)
		}
	}
}

func TestOpenSQLite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "a", "b", "parley.db")
	db, err := storage.Open(ctx, "sqlite", path, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.Dialect != storage.SQLite {
		t.Errorf("dialect = %v, want sqlite", db.Dialect)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("database file mode = %v, want private", perm)
	}
	// Every pooled connection must carry the pragmas: hold several at once.
	conns := make([]interface{ Close() error }, 0, 3)
	for range 3 {
		c, err := db.SQL.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		for pragma, want := range map[string]string{
			"journal_mode": "wal",
			"foreign_keys": "1",
			"busy_timeout": "5000",
			"synchronous":  "1",
		} {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatalf("PRAGMA %s: %v", pragma, err)
			}
			if !strings.EqualFold(got, want) {
				t.Errorf("PRAGMA %s = %q, want %q", pragma, got, want)
			}
		}
	}
	for _, c := range conns {
		c.Close()
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		driver, dsn string
		want        string // substring of the error
		unavailable bool
	}{
		0: {driver: "mysql", dsn: "x", want: `storage: unknown driver "mysql"`},
		1: {driver: "sqlite", dsn: "", want: "storage: open sqlite : empty path"},
		2: {driver: "sqlite", dsn: "/tmp/x?mode=ro", want: "must not contain '?'"},
		3: {
			driver:      "postgres",
			dsn:         "postgres://u:hunter2@127.0.0.1:1/db?sslmode=disable&connect_timeout=2",
			want:        "storage: open postgres postgres://u:xxxxx@127.0.0.1:1/db: ",
			unavailable: true,
		},
	}
	for i, tc := range tests {
		db, err := storage.Open(ctx, tc.driver, tc.dsn, 0)
		if err == nil {
			db.Close()
			t.Errorf("%d: Open(%q, %q) succeeded", i, tc.driver, tc.dsn)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%d: error %q does not contain %q", i, err, tc.want)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%d: error %q leaks the password", i, err)
		}
		if got := errors.Is(err, storage.ErrUnavailable); got != tc.unavailable {
			t.Errorf("%d: errors.Is(%q, ErrUnavailable) = %v, want %v", i, err, got, tc.unavailable)
		}
	}
}

func TestMapErr(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		if db.MapErr(nil) != nil {
			t.Fatal("MapErr(nil) != nil")
		}
		if _, err := db.SQL.ExecContext(ctx, "CREATE TABLE m (k TEXT PRIMARY KEY, u TEXT UNIQUE)"); err != nil {
			t.Fatal(err)
		}
		ins := db.Rebind("INSERT INTO m (k, u) VALUES (?, ?)")
		if _, err := db.SQL.ExecContext(ctx, ins, "a", "x"); err != nil {
			t.Fatal(err)
		}
		_, err := db.SQL.ExecContext(ctx, ins, "a", "y")
		if err = db.MapErr(err); !errors.Is(err, storage.ErrConflict) {
			t.Errorf("duplicate primary key: got %v, want ErrConflict", err)
		}
		_, err = db.SQL.ExecContext(ctx, ins, "b", "x")
		if err = db.MapErr(err); !errors.Is(err, storage.ErrConflict) {
			t.Errorf("duplicate unique column: got %v, want ErrConflict", err)
		}
		var s string
		err = db.SQL.QueryRowContext(ctx, db.Rebind("SELECT u FROM m WHERE k = ?"), "zz").Scan(&s)
		if err = db.MapErr(err); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("no rows: got %v, want ErrNotFound", err)
		}
		_, err = db.SQL.ExecContext(ctx, "SELECT * FROM no_such_table")
		if err = db.MapErr(err); err == nil ||
			errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrUnavailable) {
			t.Errorf("syntax/semantic error: got %v, want it unclassified", err)
		}
		// Mapping twice changes nothing.
		e1 := db.MapErr(sqlErrNoRows(t, db))
		if e2 := db.MapErr(e1); e2 != e1 {
			t.Errorf("MapErr is not idempotent: %v then %v", e1, e2)
		}
	})
}

func sqlErrNoRows(t *testing.T, db *storage.DB) error {
	t.Helper()
	var n int
	return db.SQL.QueryRowContext(context.Background(), "SELECT 1 WHERE 1 = 0").Scan(&n)
}

func TestInTx(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		if _, err := db.SQL.ExecContext(ctx, "CREATE TABLE x (k INTEGER PRIMARY KEY)"); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, "INSERT INTO x (k) VALUES (1)"); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v, want boom", err)
		}
		func() {
			defer func() { _ = recover() }()
			_ = db.InTx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, "INSERT INTO x (k) VALUES (2)"); err != nil {
					return err
				}
				panic("boom")
			})
		}()
		if err := db.InTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO x (k) VALUES (3)")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		var n, sum int
		if err := db.SQL.QueryRowContext(ctx, "SELECT count(*), sum(k) FROM x").Scan(&n, &sum); err != nil {
			t.Fatal(err)
		}
		if n != 1 || sum != 3 {
			t.Errorf("after rollback, rollback on panic, commit: %d rows summing to %d, want only row 3", n, sum)
		}
	})
}
