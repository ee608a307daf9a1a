package roster

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/storage"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// Migrations creates and updates the roster tables: one migration per
// migrations/<dialect>/NNN_name.sql pair, component "roster".
var Migrations = mustMigrations(migrationFiles)

// mustMigrations pairs the SQLite and PostgreSQL files of each version.
// The files are part of the binary, so a missing half is a build mistake
// that the package's tests (and the first start) catch.
func mustMigrations(fsys fs.FS) []storage.Migration {
	ms, err := loadMigrations(fsys)
	if err != nil {
		panic(err)
	}
	return ms
}

func loadMigrations(fsys fs.FS) ([]storage.Migration, error) {
	byVersion := map[int]*storage.Migration{}
	for _, dialect := range []string{"sqlite", "postgres"} {
		dir := path.Join("migrations", dialect)
		entries, err := fs.ReadDir(fsys, dir)
		if err != nil {
			return nil, fmt.Errorf("roster: migrations: %w", err)
		}
		for _, e := range entries {
			num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
			v, err := strconv.Atoi(num)
			if !ok || err != nil || v < 1 {
				return nil, fmt.Errorf("roster: migration file %s/%s: want NNN_name.sql", dir, e.Name())
			}
			b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
			if err != nil {
				return nil, fmt.Errorf("roster: migrations: %w", err)
			}
			m := byVersion[v]
			if m == nil {
				m = &storage.Migration{Component: "roster", Version: v, Name: strings.ReplaceAll(name, "_", " ")}
				byVersion[v] = m
			}
			if dialect == "sqlite" {
				m.SQLite = string(b)
			} else {
				m.Postgres = string(b)
			}
		}
	}
	var out []storage.Migration
	for _, m := range byVersion {
		if m.SQLite == "" || m.Postgres == "" {
			return nil, fmt.Errorf("roster: migration %d has no file for one dialect", m.Version)
		}
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// SQLStore is the Store on a storage.DB migrated with Migrations.
type SQLStore struct {
	db *storage.DB

	qVersion, qItems, qItem, qExists, qCount, qBump, qBumpRemoved, qPut, qDelete string
	qPendingPut, qPendingExists, qPendingCount, qPendingDelete, qPendingList     string
	qDeleteItems, qDeleteVersion, qDeletePending                                 string
}

var _ Store = (*SQLStore)(nil)

// NewSQLStore returns the roster store on db.
func NewSQLStore(db *storage.DB) *SQLStore {
	r := db.Rebind
	const cols = `contact, name, groups, subscription, ask, approved, version`
	const user = ` WHERE host = ? AND username = ?`
	// Lists come out in byte order of the contact's JID on both backends:
	// SQLite compares text bytewise, PostgreSQL by the database's locale
	// unless told otherwise.
	byContact := ` ORDER BY contact`
	if db.Dialect == storage.Postgres {
		byContact += ` COLLATE "C"`
	}
	return &SQLStore{
		db:       db,
		qVersion: r(`SELECT epoch, version, removed FROM roster_versions` + user),
		qItems:   r(`SELECT ` + cols + ` FROM roster_items` + user + byContact),
		qItem:    r(`SELECT ` + cols + ` FROM roster_items` + user + ` AND contact = ?`),
		qExists:  r(`SELECT 1 FROM roster_items` + user + ` AND contact = ?`),
		qCount:   r(`SELECT count(*) FROM roster_items` + user),
		// The upsert both creates the version row (with a fresh epoch)
		// and takes the row lock that orders concurrent writers on
		// PostgreSQL; SQLite transactions exclude each other anyway.
		qBump: r(`INSERT INTO roster_versions (host, username, epoch, version, removed) VALUES (?, ?, ?, 1, 0)
			ON CONFLICT (host, username) DO UPDATE SET version = roster_versions.version + 1
			RETURNING epoch, version, removed`),
		qBumpRemoved: r(`INSERT INTO roster_versions (host, username, epoch, version, removed) VALUES (?, ?, ?, 1, 1)
			ON CONFLICT (host, username) DO UPDATE SET version = roster_versions.version + 1, removed = roster_versions.version + 1
			RETURNING epoch, version, removed`),
		qPut: r(`INSERT INTO roster_items (host, username, ` + cols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (host, username, contact) DO UPDATE SET name = excluded.name, groups = excluded.groups,
			subscription = excluded.subscription, ask = excluded.ask, approved = excluded.approved, version = excluded.version`),
		qDelete: r(`DELETE FROM roster_items` + user + ` AND contact = ?`),
		qPendingPut: r(`INSERT INTO roster_pending_in (host, username, contact, stanza) VALUES (?, ?, ?, ?)
			ON CONFLICT (host, username, contact) DO UPDATE SET stanza = excluded.stanza`),
		qPendingExists: r(`SELECT 1 FROM roster_pending_in` + user + ` AND contact = ?`),
		qPendingCount:  r(`SELECT count(*) FROM roster_pending_in` + user),
		qPendingDelete: r(`DELETE FROM roster_pending_in` + user + ` AND contact = ?`),
		qPendingList:   r(`SELECT contact, stanza FROM roster_pending_in` + user + byContact),
		qDeleteItems:   r(`DELETE FROM roster_items` + user),
		qDeleteVersion: r(`DELETE FROM roster_versions` + user),
		qDeletePending: r(`DELETE FROM roster_pending_in` + user),
	}
}

// key returns the (host, username) a user's rows are stored under.
func key(user jid.JID) (string, string) { return user.Domain(), user.Local() }

type scanner interface{ Scan(dest ...any) error }

func scanItem(s scanner) (Item, error) {
	var (
		it             Item
		contact, group string
		sub            string
	)
	if err := s.Scan(&contact, &it.Name, &group, &sub, &it.Ask, &it.Approved, &it.Version); err != nil {
		return Item{}, err
	}
	j, err := jid.Parse(contact)
	if err != nil {
		return Item{}, fmt.Errorf("roster: stored contact %q: %w", contact, err)
	}
	it.JID = j
	it.Subscription = Subscription(sub)
	if err := json.Unmarshal([]byte(group), &it.Groups); err != nil {
		return Item{}, fmt.Errorf("roster: stored groups of %q: %w", contact, err)
	}
	if len(it.Groups) == 0 {
		it.Groups = nil
	}
	return it, nil
}

// Roster implements Store.
func (s *SQLStore) Roster(ctx context.Context, user jid.JID) (Version, []Item, error) {
	host, name := key(user)
	// The version first: a change that lands between the two reads then
	// shows up in the items and again in a later push, never the other way
	// round (a version that claims a change the items lack).
	var v Version
	err := s.db.SQL.QueryRowContext(ctx, s.qVersion, host, name).Scan(&v.Epoch, &v.N, &v.Removed)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Version{}, nil, s.db.MapErr(err)
	}
	rows, err := s.db.SQL.QueryContext(ctx, s.qItems, host, name)
	if err != nil {
		return Version{}, nil, s.db.MapErr(err)
	}
	defer rows.Close()
	var items []Item
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return Version{}, nil, s.db.MapErr(err)
		}
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return Version{}, nil, s.db.MapErr(err)
	}
	return v, items, nil
}

// Item implements Store.
func (s *SQLStore) Item(ctx context.Context, user, contact jid.JID) (Item, error) {
	host, name := key(user)
	it, err := scanItem(s.db.SQL.QueryRowContext(ctx, s.qItem, host, name, contact.String()))
	if err != nil {
		return Item{}, s.db.MapErr(err)
	}
	return it, nil
}

func newEpoch() int64 { return rand.Int64N(1<<32-1) + 1 }

// bump gives the user's roster its next version inside tx.
func (s *SQLStore) bump(ctx context.Context, tx *sql.Tx, q, host, name string) (Version, error) {
	var v Version
	if err := tx.QueryRowContext(ctx, q, host, name, newEpoch()).Scan(&v.Epoch, &v.N, &v.Removed); err != nil {
		return Version{}, s.db.MapErr(err)
	}
	return v, nil
}

// exists reports whether the query q (qExists, qPendingExists) finds a row.
func (s *SQLStore) exists(ctx context.Context, tx *sql.Tx, q, host, name, contact string) (bool, error) {
	var one int
	err := tx.QueryRowContext(ctx, q, host, name, contact).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, s.db.MapErr(err)
}

// full reports whether the count query q gives limit or more.
func (s *SQLStore) full(ctx context.Context, tx *sql.Tx, q, host, name string, limit int) (bool, error) {
	var n int
	if err := tx.QueryRowContext(ctx, q, host, name).Scan(&n); err != nil {
		return false, s.db.MapErr(err)
	}
	return n >= limit, nil
}

// Put implements Store.
func (s *SQLStore) Put(ctx context.Context, user jid.JID, it Item, limit int) (Version, error) {
	host, name := key(user)
	contact := it.JID.String()
	groups := it.Groups
	if groups == nil {
		groups = []string{}
	}
	gs, err := json.Marshal(groups)
	if err != nil {
		return Version{}, err
	}
	sub := it.Subscription
	if sub == "" {
		sub = None
	}
	var v Version
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		// The version row first: on PostgreSQL it is the lock that makes
		// the count below exact under concurrent writers.
		if v, err = s.bump(ctx, tx, s.qBump, host, name); err != nil {
			return err
		}
		ok, err := s.exists(ctx, tx, s.qExists, host, name, contact)
		if err != nil {
			return err
		}
		if !ok {
			full, err := s.full(ctx, tx, s.qCount, host, name, limit)
			if err != nil {
				return err
			}
			if full {
				return ErrFull
			}
		}
		_, err = tx.ExecContext(ctx, s.qPut, host, name, contact, it.Name, string(gs), string(sub), it.Ask, it.Approved, v.N)
		return s.db.MapErr(err)
	})
	if err != nil {
		return Version{}, err
	}
	return v, nil
}

// Delete implements Store.
func (s *SQLStore) Delete(ctx context.Context, user, contact jid.JID) (Version, error) {
	host, name := key(user)
	var v Version
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if v, err = s.bump(ctx, tx, s.qBumpRemoved, host, name); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.qDelete, host, name, contact.String())
		if err != nil {
			return s.db.MapErr(err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return s.db.MapErr(err)
		}
		if n == 0 {
			return storage.ErrNotFound // rolls the version back too
		}
		return nil
	})
	if err != nil {
		return Version{}, err
	}
	return v, nil
}

// PutPendingIn implements Store.
func (s *SQLStore) PutPendingIn(ctx context.Context, user jid.JID, p PendingIn, limit int) error {
	host, name := key(user)
	contact := p.JID.String()
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		ok, err := s.exists(ctx, tx, s.qPendingExists, host, name, contact)
		if err != nil {
			return err
		}
		if !ok {
			full, err := s.full(ctx, tx, s.qPendingCount, host, name, limit)
			if err != nil {
				return err
			}
			if full {
				return ErrFull
			}
		}
		_, err = tx.ExecContext(ctx, s.qPendingPut, host, name, contact, p.Stanza)
		return s.db.MapErr(err)
	})
}

// DeletePendingIn implements Store.
func (s *SQLStore) DeletePendingIn(ctx context.Context, user, contact jid.JID) (bool, error) {
	host, name := key(user)
	res, err := s.db.SQL.ExecContext(ctx, s.qPendingDelete, host, name, contact.String())
	if err != nil {
		return false, s.db.MapErr(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, s.db.MapErr(err)
	}
	return n > 0, nil
}

// PendingIns implements Store.
func (s *SQLStore) PendingIns(ctx context.Context, user jid.JID) ([]PendingIn, error) {
	host, name := key(user)
	rows, err := s.db.SQL.QueryContext(ctx, s.qPendingList, host, name)
	if err != nil {
		return nil, s.db.MapErr(err)
	}
	defer rows.Close()
	var out []PendingIn
	for rows.Next() {
		var contact string
		var p PendingIn
		if err := rows.Scan(&contact, &p.Stanza); err != nil {
			return nil, s.db.MapErr(err)
		}
		if p.JID, err = jid.Parse(contact); err != nil {
			return nil, fmt.Errorf("roster: stored contact %q: %w", contact, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, s.db.MapErr(err)
	}
	return out, nil
}

// DeleteUser implements Store.
func (s *SQLStore) DeleteUser(ctx context.Context, user jid.JID) error {
	host, name := key(user)
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{s.qDeleteItems, s.qDeletePending, s.qDeleteVersion} {
			if _, err := tx.ExecContext(ctx, q, host, name); err != nil {
				return s.db.MapErr(err)
			}
		}
		return nil
	})
}
