package offline_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/mod/offline"
	"github.com/parleyim/parley/internal/storage"
	"github.com/parleyim/parley/internal/storage/storagetest"
)

// store runs fn on the SQL store of every backend (real SQLite, and the
// real PostgreSQL in a schema of its own).
func store(t *testing.T, fn func(t *testing.T, s *offline.SQLStore)) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		if err := db.Migrate(context.Background(), offline.Migrations); err != nil {
			t.Fatal(err)
		}
		fn(t, offline.NewSQLStore(db))
	})
}

var (
	alice = jid.MustParse("alice@localhost")
	bob   = jid.MustParse("bob@localhost")
	// The same username on another host is another user.
	aliceElsewhere = jid.MustParse("alice@example.org")
)

func msg(body string) offline.Message {
	return offline.Message{
		Stored: time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC),
		Stanza: `<message xmlns="jabber:client" to="alice@localhost"><body>` + body + `</body></message>`,
	}
}

// bodies returns the Stanza of each message.
func stanzas(ms []offline.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Stanza
	}
	return out
}

func put(t *testing.T, s offline.Store, user jid.JID, m offline.Message, limit int) int64 {
	t.Helper()
	id, err := s.Put(context.Background(), user, m, limit)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	return id
}

func count(t *testing.T, s offline.Store, user jid.JID) int {
	t.Helper()
	n, err := s.Count(context.Background(), user)
	if err != nil {
		t.Fatalf("Count: %v", err)
	}
	return n
}

func TestMigrations(t *testing.T) {
	if len(offline.Migrations) == 0 {
		t.Fatal("no migrations")
	}
	for i, m := range offline.Migrations {
		if m.Component != "offline" || m.Version != i+1 || m.Name == "" || m.SQLite == "" || m.Postgres == "" {
			t.Errorf("migration %d: %+v", i, m)
		}
	}
	if len(offline.Module.Migrations) != len(offline.Migrations) {
		t.Error("the module does not declare its migrations")
	}
}

func TestStorePutTake(t *testing.T) {
	store(t, func(t *testing.T, s *offline.SQLStore) {
		ctx := context.Background()
		if got, err := s.Take(ctx, alice, 10); err != nil || len(got) != 0 {
			t.Fatalf("Take of nothing = %v, %v", got, err)
		}
		if n := count(t, s, alice); n != 0 {
			t.Fatalf("Count of nothing = %d", n)
		}
		// Text that needs escaping in SQL and XML, and non-ASCII text,
		// round-trips byte for byte.
		want := []offline.Message{
			msg("first"),
			msg(`it's "quoted" &amp; 'odd' \ ; -- DROP TABLE`),
			msg("Ünïcødé 💬"),
		}
		want[2].Stored = time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)
		var ids []int64
		for _, m := range want {
			ids = append(ids, put(t, s, alice, m, 0))
		}
		if !slices.IsSorted(ids) || ids[0] == ids[1] || ids[1] == ids[2] {
			t.Fatalf("ids %v: want increasing", ids)
		}
		put(t, s, bob, msg("for bob"), 0)
		put(t, s, aliceElsewhere, msg("for the other alice"), 0)
		if n := count(t, s, alice); n != 3 {
			t.Fatalf("Count = %d, want 3", n)
		}

		// Oldest first, in batches; only what is returned is removed.
		got, err := s.Take(ctx, alice, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ID != ids[0] || got[1].ID != ids[1] {
			t.Fatalf("first Take = %+v, want ids %v", got, ids[:2])
		}
		if n := count(t, s, alice); n != 1 {
			t.Fatalf("Count after taking 2 = %d, want 1", n)
		}
		rest, err := s.Take(ctx, alice, 10)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rest...)
		if !slices.Equal(stanzas(got), stanzas(want)) {
			t.Fatalf("stanzas\n got %q\nwant %q", stanzas(got), stanzas(want))
		}
		for i := range got {
			if !got[i].Stored.Equal(want[i].Stored) {
				t.Errorf("message %d stored at %v, want %v", i, got[i].Stored, want[i].Stored)
			}
		}
		if again, err := s.Take(ctx, alice, 10); err != nil || len(again) != 0 {
			t.Fatalf("Take after all were taken = %v, %v", again, err)
		}
		if n := count(t, s, alice); n != 0 {
			t.Fatalf("Count after all were taken = %d", n)
		}
		// The other users' messages are untouched.
		for _, u := range []jid.JID{bob, aliceElsewhere} {
			if n := count(t, s, u); n != 1 {
				t.Errorf("Count(%s) = %d, want 1", u, n)
			}
		}
		// An id is never reused after its message was taken.
		if id := put(t, s, alice, msg("later"), 0); id <= ids[2] {
			t.Errorf("new id %d after %d", id, ids[2])
		}
	})
}

func TestStoreLimit(t *testing.T) {
	store(t, func(t *testing.T, s *offline.SQLStore) {
		ctx := context.Background()
		put(t, s, alice, msg("1"), 2)
		put(t, s, alice, msg("2"), 2)
		if _, err := s.Put(ctx, alice, msg("3"), 2); !errors.Is(err, offline.ErrFull) {
			t.Fatalf("Put past the limit: %v, want ErrFull", err)
		}
		if n := count(t, s, alice); n != 2 {
			t.Fatalf("Count after a refused Put = %d, want 2", n)
		}
		// Another user has a store of their own.
		put(t, s, bob, msg("b"), 2)
		// A lower limit than what is held refuses too.
		if _, err := s.Put(ctx, alice, msg("3"), 1); !errors.Is(err, offline.ErrFull) {
			t.Fatalf("Put over a lowered limit: %v, want ErrFull", err)
		}
		// Taking makes room.
		if got, err := s.Take(ctx, alice, 1); err != nil || len(got) != 1 {
			t.Fatalf("Take = %v, %v", got, err)
		}
		put(t, s, alice, msg("3"), 2)
		// 0 is no limit.
		for i := range 5 {
			put(t, s, alice, msg(fmt.Sprint("more ", i)), 0)
		}
		if n := count(t, s, alice); n != 7 {
			t.Fatalf("Count = %d, want 7", n)
		}
		got, err := s.Take(ctx, alice, 100)
		if err != nil {
			t.Fatal(err)
		}
		wantOrder := []string{msg("2").Stanza, msg("3").Stanza}
		if !slices.Equal(stanzas(got[:2]), wantOrder) {
			t.Fatalf("first two after the refusals: %q, want %q", stanzas(got[:2]), wantOrder)
		}
	})
}

func TestStoreDeleteUser(t *testing.T) {
	store(t, func(t *testing.T, s *offline.SQLStore) {
		ctx := context.Background()
		for i := range 3 {
			put(t, s, alice, msg(fmt.Sprint(i)), 0)
		}
		put(t, s, aliceElsewhere, msg("kept"), 0)
		for range 2 { // idempotent
			if err := s.DeleteUser(ctx, alice); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DeleteUser(ctx, bob); err != nil { // never had any
			t.Fatal(err)
		}
		if n := count(t, s, alice); n != 0 {
			t.Fatalf("Count after DeleteUser = %d", n)
		}
		if got, err := s.Take(ctx, alice, 10); err != nil || len(got) != 0 {
			t.Fatalf("Take after DeleteUser = %v, %v", got, err)
		}
		if n := count(t, s, aliceElsewhere); n != 1 {
			t.Fatalf("the other host's alice lost her messages: %d", n)
		}
		// The quota starts over.
		put(t, s, alice, msg("new"), 1)
	})
}

// TestStoreConcurrentTake takes one user's messages from several
// goroutines at once, as two resources becoming available together do:
// every message comes out exactly once, and each taker sees its share in
// order.
func TestStoreConcurrentTake(t *testing.T) {
	store(t, func(t *testing.T, s *offline.SQLStore) {
		ctx := context.Background()
		const total = 60
		for i := range total {
			put(t, s, alice, msg(fmt.Sprint(i)), 0)
		}
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			seen  = map[int64]int{}
			errs  []error
			order = true
		)
		for range 4 {
			wg.Go(func() {
				var last int64
				for {
					got, err := s.Take(ctx, alice, 7)
					if err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, m := range got {
						seen[m.ID]++
						if m.ID <= last {
							order = false
						}
						last = m.ID
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		if len(seen) != total {
			t.Fatalf("%d distinct messages taken, want %d", len(seen), total)
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("message %d taken %d times", id, n)
			}
		}
		if !order {
			t.Error("a taker got messages out of order")
		}
		if n := count(t, s, alice); n != 0 {
			t.Errorf("Count = %d after everything was taken", n)
		}
	})
}

// TestStoreConcurrentLimit puts from several goroutines at once: the limit
// holds exactly.
func TestStoreConcurrentLimit(t *testing.T) {
	store(t, func(t *testing.T, s *offline.SQLStore) {
		ctx := context.Background()
		const limit = 10
		var (
			wg         sync.WaitGroup
			mu         sync.Mutex
			ok, full   int
			unexpected []error
		)
		for g := range 6 {
			wg.Go(func() {
				for i := range 4 {
					_, err := s.Put(ctx, alice, msg(fmt.Sprint(g, "-", i)), limit)
					mu.Lock()
					switch {
					case err == nil:
						ok++
					case errors.Is(err, offline.ErrFull):
						full++
					default:
						unexpected = append(unexpected, err)
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(unexpected) > 0 {
			t.Fatal(unexpected)
		}
		if ok != limit || full != 24-limit {
			t.Fatalf("%d stored, %d refused; want %d and %d", ok, full, limit, 24-limit)
		}
		got, err := s.Take(ctx, alice, 100)
		if err != nil || len(got) != limit {
			t.Fatalf("Take = %d messages, %v; want %d", len(got), err, limit)
		}
	})
}

// TestStoreRestore: messages taken and put back come out again as they
// were — ids, times, stanzas — ahead of those stored meanwhile, and count
// again, past the limit too.
func TestStoreRestore(t *testing.T) {
	store(t, func(t *testing.T, s *offline.SQLStore) {
		ctx := context.Background()
		for i := range 4 {
			m := msg(fmt.Sprint(i))
			m.Stored = m.Stored.Add(time.Duration(i) * time.Minute)
			put(t, s, alice, m, 0)
		}
		taken, err := s.Take(ctx, alice, 4)
		if err != nil || len(taken) != 4 {
			t.Fatalf("Take = %v, %v", taken, err)
		}
		// Stored while the first two were being delivered.
		later := put(t, s, alice, msg("later"), 0)
		if err := s.Restore(ctx, alice, taken[2:]); err != nil {
			t.Fatalf("Restore: %v", err)
		}
		if err := s.Restore(ctx, alice, nil); err != nil {
			t.Fatalf("Restore of nothing: %v", err)
		}
		if n := count(t, s, alice); n != 3 {
			t.Fatalf("Count = %d, want 3", n)
		}
		// Put back past the limit: they were accepted already.
		if _, err := s.Put(ctx, alice, msg("over"), 3); !errors.Is(err, offline.ErrFull) {
			t.Fatalf("Put at the limit: %v, want ErrFull", err)
		}
		got, err := s.Take(ctx, alice, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 {
			t.Fatalf("Take = %+v, want 3 messages", got)
		}
		for i, want := range taken[2:] {
			if got[i].ID != want.ID || !got[i].Stored.Equal(want.Stored) || got[i].Stanza != want.Stanza {
				t.Errorf("message %d = %+v, want %+v", i, got[i], want)
			}
		}
		if got[2].ID != later {
			t.Errorf("last = %+v, want id %d", got[2], later)
		}
		// Put back over what the store already holds again.
		put(t, s, alice, msg("new"), 0)
		if err := s.Restore(ctx, alice, got[:1]); err != nil {
			t.Fatalf("Restore: %v", err)
		}
		if n := count(t, s, alice); n != 2 {
			t.Fatalf("Count = %d, want 2", n)
		}
		if first, err := s.Take(ctx, alice, 1); err != nil || len(first) != 1 || first[0].ID != got[0].ID {
			t.Fatalf("first Take = %+v, %v; want id %d", first, err, got[0].ID)
		}
	})
}
