package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/parleyim/parley/internal/sasl"
	"github.com/parleyim/parley/internal/storage"
)

// Migrations creates the account tables. Usernames are stored prepared
// (PRECIS), so equality is byte equality.
var Migrations = []storage.Migration{{
	Component: "auth",
	Version:   1,
	Name:      "users and SCRAM credentials",
	SQLite: `
CREATE TABLE users (
	host       TEXT NOT NULL,
	username   TEXT NOT NULL,
	created_at TEXT NOT NULL,
	PRIMARY KEY (host, username)
);
CREATE TABLE user_credentials (
	host       TEXT    NOT NULL,
	username   TEXT    NOT NULL,
	hash       TEXT    NOT NULL,
	salt       BLOB    NOT NULL,
	iterations INTEGER NOT NULL,
	stored_key BLOB    NOT NULL,
	server_key BLOB    NOT NULL,
	PRIMARY KEY (host, username, hash),
	FOREIGN KEY (host, username) REFERENCES users (host, username) ON DELETE CASCADE
);`,
	Postgres: `
CREATE TABLE users (
	host       TEXT        NOT NULL,
	username   TEXT        NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (host, username)
);
CREATE TABLE user_credentials (
	host       TEXT    NOT NULL,
	username   TEXT    NOT NULL,
	hash       TEXT    NOT NULL,
	salt       BYTEA   NOT NULL,
	iterations INTEGER NOT NULL,
	stored_key BYTEA   NOT NULL,
	server_key BYTEA   NOT NULL,
	PRIMARY KEY (host, username, hash),
	FOREIGN KEY (host, username) REFERENCES users (host, username) ON DELETE CASCADE
);`,
}}

// SQLStore is the Store on a storage.DB.
type SQLStore struct {
	db *storage.DB

	qInsertUser, qInsertCred, qDeleteCreds, qCred, qDelete, qExists, qList, qCount string
}

// NewSQLStore returns the account store on db (migrated with Migrations).
func NewSQLStore(db *storage.DB) *SQLStore {
	r := db.Rebind
	return &SQLStore{
		db:           db,
		qInsertUser:  r(`INSERT INTO users (host, username, created_at) VALUES (?, ?, ?)`),
		qInsertCred:  r(`INSERT INTO user_credentials (host, username, hash, salt, iterations, stored_key, server_key) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		qDeleteCreds: r(`DELETE FROM user_credentials WHERE host = ? AND username = ?`),
		qCred:        r(`SELECT salt, iterations, stored_key, server_key FROM user_credentials WHERE host = ? AND username = ? AND hash = ?`),
		qDelete:      r(`DELETE FROM users WHERE host = ? AND username = ?`),
		qExists:      r(`SELECT 1 FROM users WHERE host = ? AND username = ?`),
		qList:        r(`SELECT username FROM users WHERE host = ? ORDER BY username`),
		qCount:       r(`SELECT count(*) FROM users WHERE host = ?`),
	}
}

func (s *SQLStore) now() any {
	t := time.Now().UTC()
	if s.db.Dialect == storage.SQLite {
		return t.Format(time.RFC3339Nano)
	}
	return t
}

func (s *SQLStore) insertCreds(ctx context.Context, tx *sql.Tx, host, user string, creds map[sasl.Hash]sasl.Credentials) error {
	for _, h := range sasl.Hashes {
		c, ok := creds[h]
		if !ok {
			continue
		}
		if _, err := tx.ExecContext(ctx, s.qInsertCred, host, user, string(h), c.Salt, c.Iterations, c.StoredKey, c.ServerKey); err != nil {
			return s.db.MapErr(err)
		}
	}
	return nil
}

// Create implements Store.
func (s *SQLStore) Create(ctx context.Context, host, user string, creds map[sasl.Hash]sasl.Credentials) error {
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.qInsertUser, host, user, s.now()); err != nil {
			return s.db.MapErr(err)
		}
		return s.insertCreds(ctx, tx, host, user, creds)
	})
}

// SetCredentials implements Store.
func (s *SQLStore) SetCredentials(ctx context.Context, host, user string, creds map[sasl.Hash]sasl.Credentials) error {
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, s.qExists, host, user).Scan(&one); err != nil {
			return s.db.MapErr(err)
		}
		if _, err := tx.ExecContext(ctx, s.qDeleteCreds, host, user); err != nil {
			return s.db.MapErr(err)
		}
		return s.insertCreds(ctx, tx, host, user, creds)
	})
}

// Credentials implements Store.
func (s *SQLStore) Credentials(ctx context.Context, host, user string, h sasl.Hash) (sasl.Credentials, error) {
	var c sasl.Credentials
	err := s.db.SQL.QueryRowContext(ctx, s.qCred, host, user, string(h)).Scan(&c.Salt, &c.Iterations, &c.StoredKey, &c.ServerKey)
	if err != nil {
		return sasl.Credentials{}, s.db.MapErr(err)
	}
	return c, nil
}

// Delete implements Store.
func (s *SQLStore) Delete(ctx context.Context, host, user string) error {
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		// Explicit, so that it does not depend on foreign key enforcement.
		if _, err := tx.ExecContext(ctx, s.qDeleteCreds, host, user); err != nil {
			return s.db.MapErr(err)
		}
		res, err := tx.ExecContext(ctx, s.qDelete, host, user)
		if err != nil {
			return s.db.MapErr(err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return s.db.MapErr(err)
		}
		if n == 0 {
			return storage.ErrNotFound
		}
		return nil
	})
}

// Exists implements Store.
func (s *SQLStore) Exists(ctx context.Context, host, user string) (bool, error) {
	var one int
	err := s.db.SQL.QueryRowContext(ctx, s.qExists, host, user).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, s.db.MapErr(err)
	}
	return true, nil
}

// List implements Store.
func (s *SQLStore) List(ctx context.Context, host string) ([]string, error) {
	rows, err := s.db.SQL.QueryContext(ctx, s.qList, host)
	if err != nil {
		return nil, s.db.MapErr(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, s.db.MapErr(err)
		}
		out = append(out, u)
	}
	return out, s.db.MapErr(rows.Err())
}

// Count implements Store.
func (s *SQLStore) Count(ctx context.Context, host string) (int, error) {
	var n int
	if err := s.db.SQL.QueryRowContext(ctx, s.qCount, host).Scan(&n); err != nil {
		return 0, fmt.Errorf("count: %w", s.db.MapErr(err))
	}
	return n, nil
}
