package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The errors stores return, whatever the backend. Test with errors.Is; the
// error returned usually wraps the driver's error as well.
var (
	// ErrNotFound: the row asked for does not exist.
	ErrNotFound = errors.New("storage: not found")
	// ErrConflict: a row with the same key exists (a unique constraint).
	ErrConflict = errors.New("storage: conflict")
	// ErrUnavailable: the database cannot be reached or is too busy; the
	// operation may succeed if retried later.
	ErrUnavailable = errors.New("storage: unavailable")
	// ErrSchemaTooNew: the database was migrated by a newer Parley. The
	// error Migrate returns is a *SchemaTooNewError.
	ErrSchemaTooNew = errors.New("storage: database schema is newer than this binary")
)

// classified is a driver error tagged with the sentinel it maps to. Its
// message is the driver's; errors.Is matches both.
type classified struct {
	kind error
	err  error
}

func (e *classified) Error() string   { return e.err.Error() }
func (e *classified) Unwrap() []error { return []error{e.kind, e.err} }

// MapErr classifies a driver error: sql.ErrNoRows becomes ErrNotFound, a
// unique or primary key violation ErrConflict, and a failure to reach or
// use the server in time (connection refused or lost, no answer within
// the query timeout or the caller's deadline, SQLite busy past
// busy_timeout, disk full) ErrUnavailable. The result wraps err, so its
// message and its driver type stay available. Other errors, and nil, are
// returned unchanged.
func (db *DB) MapErr(err error) error { return mapErr(err) }

func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || errors.Is(err, ErrUnavailable) {
		return err
	}
	if kind := classify(err); kind != nil {
		return &classified{kind: kind, err: err}
	}
	return err
}

func classify(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if errors.Is(err, context.Canceled) {
		// The caller gave up; the database may be fine.
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) {
		// The database did not answer within the time the caller allowed.
		return ErrUnavailable
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		code := se.Code()
		switch code {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return ErrConflict
		}
		switch code & 0xff { // primary result code
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN,
			sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY:
			return ErrUnavailable
		}
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505": // unique_violation
			return ErrConflict
		case strings.HasPrefix(pe.Code, "08"), // connection_exception
			strings.HasPrefix(pe.Code, "53"),                           // insufficient_resources
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03": // shutdown, cannot_connect_now
			return ErrUnavailable
		}
		return nil
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrUnavailable
	}
	return nil
}
