package offline_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/mod/offline"
	"github.com/parleyim/parley/internal/storage"
	"github.com/parleyim/parley/internal/storage/storagetest"
)

// benchMessage returns a stored message of a typical size: a chat message
// with a short body and the delay stamp the module adds (XEP-0203).
func benchMessage(i int) offline.Message {
	return offline.Message{
		Stored: time.Now(),
		Stanza: fmt.Sprintf(`<message xmlns="jabber:client" from="sender@example.net/phone" to="rcpt@localhost" type="chat" id="m%d">`+
			`<body>Hello, this is message number %d, sent while you were away.</body>`+
			`<delay xmlns="urn:xmpp:delay" from="localhost" stamp="2026-12-04T10:00:00.000000Z"/></message>`, i, i),
	}
}

// benchStore returns a migrated store on db whose tables already hold the
// messages of other users, so that each operation selects one user's rows
// among others'.
func benchStore(b *testing.B, db *storage.DB) *offline.SQLStore {
	b.Helper()
	ctx := context.Background()
	if err := db.Migrate(ctx, offline.Migrations); err != nil {
		b.Fatal(err)
	}
	s := offline.NewSQLStore(db)
	for u := range 20 {
		user := jid.MustParse(fmt.Sprintf("other%02d@localhost", u))
		for i := range 10 {
			if _, err := s.Put(ctx, user, benchMessage(i), 0); err != nil {
				b.Fatal(err)
			}
		}
	}
	return s
}

// BenchmarkOfflinePut measures storing one message for a user who is
// offline, with the default quota checked. Every 100 messages the user's
// store is emptied, untimed, so it stays the size of a real backlog.
func BenchmarkOfflinePut(b *testing.B) {
	storagetest.RunB(b, func(b *testing.B, db *storage.DB) {
		ctx := context.Background()
		s := benchStore(b, db)
		user := jid.MustParse("rcpt@localhost")
		m := benchMessage(0)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := s.Put(ctx, user, m, offline.DefaultMaxMessages); err != nil {
				b.Fatal(err)
			}
			if i++; i%100 == 0 {
				b.StopTimer()
				if _, err := s.Take(ctx, user, offline.DeliverBatch); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		}
	})
}

// BenchmarkOfflineTake measures what delivery at login asks of the store:
// taking the user's stored messages, DeliverBatch at most, in one call.
// messages=0 is the call every available presence makes for a user with
// nothing stored. The messages taken are restored, untimed, before the
// next take.
func BenchmarkOfflineTake(b *testing.B) {
	storagetest.RunB(b, func(b *testing.B, db *storage.DB) {
		ctx := context.Background()
		s := benchStore(b, db)
		for _, n := range []int{0, 10, 100} {
			b.Run(fmt.Sprintf("messages=%d", n), func(b *testing.B) {
				user := jid.MustParse(fmt.Sprintf("rcpt%d@localhost", n))
				// The testing package may call this function more than
				// once on the same database (-count): start afresh.
				if err := s.DeleteUser(ctx, user); err != nil {
					b.Fatal(err)
				}
				for i := range n {
					if _, err := s.Put(ctx, user, benchMessage(i), 0); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportAllocs()
				for b.Loop() {
					ms, err := s.Take(ctx, user, offline.DeliverBatch)
					if err != nil {
						b.Fatal(err)
					}
					if len(ms) != n {
						b.Fatalf("took %d messages, want %d", len(ms), n)
					}
					b.StopTimer()
					if err := s.Restore(ctx, user, ms); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
			})
		}
	})
}

// BenchmarkOfflineCount measures reading how many messages a user with
// none has: a read, set beside BenchmarkOfflineTake/messages=0, which is
// a write transaction for the same answer.
func BenchmarkOfflineCount(b *testing.B) {
	storagetest.RunB(b, func(b *testing.B, db *storage.DB) {
		ctx := context.Background()
		s := benchStore(b, db)
		user := jid.MustParse("rcpt@localhost")
		b.ReportAllocs()
		for b.Loop() {
			if n, err := s.Count(ctx, user); err != nil || n != 0 {
				b.Fatalf("Count = %d, %v; want 0", n, err)
			}
		}
	})
}
