// Package auth owns user accounts: it creates, changes and removes them and
// hands the SASL layer the stored SCRAM credentials of a user. Passwords are
// never stored: on registration and password change a fresh salt is drawn
// and one set of SCRAM keys is derived per hash function Parley offers
// (SHA-1, SHA-256, SHA-512), so each mechanism can be verified and PLAIN can
// be checked against the same keys.
//
// It also holds the per-address throttle that slows down repeated login
// failures.
package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/sasl"
	"github.com/parleyim/parley/internal/storage"
)

// Errors returned by Accounts; test with errors.Is.
var (
	ErrUserExists      = errors.New("auth: user already exists")
	ErrUnknownUser     = errors.New("auth: no such user")
	ErrInvalidUsername = errors.New("auth: invalid username")
	ErrInvalidPassword = errors.New("auth: invalid password")
	ErrUnknownHost     = errors.New("auth: host not served")
)

// Store persists accounts and their credentials. NewSQLStore implements it
// on SQLite and PostgreSQL.
type Store interface {
	// Create adds a user with its credentials; storage.ErrConflict if the
	// user exists.
	Create(ctx context.Context, host, user string, creds map[sasl.Hash]sasl.Credentials) error
	// SetCredentials replaces the credentials; storage.ErrNotFound if the
	// user does not exist.
	SetCredentials(ctx context.Context, host, user string, creds map[sasl.Hash]sasl.Credentials) error
	// Credentials returns one hash's credentials; storage.ErrNotFound if
	// the user or the hash is missing.
	Credentials(ctx context.Context, host, user string, h sasl.Hash) (sasl.Credentials, error)
	// Delete removes a user; storage.ErrNotFound if absent.
	Delete(ctx context.Context, host, user string) error
	// Exists reports whether the user exists.
	Exists(ctx context.Context, host, user string) (bool, error)
	// List returns the usernames of host, sorted.
	List(ctx context.Context, host string) ([]string, error)
	// Count returns the number of users of host.
	Count(ctx context.Context, host string) (int, error)
}

// Accounts is the account service the server, the modules and the admin
// API share.
type Accounts struct {
	store      Store
	iterations int
}

// NewAccounts returns the account service over store.
func NewAccounts(store Store) *Accounts {
	return &Accounts{store: store, iterations: sasl.DefaultIterations}
}

// Normalize prepares a username as a JID localpart (RFC 7622, PRECIS
// UsernameCaseMapped) and checks the host is a valid domain.
func Normalize(host, user string) (string, string, error) {
	if user == "" {
		return "", "", fmt.Errorf("%w: empty", ErrInvalidUsername)
	}
	j, err := jid.New(user, host, "")
	if err != nil {
		return "", "", fmt.Errorf("%w: %q: %v", ErrInvalidUsername, user, err)
	}
	return j.Domain(), j.Local(), nil
}

func (a *Accounts) derive(password string) (map[sasl.Hash]sasl.Credentials, error) {
	if password == "" {
		return nil, fmt.Errorf("%w: empty", ErrInvalidPassword)
	}
	if len(password) > 1024 {
		return nil, fmt.Errorf("%w: longer than 1024 bytes", ErrInvalidPassword)
	}
	creds := make(map[sasl.Hash]sasl.Credentials, len(sasl.Hashes))
	for _, h := range sasl.Hashes {
		c, err := sasl.DeriveCredentials(h, password, sasl.NewSalt(), a.iterations)
		if err != nil {
			// The sasl error names the PRECIS rule, never the password.
			return nil, fmt.Errorf("%w: %v", ErrInvalidPassword, err)
		}
		creds[h] = c
	}
	return creds, nil
}

// Register creates an account.
func (a *Accounts) Register(ctx context.Context, host, user, password string) error {
	host, user, err := Normalize(host, user)
	if err != nil {
		return err
	}
	creds, err := a.derive(password)
	if err != nil {
		return err
	}
	if err := a.store.Create(ctx, host, user, creds); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return fmt.Errorf("%w: %s@%s", ErrUserExists, user, host)
		}
		return fmt.Errorf("auth: register %s@%s: %w", user, host, err)
	}
	return nil
}

// SetPassword replaces the credentials of an existing account.
func (a *Accounts) SetPassword(ctx context.Context, host, user, password string) error {
	host, user, err := Normalize(host, user)
	if err != nil {
		return err
	}
	creds, err := a.derive(password)
	if err != nil {
		return err
	}
	if err := a.store.SetCredentials(ctx, host, user, creds); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("%w: %s@%s", ErrUnknownUser, user, host)
		}
		return fmt.Errorf("auth: set password of %s@%s: %w", user, host, err)
	}
	return nil
}

// Remove deletes an account.
func (a *Accounts) Remove(ctx context.Context, host, user string) error {
	host, user, err := Normalize(host, user)
	if err != nil {
		return err
	}
	if err := a.store.Delete(ctx, host, user); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("%w: %s@%s", ErrUnknownUser, user, host)
		}
		return fmt.Errorf("auth: remove %s@%s: %w", user, host, err)
	}
	return nil
}

// Exists reports whether an account exists. An invalid username does not.
func (a *Accounts) Exists(ctx context.Context, host, user string) (bool, error) {
	host, user, err := Normalize(host, user)
	if err != nil {
		return false, nil
	}
	ok, err := a.store.Exists(ctx, host, user)
	if err != nil {
		return false, fmt.Errorf("auth: look up %s@%s: %w", user, host, err)
	}
	return ok, nil
}

// List returns the usernames of host, sorted.
func (a *Accounts) List(ctx context.Context, host string) ([]string, error) {
	users, err := a.store.List(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("auth: list users of %s: %w", host, err)
	}
	return users, nil
}

// Count returns how many accounts host has.
func (a *Accounts) Count(ctx context.Context, host string) (int, error) {
	n, err := a.store.Count(ctx, host)
	if err != nil {
		return 0, fmt.Errorf("auth: count users of %s: %w", host, err)
	}
	return n, nil
}

// Lookup returns the SASL credential lookup for host.
func (a *Accounts) Lookup(host string) sasl.Lookup {
	return func(ctx context.Context, username string, h sasl.Hash) (sasl.Credentials, error) {
		c, err := a.store.Credentials(ctx, host, username, h)
		if errors.Is(err, storage.ErrNotFound) {
			return sasl.Credentials{}, fmt.Errorf("%w: %s@%s", sasl.ErrUnknownUser, username, host)
		}
		if err != nil {
			return sasl.Credentials{}, fmt.Errorf("auth: credentials of %s@%s: %w", username, host, err)
		}
		return c, nil
	}
}

// Import creates an account with credentials that were derived elsewhere,
// such as the SCRAM keys of an account moved from another server (XEP-0227
// §2.3): the password is not known and need not be. Each set must be
// complete (a salt, at least one iteration, keys of the hash's size), and
// at least one must be given. ErrUserExists if the account exists.
func (a *Accounts) Import(ctx context.Context, host, user string, creds map[sasl.Hash]sasl.Credentials) error {
	host, user, err := Normalize(host, user)
	if err != nil {
		return err
	}
	if len(creds) == 0 {
		return fmt.Errorf("%w: no credentials", ErrInvalidPassword)
	}
	for h, c := range creds {
		if err := c.Check(h); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalidPassword, err)
		}
	}
	if err := a.store.Create(ctx, host, user, creds); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return fmt.Errorf("%w: %s@%s", ErrUserExists, user, host)
		}
		return fmt.Errorf("auth: import %s@%s: %w", user, host, err)
	}
	return nil
}

// Credentials returns the stored credentials of an account, one set per
// hash it has, for an export (XEP-0227 §2.3). ErrUnknownUser if the
// account does not exist.
func (a *Accounts) Credentials(ctx context.Context, host, user string) (map[sasl.Hash]sasl.Credentials, error) {
	host, user, err := Normalize(host, user)
	if err != nil {
		return nil, err
	}
	ok, err := a.store.Exists(ctx, host, user)
	if err != nil {
		return nil, fmt.Errorf("auth: look up %s@%s: %w", user, host, err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s@%s", ErrUnknownUser, user, host)
	}
	out := make(map[sasl.Hash]sasl.Credentials, len(sasl.Hashes))
	for _, h := range sasl.Hashes {
		c, err := a.store.Credentials(ctx, host, user, h)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("auth: credentials of %s@%s: %w", user, host, err)
		}
		out[h] = c
	}
	return out, nil
}
