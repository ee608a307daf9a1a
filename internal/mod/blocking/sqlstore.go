package blocking

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"slices"
	"strings"

	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/storage"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// Migrations creates and updates the blocklist table: one migration per
// migrations/<dialect>/NNN_name.sql pair, component "blocking".
var Migrations = storage.MustLoadMigrations("blocking", migrationFiles)

// SQLStore is the Store on a storage.DB migrated with Migrations.
type SQLStore struct {
	db *storage.DB

	qList, qInsert, qCount, qDelete, qDeleteAll string
}

var _ Store = (*SQLStore)(nil)

// NewSQLStore returns the blocklist store on db.
func NewSQLStore(db *storage.DB) *SQLStore {
	r := db.Rebind
	const user = ` WHERE host = ? AND username = ?`
	return &SQLStore{
		db:    db,
		qList: r(`SELECT blocked FROM blocklist` + user),
		qInsert: r(`INSERT INTO blocklist (host, username, blocked) VALUES (?, ?, ?)
			ON CONFLICT (host, username, blocked) DO NOTHING`),
		qCount:     r(`SELECT count(*) FROM blocklist` + user),
		qDelete:    r(`DELETE FROM blocklist` + user + ` AND blocked = ?`),
		qDeleteAll: r(`DELETE FROM blocklist` + user + ` RETURNING blocked`),
	}
}

// key returns the (host, username) a user's rows are stored under.
func key(user jid.JID) (string, string) { return user.Domain(), user.Local() }

// sortJIDs sorts by string form (in Go: PostgreSQL's ORDER BY follows the
// database's collation).
func sortJIDs(js []jid.JID) {
	slices.SortFunc(js, func(a, b jid.JID) int { return strings.Compare(a.String(), b.String()) })
}

// scanJIDs reads a column of stored JIDs.
func (s *SQLStore) scanJIDs(rows *sql.Rows) ([]jid.JID, error) {
	defer rows.Close()
	var out []jid.JID
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, s.db.MapErr(err)
		}
		j, err := jid.Parse(v)
		if err != nil {
			return nil, fmt.Errorf("blocking: stored jid %q: %w", v, err)
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, s.db.MapErr(err)
	}
	sortJIDs(out)
	return out, nil
}

// List implements Store.
func (s *SQLStore) List(ctx context.Context, user jid.JID) ([]jid.JID, error) {
	host, name := key(user)
	rows, err := s.db.SQL.QueryContext(ctx, s.qList, host, name)
	if err != nil {
		return nil, fmt.Errorf("blocking: list of %s: %w", user, s.db.MapErr(err))
	}
	out, err := s.scanJIDs(rows)
	if err != nil {
		return nil, fmt.Errorf("blocking: list of %s: %w", user, err)
	}
	return out, nil
}

// affected runs q in tx and reports whether it changed a row.
func (s *SQLStore) affected(ctx context.Context, tx *sql.Tx, q string, args ...any) (bool, error) {
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return false, s.db.MapErr(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, s.db.MapErr(err)
	}
	return n > 0, nil
}

// Block implements Store.
func (s *SQLStore) Block(ctx context.Context, user jid.JID, items []jid.JID, limit int) ([]jid.JID, error) {
	host, name := key(user)
	var added []jid.JID
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		added = added[:0]
		for _, it := range items {
			ok, err := s.affected(ctx, tx, s.qInsert, host, name, it.String())
			if err != nil {
				return err
			}
			if ok {
				added = append(added, it)
			}
		}
		if len(added) == 0 {
			return nil
		}
		var n int
		if err := tx.QueryRowContext(ctx, s.qCount, host, name).Scan(&n); err != nil {
			return s.db.MapErr(err)
		}
		if n > limit {
			return ErrFull // rolls the inserts back
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("blocking: block for %s: %w", user, err)
	}
	return added, nil
}

// Unblock implements Store.
func (s *SQLStore) Unblock(ctx context.Context, user jid.JID, items []jid.JID) ([]jid.JID, error) {
	host, name := key(user)
	var removed []jid.JID
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		removed = removed[:0]
		for _, it := range items {
			ok, err := s.affected(ctx, tx, s.qDelete, host, name, it.String())
			if err != nil {
				return err
			}
			if ok {
				removed = append(removed, it)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("blocking: unblock for %s: %w", user, err)
	}
	return removed, nil
}

// UnblockAll implements Store. One statement, so that a row written
// concurrently is either deleted and returned or left in place.
func (s *SQLStore) UnblockAll(ctx context.Context, user jid.JID) ([]jid.JID, error) {
	host, name := key(user)
	rows, err := s.db.SQL.QueryContext(ctx, s.qDeleteAll, host, name)
	if err != nil {
		return nil, fmt.Errorf("blocking: unblock all for %s: %w", user, s.db.MapErr(err))
	}
	out, err := s.scanJIDs(rows)
	if err != nil {
		return nil, fmt.Errorf("blocking: unblock all for %s: %w", user, err)
	}
	return out, nil
}
