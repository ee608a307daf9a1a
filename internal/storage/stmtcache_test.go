package storage_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/parleyim/parley/internal/storage"
)

// The SQLite connections keep their prepared statements: the same SQL run
// again, with other arguments, after writes, nested in the loop over its
// own rows, after a schema change, or past the cache's bound still gives
// the right answers, and bad SQL still gives an error.
func TestSQLiteStatementCache(t *testing.T) {
	ctx := context.Background()
	db, err := storage.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "cache.db"), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.SQL.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)`)
	const insert = `INSERT INTO t (k, v) VALUES (?, ?)`
	for i := range 10 {
		exec(insert, i, fmt.Sprint("v", i))
	}
	const get = `SELECT v FROM t WHERE k = ?`
	for i := range 10 {
		var v string
		if err := db.SQL.QueryRowContext(ctx, get, i).Scan(&v); err != nil || v != fmt.Sprint("v", i) {
			t.Fatalf("row %d: %q, %v", i, v, err)
		}
	}
	exec(`UPDATE t SET v = ? WHERE k = ?`, "changed", 3)
	var v string
	if err := db.SQL.QueryRowContext(ctx, get, 3).Scan(&v); err != nil || v != "changed" {
		t.Fatalf("after update: %q, %v", v, err)
	}

	// The same query inside the loop over its own rows, on the one
	// connection there is (in a transaction).
	const all = `SELECT k FROM t ORDER BY k`
	err = func() error {
		tx, err := db.SQL.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		rows, err := tx.QueryContext(ctx, all)
		if err != nil {
			return err
		}
		defer rows.Close()
		outer := 0
		for rows.Next() {
			inner, err := count(ctx, tx, all)
			if err != nil {
				return fmt.Errorf("nested: %w", err)
			}
			if inner != 10 {
				return fmt.Errorf("nested query saw %d rows, want 10", inner)
			}
			outer++
		}
		if outer != 10 {
			return fmt.Errorf("outer loop saw %d rows, want 10", outer)
		}
		return rows.Err()
	}()
	if err != nil {
		t.Fatal(err)
	}
	if n, err := count(ctx, db.SQL, all); err != nil || n != 10 {
		t.Fatalf("after the nested loop: %d, %v", n, err)
	}

	// A schema change under a kept statement.
	const star = `SELECT * FROM t WHERE k = 1`
	cols := func() int {
		t.Helper()
		rows, err := db.SQL.QueryContext(ctx, star)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		c, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		return len(c)
	}
	if n := cols(); n != 2 {
		t.Fatalf("%d columns, want 2", n)
	}
	exec(`ALTER TABLE t ADD COLUMN w TEXT`)
	if n := cols(); n != 3 {
		t.Fatalf("after ALTER TABLE: %d columns, want 3", n)
	}

	// More distinct statements than the cache keeps.
	for i := range 300 {
		var n int
		if err := db.SQL.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) + %d FROM t`, i)).Scan(&n); err != nil || n != 10+i {
			t.Fatalf("statement %d: %d, %v", i, n, err)
		}
	}

	// Bad SQL is an error, twice.
	for range 2 {
		if _, err := db.SQL.ExecContext(ctx, `SELEKT 1`); err == nil {
			t.Fatal("bad SQL accepted")
		}
	}
}

type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func count(ctx context.Context, db querier, q string) (int, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	return n, rows.Err()
}
