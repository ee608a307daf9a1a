// Package storage holds the database handle that every SQL store in Parley
// shares, for the two backends Parley supports: SQLite (modernc.org/sqlite,
// pure Go, the embedded default) and PostgreSQL (pgx).
//
// Storage owns no feature schema. Each component ships its own versioned
// migrations (see [Migration], [LoadMigrations]) and its own store beside
// its code; storage records which migrations ran, in the table
// parley_migrations. Stores write one query text with '?' placeholders and
// pass it through [DB.Rebind], and classify driver errors with [DB.MapErr]
// so callers see [ErrNotFound], [ErrConflict] and [ErrUnavailable] rather
// than driver types.
//
// Simple features need no tables of their own: [KV] is the generic
// per-user key-value store, on a table created by storage's own
// [Migrations].
//
// Not implemented here (yet): the generic Map and Archive stores.
package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
)

// Dialect is the SQL dialect of a [DB].
type Dialect int

// The dialects Parley supports. The zero value is not a valid dialect.
const (
	SQLite Dialect = iota + 1
	Postgres
)

// String returns the name used in configuration: "sqlite" or "postgres".
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return fmt.Sprintf("Dialect(%d)", int(d))
}

// Defaults for the connection pool when Open is given maxConns <= 0.
const (
	// defaultSQLiteConns allows a few concurrent readers; WAL mode lets
	// readers run beside the single writer, and writers wait for each other
	// through busy_timeout, so more connections buy nothing.
	defaultSQLiteConns = 4
	// defaultPostgresConns is per process; a cluster of nodes multiplies it.
	defaultPostgresConns = 16

	pingTimeout = 10 * time.Second

	// DefaultQueryTimeout bounds one round trip to a PostgreSQL server
	// when Options.QueryTimeout is zero.
	DefaultQueryTimeout = 10 * time.Second
)

// Options tunes the connection pool of [OpenWith].
type Options struct {
	// MaxConns caps the pool; <= 0 picks a default for the backend.
	MaxConns int
	// QueryTimeout bounds each exchange with a PostgreSQL server: from
	// sending a request (a query, a connection's startup, a ping) to
	// receiving the whole of its answer; it bounds the dial as well. A
	// server that stops answering without closing the connection (a
	// network partition, a hung host) makes the operation fail with
	// ErrUnavailable after this long instead of holding its caller; the
	// connection is then discarded. <= 0 means DefaultQueryTimeout.
	// SQLite ignores it: its waits are bounded by busy_timeout.
	QueryTimeout time.Duration
}

// sqlitePragmas are applied by the driver to every new connection.
// _txlock=immediate makes BEGIN take the write lock at once, so two
// transactions that read then write cannot deadlock on the lock upgrade
// (which busy_timeout does not resolve). Each connection has a page cache
// of its own, 2 MiB by default: with the pool's 16 connections, 32 MiB of
// copies of the same pages, which the system's page cache holds anyway.
// A server reads accounts at random (logins, rosters), so a larger cache
// hits little more often; 256 KiB a connection keeps the upper levels of
// the B-trees and cost no measurable login rate, and saved about 1.2 KiB
// a session at 5,000 idle sessions (docs/benchmarks.md).
var sqlitePragmas = url.Values{
	"_pragma": {
		"busy_timeout(5000)",
		"journal_mode(WAL)",
		"foreign_keys(ON)",
		"synchronous(NORMAL)",
		"cache_size(-256)",
	},
	"_txlock": {"immediate"},
}

// DB is an open database: the pool, its dialect, and the helpers stores use.
// It is safe for concurrent use.
type DB struct {
	// SQL is the connection pool. Stores use it directly with queries
	// passed through Rebind.
	SQL *sql.DB
	// Dialect says which SQL dialect SQL speaks.
	Dialect Dialect

	// where names the database in error messages, without secrets.
	where string
	// bound is the query timeout of PostgreSQL connections; nil for
	// SQLite.
	bound *queryBound
}

// unbounded lifts the query timeout until the returned function is called:
// a migration may rewrite a large table, which takes as long as it takes.
// Only Migrate uses it, before the server serves anyone.
func (db *DB) unbounded() (restore func()) {
	if db.bound == nil {
		return func() {}
	}
	db.bound.migrating.Add(1)
	return func() { db.bound.migrating.Add(-1) }
}

// Open opens and pings a database. driver is "sqlite" or "postgres"
// (also "postgresql"). For SQLite, dsn is a file path (its parent directory
// is created) or ":memory:"; for PostgreSQL it is a pgx connection string,
// URL or keyword/value form. maxConns caps the pool; <= 0 picks a default
// for the backend.
func Open(ctx context.Context, driver, dsn string, maxConns int) (*DB, error) {
	return OpenWith(ctx, driver, dsn, Options{MaxConns: maxConns})
}

// OpenWith is Open with the pool options o.
func OpenWith(ctx context.Context, driver, dsn string, o Options) (*DB, error) {
	switch driver {
	case "sqlite":
		return openSQLite(ctx, dsn, o.MaxConns)
	case "postgres", "postgresql":
		return openPostgres(ctx, dsn, o)
	}
	return nil, fmt.Errorf("storage: unknown driver %q (want sqlite or postgres)", driver)
}

func openSQLite(ctx context.Context, path string, maxConns int) (*DB, error) {
	fail := func(err error) (*DB, error) {
		return nil, fmt.Errorf("storage: open sqlite %s: %w", path, err)
	}
	if path == "" {
		return fail(errors.New("empty path"))
	}
	// The driver splits its parameters off at the first '?'; a path holding
	// one would be cut short.
	if strings.Contains(path, "?") {
		return fail(errors.New("path must not contain '?'"))
	}
	memory := path == ":memory:"
	if !memory {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return fail(err)
		}
		// Create the file ourselves so that it, and the -wal and -shm files
		// SQLite derives their mode from, are private: it holds credentials.
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return fail(err)
		}
		if err := f.Close(); err != nil {
			return fail(err)
		}
	}
	conn, err := sqlite.NewConnector(path + "?" + sqlitePragmas.Encode())
	if err != nil {
		return fail(err)
	}
	sdb := sql.OpenDB(stmtCacheConnector{conn})
	if maxConns <= 0 {
		maxConns = defaultSQLiteConns
	}
	if memory {
		// Each connection to ":memory:" is its own database.
		maxConns = 1
	}
	sdb.SetMaxOpenConns(maxConns)
	sdb.SetMaxIdleConns(maxConns)
	sdb.SetConnMaxIdleTime(0)
	sdb.SetConnMaxLifetime(0)
	db := &DB{SQL: sdb, Dialect: SQLite, where: "sqlite " + path}
	if err := db.ping(ctx); err != nil {
		sdb.Close()
		return fail(err)
	}
	return db, nil
}

func openPostgres(ctx context.Context, dsn string, o Options) (*DB, error) {
	where := "postgres " + redact(dsn)
	fail := func(err error) (*DB, error) {
		return nil, fmt.Errorf("storage: open %s: %w", where, err)
	}
	pc, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fail(err)
	}
	timeout := o.QueryTimeout
	if timeout <= 0 {
		timeout = DefaultQueryTimeout
	}
	if pc.ConnectTimeout <= 0 || pc.ConnectTimeout > timeout {
		pc.ConnectTimeout = timeout
	}
	bound := &queryBound{timeout: timeout}
	pc.DialFunc = bound.dialer(pc.DialFunc)
	// Fallbacks (other hosts of a multi-host DSN) dial through DialFunc too.
	sdb := stdlib.OpenDB(*pc)
	maxConns := o.MaxConns
	if maxConns <= 0 {
		maxConns = defaultPostgresConns
	}
	sdb.SetMaxOpenConns(maxConns)
	sdb.SetMaxIdleConns(maxConns)
	sdb.SetConnMaxIdleTime(5 * time.Minute)
	sdb.SetConnMaxLifetime(time.Hour)
	db := &DB{SQL: sdb, Dialect: Postgres, where: where, bound: bound}
	if err := db.ping(ctx); err != nil {
		sdb.Close()
		return fail(err)
	}
	return db, nil
}

func (db *DB) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	return db.MapErr(db.SQL.PingContext(ctx))
}

// redact returns a PostgreSQL DSN fit for error messages: a URL without its
// password, or just "(dsn)" for the keyword/value form, which may hold one
// anywhere.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.RawQuery = ""
		return u.Redacted()
	}
	return "(dsn)"
}

// String names the database without secrets, for logs.
func (db *DB) String() string { return db.where }

// Close closes the pool.
func (db *DB) Close() error {
	if err := db.SQL.Close(); err != nil {
		return fmt.Errorf("storage: close %s: %w", db.where, err)
	}
	return nil
}

// InTx runs fn in a transaction and commits it if fn returns nil; otherwise
// (or if fn panics) it rolls back. The error returned is fn's, or the
// commit's passed through MapErr.
func (db *DB) InTx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return db.MapErr(err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback()
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	committed = true
	return db.MapErr(tx.Commit())
}

// Rebind rewrites the '?' placeholders of q for the dialect: unchanged for
// SQLite, $1..$n for PostgreSQL, so that a store writes each query once.
// Question marks inside quoted strings, quoted identifiers and comments are
// left alone. PostgreSQL's '?' operators (jsonb) cannot be used in q.
func (db *DB) Rebind(q string) string {
	if db.Dialect != Postgres {
		return q
	}
	return rebindDollar(q)
}

func rebindDollar(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'' || c == '"':
			// Copy the quoted run; a doubled quote inside reopens the run,
			// which this loop handles by seeing the next quote again.
			j := strings.IndexByte(q[i+1:], c)
			if j < 0 {
				b.WriteString(q[i:])
				return b.String()
			}
			b.WriteString(q[i : i+j+2])
			i += j + 1
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				b.WriteString(q[i:])
				return b.String()
			}
			b.WriteString(q[i : i+j+1])
			i += j
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			j := strings.Index(q[i+2:], "*/")
			if j < 0 {
				b.WriteString(q[i:])
				return b.String()
			}
			b.WriteString(q[i : i+j+4])
			i += j + 3
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
