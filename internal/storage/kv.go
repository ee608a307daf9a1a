package storage

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"slices"
	"strings"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// Migrations creates storage's own tables: those of the generic stores
// (KV). Component "storage"; the server applies them with the account
// tables', before any module starts.
var Migrations = MustLoadMigrations("storage", migrationFiles)

// KV is the generic per-user key-value store (STYLE.md §2: simple features
// use the generic storage.KV instead of tables of their own). It maps
// (owner, host, username, key) to a value of bytes, where owner is the
// component the KV was made for (a module's name): a KV reads and writes
// only its owner's rows, so modules cannot see each other's data.
//
// Values are meant to be small (a vCard, a preferences blob): each is read
// and written whole. Hosts and usernames are compared byte for byte, so
// callers pass them prepared, as jid.JID holds them. A KV is safe for
// concurrent use; writes to one key are last-writer-wins.
type KV struct {
	db    *DB
	owner string

	qGet, qPut, qDelete, qDeleteUser, qKeys string
	qGetManyPrefix                          string // completed by getManyQuery
}

// NewKV returns the KV of owner on db, which must have been migrated with
// Migrations. owner must not be empty.
func NewKV(db *DB, owner string) *KV {
	if owner == "" {
		panic("storage: NewKV with an empty owner")
	}
	r := db.Rebind
	const row = ` WHERE host = ? AND username = ? AND owner = ?`
	return &KV{
		db:    db,
		owner: owner,
		qGet:  r(`SELECT value FROM user_kv` + row + ` AND kv_key = ?`),
		qPut: r(`INSERT INTO user_kv (host, username, owner, kv_key, value) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (host, username, owner, kv_key) DO UPDATE SET value = excluded.value`),
		qDelete:     r(`DELETE FROM user_kv` + row + ` AND kv_key = ?`),
		qDeleteUser: r(`DELETE FROM user_kv` + row),
		qKeys:       r(`SELECT kv_key FROM user_kv` + row),
		// Rebound with its IN list, per call (getManyQuery).
		qGetManyPrefix: `SELECT kv_key, value FROM user_kv` + row + ` AND kv_key IN (`,
	}
}

// Owner returns the component whose rows the KV holds.
func (kv *KV) Owner() string { return kv.owner }

// Get returns the value of key for the user host/username, or an error
// matching ErrNotFound if there is none. A stored empty value is returned
// as an empty, non-nil slice.
func (kv *KV) Get(ctx context.Context, host, username, key string) ([]byte, error) {
	var v []byte
	err := kv.db.SQL.QueryRowContext(ctx, kv.qGet, host, username, kv.owner, key).Scan(&v)
	if err != nil {
		return nil, fmt.Errorf("storage: kv %s get %q of %s@%s: %w", kv.owner, key, username, host, kv.db.MapErr(err))
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// Put stores value under key for the user host/username, replacing any
// value there. A nil value is stored as an empty one.
func (kv *KV) Put(ctx context.Context, host, username, key string, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	if _, err := kv.db.SQL.ExecContext(ctx, kv.qPut, host, username, kv.owner, key, value); err != nil {
		return fmt.Errorf("storage: kv %s put %q of %s@%s: %w", kv.owner, key, username, host, kv.db.MapErr(err))
	}
	return nil
}

// Delete removes key for the user host/username. Removing a key that is
// not there is not an error.
func (kv *KV) Delete(ctx context.Context, host, username, key string) error {
	if _, err := kv.db.SQL.ExecContext(ctx, kv.qDelete, host, username, kv.owner, key); err != nil {
		return fmt.Errorf("storage: kv %s delete %q of %s@%s: %w", kv.owner, key, username, host, kv.db.MapErr(err))
	}
	return nil
}

// DeleteUser removes every key the owner holds for the user host/username
// (for user.removed); other owners' keys stay. Deleting twice is harmless.
func (kv *KV) DeleteUser(ctx context.Context, host, username string) error {
	if _, err := kv.db.SQL.ExecContext(ctx, kv.qDeleteUser, host, username, kv.owner); err != nil {
		return fmt.Errorf("storage: kv %s delete user %s@%s: %w", kv.owner, username, host, kv.db.MapErr(err))
	}
	return nil
}

// Keys returns the keys the owner holds for the user host/username, in
// byte order; none is an empty list, not an error.
func (kv *KV) Keys(ctx context.Context, host, username string) ([]string, error) {
	fail := func(err error) ([]string, error) {
		return nil, fmt.Errorf("storage: kv %s keys of %s@%s: %w", kv.owner, username, host, kv.db.MapErr(err))
	}
	rows, err := kv.db.SQL.QueryContext(ctx, kv.qKeys, host, username, kv.owner)
	if err != nil {
		return fail(err)
	}
	defer rows.Close()
	keys := []string{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return fail(err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	// Sorted here: PostgreSQL's ORDER BY follows the database's collation.
	slices.Sort(keys)
	return keys, nil
}

// getManyBatch is the most keys one GetMany query names: each is a bound
// parameter, and both SQLite and PostgreSQL cap those (32766 and 65535).
const getManyBatch = 500

// GetMany returns the values of keys for the user host/username, read in
// one query per getManyBatch keys. A key with no value is absent from the
// map; a stored empty value is an empty, non-nil slice.
func (kv *KV) GetMany(ctx context.Context, host, username string, keys []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(keys))
	for batch := range slices.Chunk(keys, getManyBatch) {
		if err := kv.getMany(ctx, host, username, batch, out); err != nil {
			return nil, fmt.Errorf("storage: kv %s get %d keys of %s@%s: %w", kv.owner, len(keys), username, host, err)
		}
	}
	return out, nil
}

func (kv *KV) getMany(ctx context.Context, host, username string, keys []string, out map[string][]byte) error {
	q := kv.qGetManyPrefix + strings.Repeat("?, ", len(keys)-1) + "?)"
	args := make([]any, 0, 3+len(keys))
	args = append(args, host, username, kv.owner)
	for _, k := range keys {
		args = append(args, k)
	}
	rows, err := kv.db.SQL.QueryContext(ctx, kv.db.Rebind(q), args...)
	if err != nil {
		return kv.db.MapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var v []byte
		if err := rows.Scan(&k, &v); err != nil {
			return kv.db.MapErr(err)
		}
		if v == nil {
			v = []byte{}
		}
		out[k] = v
	}
	return kv.db.MapErr(rows.Err())
}

// KVWrite is one write of KV.Apply: Value stored under Key (nil stored as
// empty, as Put does), or Key removed if Delete is set.
type KVWrite struct {
	Key    string
	Value  []byte
	Delete bool
}

// Apply makes writes for the user host/username in one transaction: all
// of them, or none if one fails. They are made in order, so of several
// writes to one key the last wins.
func (kv *KV) Apply(ctx context.Context, host, username string, writes []KVWrite) error {
	err := kv.db.InTx(ctx, func(tx *sql.Tx) error {
		for _, w := range writes {
			var err error
			if w.Delete {
				_, err = tx.ExecContext(ctx, kv.qDelete, host, username, kv.owner, w.Key)
			} else {
				v := w.Value
				if v == nil {
					v = []byte{}
				}
				_, err = tx.ExecContext(ctx, kv.qPut, host, username, kv.owner, w.Key, v)
			}
			if err != nil {
				return fmt.Errorf("key %q: %w", w.Key, kv.db.MapErr(err))
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: kv %s apply %d writes of %s@%s: %w", kv.owner, len(writes), username, host, err)
	}
	return nil
}
