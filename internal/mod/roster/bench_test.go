package roster_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/mod/roster"
	"github.com/parleyim/parley/internal/storage"
	"github.com/parleyim/parley/internal/storage/storagetest"
)

// benchRosterSizes are the roster sizes loaded: a typical one and a large
// one.
var benchRosterSizes = []int{50, 200}

// BenchmarkRosterLoad measures loading a user's whole roster, version and
// items, as a roster get at login does (RFC 6121 §2.1.3). Each backend
// gets one fresh database holding a roster of every size, so each load
// selects one user's rows among others'.
func BenchmarkRosterLoad(b *testing.B) {
	storagetest.RunB(b, func(b *testing.B, db *storage.DB) {
		ctx := context.Background()
		if err := db.Migrate(ctx, roster.Migrations); err != nil {
			b.Fatal(err)
		}
		s := roster.NewSQLStore(db)
		users := make(map[int]jid.JID, len(benchRosterSizes))
		for _, n := range benchRosterSizes {
			user := jid.MustParse(fmt.Sprintf("user%d@localhost", n))
			users[n] = user
			for i := range n {
				it := roster.Item{
					JID:          jid.MustParse(fmt.Sprintf("contact%03d@example.net", i)),
					Name:         fmt.Sprintf("Contact %d", i),
					Groups:       []string{"Friends", fmt.Sprintf("Group %d", i%5)},
					Subscription: roster.Both,
				}
				if _, err := s.Put(ctx, user, it, 1000); err != nil {
					b.Fatal(err)
				}
			}
		}
		for _, n := range benchRosterSizes {
			b.Run(fmt.Sprintf("items=%d", n), func(b *testing.B) {
				user := users[n]
				b.ReportAllocs()
				for b.Loop() {
					v, items, err := s.Roster(ctx, user)
					if err != nil {
						b.Fatal(err)
					}
					if len(items) != n || v.N != int64(n) {
						b.Fatalf("roster of %d items, version %d; want %d", len(items), v.N, n)
					}
				}
			})
		}
	})
}
