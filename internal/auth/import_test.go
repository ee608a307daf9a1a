package auth_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/parleyim/parley/internal/auth"
	"github.com/parleyim/parley/internal/sasl"
	"github.com/parleyim/parley/internal/storage"
	"github.com/parleyim/parley/internal/storage/storagetest"
)

// derived returns the credentials of password for each of hs, as another
// server would have stored them.
func derived(t *testing.T, password string, iterations int, hs ...sasl.Hash) map[sasl.Hash]sasl.Credentials {
	t.Helper()
	out := make(map[sasl.Hash]sasl.Credentials, len(hs))
	for _, h := range hs {
		c, err := sasl.DeriveCredentials(h, password, sasl.NewSalt(), iterations)
		if err != nil {
			t.Fatal(err)
		}
		out[h] = c
	}
	return out
}

func equalCreds(a, b map[sasl.Hash]sasl.Credentials) bool {
	return maps.EqualFunc(a, b, func(x, y sasl.Credentials) bool {
		return bytes.Equal(x.Salt, y.Salt) && x.Iterations == y.Iterations &&
			bytes.Equal(x.StoredKey, y.StoredKey) && bytes.Equal(x.ServerKey, y.ServerKey)
	})
}

// TestImport: SCRAM keys derived elsewhere, with their own salt and
// iteration count, let the password log in through the same SASL server
// a real login uses, and come back unchanged from Credentials.
func TestImport(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		acc := newAccounts(t, db)

		// An iteration count other than Parley's own: the stored one is
		// what the client is told to use.
		creds := derived(t, "imported pw", 8192, sasl.Hashes...)
		if err := acc.Import(ctx, "example.com", "Carol", creds); err != nil {
			t.Fatal(err)
		}
		got, err := acc.Credentials(ctx, "example.com", "CAROL")
		if err != nil {
			t.Fatal(err)
		}
		if !equalCreds(got, creds) {
			t.Errorf("Credentials = %+v, want what was imported %+v", got, creds)
		}
		for _, m := range []string{"SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"} {
			if err := login(t, acc, "example.com", "carol", "imported pw", m); err != nil {
				t.Errorf("%s login of an imported account: %v", m, err)
			}
			var f *sasl.Failure
			if err := login(t, acc, "example.com", "carol", "wrong", m); !errors.As(err, &f) || f.Condition != "not-authorized" {
				t.Errorf("%s with wrong password: %v, want not-authorized", m, err)
			}
		}

		// Only the hashes given are stored: the others fail as for an
		// unknown user, and Credentials does not invent them.
		only := derived(t, "dan pw", sasl.DefaultIterations, sasl.SHA256)
		if err := acc.Import(ctx, "example.com", "dan", only); err != nil {
			t.Fatal(err)
		}
		if got, err := acc.Credentials(ctx, "example.com", "dan"); err != nil || !equalCreds(got, only) {
			t.Errorf("Credentials(dan) = %v, %v; want SHA-256 only", slices.Collect(maps.Keys(got)), err)
		}
		if err := login(t, acc, "example.com", "dan", "dan pw", "SCRAM-SHA-256"); err != nil {
			t.Errorf("SCRAM-SHA-256: %v", err)
		}
		if err := login(t, acc, "example.com", "dan", "dan pw", "SCRAM-SHA-1"); err == nil {
			t.Error("SCRAM-SHA-1 logs in without SHA-1 credentials")
		}
		if err := login(t, acc, "example.com", "dan", "dan pw", "PLAIN"); err != nil {
			t.Errorf("PLAIN against SHA-256 credentials: %v", err)
		}

		// Moving an account: what one export gives, an import takes back,
		// and the old password works there.
		if err := acc.Register(ctx, "example.com", "erin", "erin pw"); err != nil {
			t.Fatal(err)
		}
		exported, err := acc.Credentials(ctx, "example.com", "erin")
		if err != nil {
			t.Fatal(err)
		}
		if len(exported) != len(sasl.Hashes) {
			t.Fatalf("a registered account exports %d hashes, want %d", len(exported), len(sasl.Hashes))
		}
		if err := acc.Import(ctx, "example.org", "erin", exported); err != nil {
			t.Fatal(err)
		}
		if err := login(t, acc, "example.org", "erin", "erin pw", "SCRAM-SHA-512"); err != nil {
			t.Errorf("login after the move: %v", err)
		}

		// An existing account is never overwritten, whatever the case
		// of the name.
		for _, u := range []string{"carol", "CAROL", "erin"} {
			if err := acc.Import(ctx, "example.com", u, derived(t, "other", 4096, sasl.SHA1)); !errors.Is(err, auth.ErrUserExists) {
				t.Errorf("Import of existing %q: %v, want ErrUserExists", u, err)
			}
		}
		if err := login(t, acc, "example.com", "carol", "imported pw", "SCRAM-SHA-1"); err != nil {
			t.Errorf("a refused import changed the password: %v", err)
		}

		if _, err := acc.Credentials(ctx, "example.com", "nobody"); !errors.Is(err, auth.ErrUnknownUser) {
			t.Errorf("Credentials of unknown user: %v, want ErrUnknownUser", err)
		}
	})
}

func TestImportInvalid(t *testing.T) {
	good := func() sasl.Credentials {
		c, err := sasl.DeriveCredentials(sasl.SHA256, "pw", sasl.NewSalt(), 4096)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	with := func(f func(*sasl.Credentials)) map[sasl.Hash]sasl.Credentials {
		c := good()
		f(&c)
		return map[sasl.Hash]sasl.Credentials{sasl.SHA256: c}
	}
	cases := []struct {
		name  string
		user  string
		creds map[sasl.Hash]sasl.Credentials
		want  error
	}{
		{"no credentials", "frank", nil, auth.ErrInvalidPassword},
		{"empty map", "frank", map[sasl.Hash]sasl.Credentials{}, auth.ErrInvalidPassword},
		{"empty salt", "frank", with(func(c *sasl.Credentials) { c.Salt = nil }), auth.ErrInvalidPassword},
		{"no iterations", "frank", with(func(c *sasl.Credentials) { c.Iterations = 0 }), auth.ErrInvalidPassword},
		{"negative iterations", "frank", with(func(c *sasl.Credentials) { c.Iterations = -1 }), auth.ErrInvalidPassword},
		{"short stored key", "frank", with(func(c *sasl.Credentials) { c.StoredKey = c.StoredKey[:20] }), auth.ErrInvalidPassword},
		{"long server key", "frank", with(func(c *sasl.Credentials) { c.ServerKey = append(c.ServerKey, 0) }), auth.ErrInvalidPassword},
		{"unknown hash", "frank", map[sasl.Hash]sasl.Credentials{"MD5": good()}, auth.ErrInvalidPassword},
		{"SHA-256 keys as SHA-1", "frank", map[sasl.Hash]sasl.Credentials{sasl.SHA1: good()}, auth.ErrInvalidPassword},
		{"one bad among good", "frank", map[sasl.Hash]sasl.Credentials{
			sasl.SHA256: good(),
			sasl.SHA512: {Salt: []byte("salt"), Iterations: 4096},
		}, auth.ErrInvalidPassword},
		{"empty username", "", with(func(*sasl.Credentials) {}), auth.ErrInvalidUsername},
		{"username with @", "frank@evil", with(func(*sasl.Credentials) {}), auth.ErrInvalidUsername},
	}
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		acc := newAccounts(t, db)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if err := acc.Import(ctx, "example.com", tc.user, tc.creds); !errors.Is(err, tc.want) {
					t.Errorf("Import: %v, want %v", err, tc.want)
				}
			})
		}
		if n, err := acc.Count(ctx, "example.com"); err != nil || n != 0 {
			t.Errorf("refused imports left %d accounts (%v)", n, err)
		}
	})
}
