package storage

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// Migration is one versioned schema step owned by a component ("auth",
// "roster", ...). Versions count from 1 within each component, so adding a
// component never renumbers another's. A migration holds the SQL for each
// dialect; it may be several statements. It runs in one transaction with
// the row that records it, so it applies entirely or not at all.
//
// Migrations only move forward: there is no down step. A released
// migration is never edited; a change is a new version.
type Migration struct {
	Component string
	Version   int
	Name      string
	SQLite    string
	Postgres  string
}

func (m Migration) String() string {
	return fmt.Sprintf("%s v%d (%s)", m.Component, m.Version, m.Name)
}

func (m Migration) sql(d Dialect) string {
	if d == Postgres {
		return m.Postgres
	}
	return m.SQLite
}

// SchemaTooNewError is returned when the database holds a migration of a
// component newer than any this binary knows: running on it could corrupt
// data a newer Parley wrote. errors.Is(err, ErrSchemaTooNew) reports it.
type SchemaTooNewError struct {
	Component string
	Database  int // highest version applied in the database
	Known     int // highest version this binary knows
}

func (e *SchemaTooNewError) Error() string {
	return fmt.Sprintf("storage: database schema %s v%d is newer than this binary (knows v%d); upgrade parley",
		e.Component, e.Database, e.Known)
}

// Is makes errors.Is(err, ErrSchemaTooNew) true.
func (e *SchemaTooNewError) Is(target error) bool { return target == ErrSchemaTooNew }

const migrationsTableSQLite = `CREATE TABLE IF NOT EXISTS parley_migrations (
	component  TEXT    NOT NULL,
	version    INTEGER NOT NULL,
	name       TEXT    NOT NULL,
	applied_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
	PRIMARY KEY (component, version)
)`

const migrationsTablePostgres = `CREATE TABLE IF NOT EXISTS parley_migrations (
	component  TEXT        NOT NULL,
	version    INTEGER     NOT NULL,
	name       TEXT        NOT NULL,
	applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
	PRIMARY KEY (component, version)
)`

// migrateLockKey is the PostgreSQL advisory lock that serializes migrations
// when several nodes start at once ("parley" in ASCII).
const migrateLockKey = 0x7061726c6579

// Migrate applies each migration of ms that the database has not recorded,
// in (component, version) order, each in its own transaction. Applying the
// same list again does nothing. If the database records a version of a
// component in ms newer than the newest in ms, Migrate applies nothing and
// returns a *SchemaTooNewError. Components absent from ms are ignored: their
// tables stay as they are.
//
// On PostgreSQL an advisory lock serializes concurrent Migrate calls, so
// nodes of a cluster can all run it at start.
//
// Migrations are not bounded by the query timeout (Options.QueryTimeout):
// one may rebuild a large table. ctx bounds them.
func (db *DB) Migrate(ctx context.Context, ms []Migration) error {
	plan, err := db.plan(ms)
	if err != nil {
		return err
	}
	defer db.unbounded()()
	if err := db.InTx(ctx, func(tx *sql.Tx) error {
		if err := db.lockMigrations(ctx, tx); err != nil {
			return err
		}
		q := migrationsTableSQLite
		if db.Dialect == Postgres {
			q = migrationsTablePostgres
		}
		_, err := tx.ExecContext(ctx, q)
		return db.MapErr(err)
	}); err != nil {
		return fmt.Errorf("storage: create parley_migrations: %w", err)
	}
	pending, err := db.pending(ctx, plan, true)
	if err != nil {
		return err
	}
	for _, m := range pending {
		if err := db.apply(ctx, m); err != nil {
			return fmt.Errorf("storage: migrate %s: %w", m, err)
		}
	}
	return nil
}

// Pending returns the migrations of ms that Migrate would apply, in order,
// without changing the database (for `parley ctl migrate --dry-run`). It
// returns a *SchemaTooNewError as Migrate would.
func (db *DB) Pending(ctx context.Context, ms []Migration) ([]Migration, error) {
	plan, err := db.plan(ms)
	if err != nil {
		return nil, err
	}
	exists, err := db.migrationsTableExists(ctx)
	if err != nil {
		return nil, err
	}
	return db.pending(ctx, plan, exists)
}

// plan checks ms and returns a copy sorted by (component, version).
func (db *DB) plan(ms []Migration) ([]Migration, error) {
	plan := slices.Clone(ms)
	slices.SortFunc(plan, func(a, b Migration) int {
		if c := strings.Compare(a.Component, b.Component); c != 0 {
			return c
		}
		return a.Version - b.Version
	})
	for i, m := range plan {
		switch {
		case m.Component == "":
			return nil, fmt.Errorf("storage: migration %q has no component", m.Name)
		case m.Version < 1:
			return nil, fmt.Errorf("storage: migration %s: version must be >= 1", m)
		case strings.TrimSpace(m.sql(db.Dialect)) == "":
			return nil, fmt.Errorf("storage: migration %s: no SQL for %s", m, db.Dialect)
		case i > 0 && plan[i-1].Component == m.Component && plan[i-1].Version == m.Version:
			return nil, fmt.Errorf("storage: migration %s: version given twice", m)
		}
	}
	return plan, nil
}

// pending returns the migrations of the sorted plan not yet applied, after
// checking that no component's schema is newer than the plan knows.
func (db *DB) pending(ctx context.Context, plan []Migration, tableExists bool) ([]Migration, error) {
	applied := map[string]map[int]bool{}
	if tableExists {
		rows, err := db.SQL.QueryContext(ctx, "SELECT component, version FROM parley_migrations")
		if err != nil {
			return nil, fmt.Errorf("storage: read parley_migrations: %w", db.MapErr(err))
		}
		defer rows.Close()
		for rows.Next() {
			var c string
			var v int
			if err := rows.Scan(&c, &v); err != nil {
				return nil, fmt.Errorf("storage: read parley_migrations: %w", db.MapErr(err))
			}
			if applied[c] == nil {
				applied[c] = map[int]bool{}
			}
			applied[c][v] = true
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("storage: read parley_migrations: %w", db.MapErr(err))
		}
	}
	known := map[string]int{}
	var components []string // in plan order, so the error is deterministic
	for _, m := range plan {
		if _, ok := known[m.Component]; !ok {
			components = append(components, m.Component)
		}
		known[m.Component] = max(known[m.Component], m.Version)
	}
	for _, c := range components {
		newest := 0
		for v := range applied[c] {
			newest = max(newest, v)
		}
		if newest > known[c] {
			return nil, &SchemaTooNewError{Component: c, Database: newest, Known: known[c]}
		}
	}
	var out []Migration
	for _, m := range plan {
		if !applied[m.Component][m.Version] {
			out = append(out, m)
		}
	}
	return out, nil
}

func (db *DB) apply(ctx context.Context, m Migration) error {
	return db.InTx(ctx, func(tx *sql.Tx) error {
		if err := db.lockMigrations(ctx, tx); err != nil {
			return err
		}
		// Another node may have applied it while we waited for the lock.
		var n int
		err := tx.QueryRowContext(ctx, db.Rebind(
			"SELECT count(*) FROM parley_migrations WHERE component = ? AND version = ?"),
			m.Component, m.Version).Scan(&n)
		if err != nil {
			return db.MapErr(err)
		}
		if n > 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, m.sql(db.Dialect)); err != nil {
			return db.MapErr(err)
		}
		_, err = tx.ExecContext(ctx, db.Rebind(
			"INSERT INTO parley_migrations (component, version, name) VALUES (?, ?, ?)"),
			m.Component, m.Version, m.Name)
		return db.MapErr(err)
	})
}

// lockMigrations takes the cluster-wide migration lock until tx ends. SQLite
// needs none: its transactions begin IMMEDIATE and so already exclude each
// other.
func (db *DB) lockMigrations(ctx context.Context, tx *sql.Tx) error {
	if db.Dialect != Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrateLockKey))
	return db.MapErr(err)
}

func (db *DB) migrationsTableExists(ctx context.Context) (bool, error) {
	var q string
	switch db.Dialect {
	case Postgres:
		// to_regclass resolves the name through search_path, as queries do.
		q = "SELECT to_regclass('parley_migrations') IS NOT NULL"
	default:
		q = "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'parley_migrations'"
	}
	var ok bool
	if err := db.SQL.QueryRowContext(ctx, q).Scan(&ok); err != nil {
		return false, fmt.Errorf("storage: read parley_migrations: %w", db.MapErr(err))
	}
	return ok, nil
}
