package blocking_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/mod/blocking"
	"github.com/parleyim/parley/internal/storage"
	"github.com/parleyim/parley/internal/storage/storagetest"
)

// store runs fn on the SQL store of every backend (a real SQLite file,
// and the real PostgreSQL in a schema of its own).
func store(t *testing.T, fn func(t *testing.T, s *blocking.SQLStore)) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		if err := db.Migrate(context.Background(), blocking.Migrations); err != nil {
			t.Fatal(err)
		}
		fn(t, blocking.NewSQLStore(db))
	})
}

func jids(ss ...string) []jid.JID {
	out := []jid.JID{}
	for _, s := range ss {
		out = append(out, jid.MustParse(s))
	}
	return out
}

func sameJIDs(a, b []jid.JID) bool {
	return len(a) == len(b) && (len(a) == 0 || slices.Equal(a, b))
}

var (
	juliet = jid.MustParse("juliet@capulet.com")
	romeo  = jid.MustParse("romeo@montague.net")
	// The same username on another host is another user.
	julietElsewhere = jid.MustParse("juliet@example.org")
)

func TestMigrations(t *testing.T) {
	if len(blocking.Migrations) == 0 {
		t.Fatal("no migrations")
	}
	for i, m := range blocking.Migrations {
		if m.Component != "blocking" || m.Version != i+1 || m.Name == "" || m.SQLite == "" || m.Postgres == "" {
			t.Errorf("migration %d: %+v", i, m)
		}
	}
	if len(blocking.Module.Migrations) != len(blocking.Migrations) {
		t.Error("the module does not declare its migrations")
	}
}

func TestStoreBlockUnblock(t *testing.T) {
	store(t, func(t *testing.T, s *blocking.SQLStore) {
		ctx := context.Background()
		if l, err := s.List(ctx, juliet); err != nil || len(l) != 0 {
			t.Fatalf("empty list = %v, %v", l, err)
		}
		// Every kind of JID round-trips; the list comes back sorted.
		all := jids("romeo@montague.net/orchard", "montague.net", "iago@shakespeare.lit", "montague.net/chat", "Ünïcødé@example.net")
		added, err := s.Block(ctx, juliet, all, 10)
		if err != nil || !sameJIDs(added, all) {
			t.Fatalf("Block = %v, %v", added, err)
		}
		want := slices.Clone(all)
		slices.SortFunc(want, func(a, b jid.JID) int {
			if a.String() < b.String() {
				return -1
			}
			return 1
		})
		if l, err := s.List(ctx, juliet); err != nil || !sameJIDs(l, want) {
			t.Fatalf("List = %v, %v; want %v", l, err, want)
		}
		// Blocking again adds only what is new, in the order given.
		added, err = s.Block(ctx, juliet, jids("tybalt@capulet.com", "montague.net", "paris@verona.lit"), 10)
		if err != nil || !sameJIDs(added, jids("tybalt@capulet.com", "paris@verona.lit")) {
			t.Fatalf("second Block = %v, %v", added, err)
		}
		// Other users see nothing of it.
		for _, u := range []jid.JID{romeo, julietElsewhere} {
			if l, err := s.List(ctx, u); err != nil || len(l) != 0 {
				t.Fatalf("list of %s = %v, %v", u, l, err)
			}
		}
		// Unblock returns what was there; absent items are no error.
		removed, err := s.Unblock(ctx, juliet, jids("montague.net", "nobody@example.com", "paris@verona.lit"))
		if err != nil || !sameJIDs(removed, jids("montague.net", "paris@verona.lit")) {
			t.Fatalf("Unblock = %v, %v", removed, err)
		}
		if removed, err := s.Unblock(ctx, romeo, jids("montague.net")); err != nil || len(removed) != 0 {
			t.Fatalf("Unblock of an empty list = %v, %v", removed, err)
		}
		l, _ := s.List(ctx, juliet)
		if !sameJIDs(l, jids("iago@shakespeare.lit", "montague.net/chat", "romeo@montague.net/orchard", "tybalt@capulet.com", "Ünïcødé@example.net")) {
			t.Fatalf("after Unblock: %v", l)
		}
		if _, err := s.Block(ctx, romeo, jids("juliet@capulet.com"), 10); err != nil {
			t.Fatal(err)
		}
		// UnblockAll returns the whole list, sorted, and is idempotent.
		removed, err = s.UnblockAll(ctx, juliet)
		if err != nil || !sameJIDs(removed, l) {
			t.Fatalf("UnblockAll = %v, %v; want %v", removed, err, l)
		}
		for _, u := range []jid.JID{juliet, julietElsewhere} {
			if removed, err := s.UnblockAll(ctx, u); err != nil || len(removed) != 0 {
				t.Fatalf("UnblockAll of an empty list of %s = %v, %v", u, removed, err)
			}
		}
		if l, _ := s.List(ctx, juliet); len(l) != 0 {
			t.Fatalf("after UnblockAll: %v", l)
		}
		if l, _ := s.List(ctx, romeo); !sameJIDs(l, jids("juliet@capulet.com")) {
			t.Fatalf("romeo's list after juliet's UnblockAll: %v", l)
		}
	})
}

func TestStoreLimit(t *testing.T) {
	store(t, func(t *testing.T, s *blocking.SQLStore) {
		ctx := context.Background()
		if _, err := s.Block(ctx, juliet, jids("a@example.com", "b@example.com"), 3); err != nil {
			t.Fatal(err)
		}
		// Two new ones would make four: nothing is written.
		if _, err := s.Block(ctx, juliet, jids("c@example.com", "d@example.com"), 3); !errors.Is(err, blocking.ErrFull) {
			t.Fatalf("past the limit: %v", err)
		}
		if l, _ := s.List(ctx, juliet); !sameJIDs(l, jids("a@example.com", "b@example.com")) {
			t.Fatalf("after the refused block: %v", l)
		}
		// Up to the limit, and items already there do not count twice.
		if added, err := s.Block(ctx, juliet, jids("a@example.com", "c@example.com"), 3); err != nil || !sameJIDs(added, jids("c@example.com")) {
			t.Fatalf("to the limit: %v, %v", added, err)
		}
		if added, err := s.Block(ctx, juliet, jids("b@example.com"), 3); err != nil || len(added) != 0 {
			t.Fatalf("nothing new at the limit: %v, %v", added, err)
		}
		// The limit is per user.
		if _, err := s.Block(ctx, romeo, jids("a@example.com", "b@example.com", "c@example.com"), 3); err != nil {
			t.Fatal(err)
		}
	})
}

// Concurrent blocks of one list each add their own item once.
func TestStoreConcurrent(t *testing.T) {
	store(t, func(t *testing.T, s *blocking.SQLStore) {
		ctx := context.Background()
		const writers = 8
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for i := range writers {
			wg.Go(func() {
				j := jid.MustParse(string(rune('a'+i)) + "@example.com")
				added, err := s.Block(ctx, juliet, []jid.JID{j, jid.MustParse("shared@example.com")}, 100)
				if err == nil && (len(added) == 0 || added[0] != j) {
					err = errors.New("own item not added: " + j.String())
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		if l, _ := s.List(ctx, juliet); len(l) != writers+1 {
			t.Fatalf("%d items, want %d: %v", len(l), writers+1, l)
		}
	})
}
