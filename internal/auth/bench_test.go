package auth_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/parleyim/parley/internal/auth"
	"github.com/parleyim/parley/internal/sasl"
	"github.com/parleyim/parley/internal/storage"
	"github.com/parleyim/parley/internal/storage/storagetest"
)

// benchUsers is how many other accounts share the tables with the one
// that logs in, so that the lookup selects among rows as on a real server.
const benchUsers = 200

// BenchmarkCredentialLookup measures what SASL asks the store for at each
// login: the SCRAM-SHA-1 credentials of one existing user through
// Accounts.Lookup (the mechanism the whole-server login benchmark uses).
// Each backend gets a fresh database holding benchUsers+1 accounts.
func BenchmarkCredentialLookup(b *testing.B) {
	storagetest.RunB(b, func(b *testing.B, db *storage.DB) {
		ctx := context.Background()
		if err := db.Migrate(ctx, auth.Migrations); err != nil {
			b.Fatal(err)
		}
		acc := auth.NewAccounts(auth.NewSQLStore(db))
		if err := acc.Register(ctx, "example.com", "alice", "s3cret"); err != nil {
			b.Fatal(err)
		}
		for i := range benchUsers {
			// Imported with made-up keys: deriving real ones (PBKDF2,
			// three hashes) would make the setup the slow part.
			if err := acc.Import(ctx, "example.com", fmt.Sprintf("user%03d", i), fakeCreds()); err != nil {
				b.Fatal(err)
			}
		}
		lookup := acc.Lookup("example.com")
		b.ReportAllocs()
		for b.Loop() {
			c, err := lookup(ctx, "alice", sasl.SHA1)
			if err != nil {
				b.Fatal(err)
			}
			if len(c.StoredKey) == 0 {
				b.Fatal("no stored key")
			}
		}
	})
}

// fakeCreds returns well-formed credentials for every hash that no
// password derives.
func fakeCreds() map[sasl.Hash]sasl.Credentials {
	sizes := map[sasl.Hash]int{sasl.SHA1: 20, sasl.SHA256: 32, sasl.SHA512: 64}
	out := make(map[sasl.Hash]sasl.Credentials, len(sizes))
	for h, n := range sizes {
		c := sasl.Credentials{Salt: sasl.NewSalt(), Iterations: sasl.DefaultIterations,
			StoredKey: make([]byte, n), ServerKey: make([]byte, n)}
		rand.Read(c.StoredKey)
		rand.Read(c.ServerKey)
		out[h] = c
	}
	return out
}
