package offline

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"slices"
	"time"

	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/storage"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// Migrations creates and updates the offline tables: one migration per
// migrations/<dialect>/NNN_name.sql pair, component "offline".
var Migrations = storage.MustLoadMigrations("offline", migrationFiles)

// SQLStore is the Store on a storage.DB migrated with Migrations.
type SQLStore struct {
	db *storage.DB

	qCountUp, qLock, qInsert, qTake, qCountDown, qCountDrop, qCount string
	qCountAdd, qRestore, qDeleteMessages, qDeleteCount, qList       string
}

var _ Store = (*SQLStore)(nil)

// NewSQLStore returns the offline store on db.
func NewSQLStore(db *storage.DB) *SQLStore {
	r := db.Rebind
	const user = ` WHERE host = ? AND username = ?`
	// PostgreSQL takes an id for a GENERATED ALWAYS column only when told
	// to; SQLite takes it as it is.
	overriding := ""
	if db.Dialect == storage.Postgres {
		overriding = ` OVERRIDING SYSTEM VALUE`
	}
	return &SQLStore{
		db: db,
		// Every write takes the user's count row first: on PostgreSQL its
		// row lock orders the writers of one user (SQLite transactions
		// exclude each other anyway), so the quota is exact, ids follow
		// commits, and two writers never wait for each other's rows in
		// opposite orders.
		qCountUp: r(`INSERT INTO offline_counts (host, username, n) VALUES (?, ?, 1)
			ON CONFLICT (host, username) DO UPDATE SET n = offline_counts.n + 1
			RETURNING n`),
		qLock:   r(`UPDATE offline_counts SET n = n` + user),
		qInsert: r(`INSERT INTO offline_messages (host, username, stored, stanza) VALUES (?, ?, ?, ?) RETURNING id`),
		// A DELETE returns only the rows it removed, so no message is
		// returned twice even without the lock above.
		qTake: r(`DELETE FROM offline_messages WHERE id IN
			(SELECT id FROM offline_messages` + user + ` ORDER BY id LIMIT ?)
			RETURNING id, stored, stanza`),
		qCountAdd: r(`INSERT INTO offline_counts (host, username, n) VALUES (?, ?, ?)
			ON CONFLICT (host, username) DO UPDATE SET n = offline_counts.n + excluded.n`),
		qRestore: r(`INSERT INTO offline_messages (id, host, username, stored, stanza)` +
			overriding + ` VALUES (?, ?, ?, ?, ?)`),
		qCountDown:      r(`UPDATE offline_counts SET n = n - ?` + user),
		qCountDrop:      r(`DELETE FROM offline_counts` + user + ` AND n <= 0`),
		qCount:          r(`SELECT n FROM offline_counts` + user),
		qDeleteMessages: r(`DELETE FROM offline_messages` + user),
		qDeleteCount:    r(`DELETE FROM offline_counts` + user),
		qList:           r(`SELECT id, stored, stanza FROM offline_messages` + user + ` ORDER BY id`),
	}
}

// key returns the (host, username) a user's rows are stored under.
func key(user jid.JID) (string, string) { return user.Domain(), user.Local() }

// Put implements Store.
func (s *SQLStore) Put(ctx context.Context, user jid.JID, m Message, limit int) (int64, error) {
	host, name := key(user)
	var id int64
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.qCountUp, host, name).Scan(&n); err != nil {
			return s.db.MapErr(err)
		}
		if limit > 0 && n > limit {
			return ErrFull // rolls the count back
		}
		err := tx.QueryRowContext(ctx, s.qInsert, host, name, m.Stored.UnixMicro(), m.Stanza).Scan(&id)
		return s.db.MapErr(err)
	})
	if err != nil {
		return 0, err
	}
	return id, nil
}

// Take implements Store.
func (s *SQLStore) Take(ctx context.Context, user jid.JID, n int) ([]Message, error) {
	if n <= 0 {
		return nil, nil
	}
	// Most available presences find nothing stored: a plain read of the
	// count row answers them without a write transaction, which on SQLite
	// would queue behind every other writer of the server. A message
	// stored just after this read waits for the next available presence,
	// as it would had it been stored just after the transaction below.
	switch stored, err := s.Count(ctx, user); {
	case err != nil:
		return nil, err
	case stored == 0:
		return nil, nil
	}
	host, name := key(user)
	var out []Message
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		if _, err := tx.ExecContext(ctx, s.qLock, host, name); err != nil {
			return s.db.MapErr(err)
		}
		rows, err := tx.QueryContext(ctx, s.qTake, host, name, n)
		if err != nil {
			return s.db.MapErr(err)
		}
		defer rows.Close()
		for rows.Next() {
			var m Message
			var us int64
			if err := rows.Scan(&m.ID, &us, &m.Stanza); err != nil {
				return s.db.MapErr(err)
			}
			m.Stored = time.UnixMicro(us).UTC()
			out = append(out, m)
		}
		if err := rows.Err(); err != nil {
			return s.db.MapErr(err)
		}
		rows.Close()
		if len(out) == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, s.qCountDown, len(out), host, name); err != nil {
			return s.db.MapErr(err)
		}
		_, err = tx.ExecContext(ctx, s.qCountDrop, host, name)
		return s.db.MapErr(err)
	})
	if err != nil {
		return nil, err
	}
	// RETURNING follows no order.
	slices.SortFunc(out, func(a, b Message) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out, nil
}

// Restore implements Store.
func (s *SQLStore) Restore(ctx context.Context, user jid.JID, ms []Message) error {
	if len(ms) == 0 {
		return nil
	}
	host, name := key(user)
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		// The count row first, as every writer does.
		if _, err := tx.ExecContext(ctx, s.qCountAdd, host, name, len(ms)); err != nil {
			return s.db.MapErr(err)
		}
		for _, m := range ms {
			if _, err := tx.ExecContext(ctx, s.qRestore, m.ID, host, name, m.Stored.UnixMicro(), m.Stanza); err != nil {
				return s.db.MapErr(err)
			}
		}
		return nil
	})
}

// Count implements Store.
func (s *SQLStore) Count(ctx context.Context, user jid.JID) (int, error) {
	host, name := key(user)
	var n int
	err := s.db.SQL.QueryRowContext(ctx, s.qCount, host, name).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, s.db.MapErr(err)
	}
	return n, nil
}

// DeleteUser implements Store.
func (s *SQLStore) DeleteUser(ctx context.Context, user jid.JID) error {
	host, name := key(user)
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{s.qDeleteCount, s.qDeleteMessages} {
			if _, err := tx.ExecContext(ctx, q, host, name); err != nil {
				return s.db.MapErr(err)
			}
		}
		return nil
	})
}

// List implements Store.
func (s *SQLStore) List(ctx context.Context, user jid.JID) ([]Message, error) {
	host, name := key(user)
	rows, err := s.db.SQL.QueryContext(ctx, s.qList, host, name)
	if err != nil {
		return nil, s.db.MapErr(err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		var m Message
		var us int64
		if err := rows.Scan(&m.ID, &us, &m.Stanza); err != nil {
			return nil, s.db.MapErr(err)
		}
		m.Stored = time.UnixMicro(us).UTC()
		out = append(out, m)
	}
	return out, s.db.MapErr(rows.Err())
}
