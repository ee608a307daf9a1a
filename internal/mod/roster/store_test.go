package roster_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/mod/roster"
	"github.com/parleyim/parley/internal/storage"
	"github.com/parleyim/parley/internal/storage/storagetest"
)

// store runs fn on the SQL store of every backend (real SQLite, and the
// real PostgreSQL in a schema of its own).
func store(t *testing.T, fn func(t *testing.T, s *roster.SQLStore)) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		if err := db.Migrate(context.Background(), roster.Migrations); err != nil {
			t.Fatal(err)
		}
		fn(t, roster.NewSQLStore(db))
	})
}

func equalItems(a, b []roster.Item) bool {
	return slices.EqualFunc(a, b, func(x, y roster.Item) bool {
		return x.JID == y.JID && x.Name == y.Name && slices.Equal(x.Groups, y.Groups) &&
			x.Subscription == y.Subscription && x.Ask == y.Ask && x.Approved == y.Approved && x.Version == y.Version
	})
}

var (
	alice = jid.MustParse("alice@localhost")
	bob   = jid.MustParse("bob@localhost")
	// The same username on another host is another user.
	aliceElsewhere = jid.MustParse("alice@example.org")
)

func TestMigrations(t *testing.T) {
	if len(roster.Migrations) == 0 {
		t.Fatal("no migrations")
	}
	for i, m := range roster.Migrations {
		if m.Component != "roster" || m.Version != i+1 || m.Name == "" || m.SQLite == "" || m.Postgres == "" {
			t.Errorf("migration %d: %+v", i, m)
		}
	}
	if roster.Module.Migrations == nil || len(roster.Module.Migrations) != len(roster.Migrations) {
		t.Error("the module does not declare its migrations")
	}
}

func TestStoreItems(t *testing.T) {
	store(t, func(t *testing.T, s *roster.SQLStore) {
		ctx := context.Background()
		v, items, err := s.Roster(ctx, alice)
		if err != nil || v != (roster.Version{}) || len(items) != 0 {
			t.Fatalf("empty roster = %+v, %v, %v", v, items, err)
		}
		if _, err := s.Item(ctx, alice, bob); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("Item of an empty roster: %v", err)
		}

		// Names, groups and states round-trip, including text that needs
		// quoting in JSON and SQL.
		nurse := roster.Item{JID: jid.MustParse("nurse@example.com"), Name: `Nurse "Angelica" 'O\'`,
			Groups: []string{"Servants", `a"b\c`, "Ünïcødé 💬"}, Subscription: roster.Both, Ask: true, Approved: true, Version: 99}
		v1, err := s.Put(ctx, alice, nurse, 10)
		if err != nil {
			t.Fatal(err)
		}
		if v1.Epoch == 0 || v1.N != 1 || v1.Removed != 0 {
			t.Fatalf("first version %+v", v1)
		}
		nurse.Version = 1 // the store's, not the caller's
		got, err := s.Item(ctx, alice, nurse.JID)
		if err != nil || !equalItems([]roster.Item{got}, []roster.Item{nurse}) {
			t.Fatalf("Item = %+v, %v; want %+v", got, err, nurse)
		}

		// Replacing: everything as given, no groups as nil, a new version.
		nurse = roster.Item{JID: nurse.JID, Subscription: roster.To}
		v2, err := s.Put(ctx, alice, nurse, 10)
		if err != nil || v2.Epoch != v1.Epoch || v2.N != 2 {
			t.Fatalf("second version %+v, %v", v2, err)
		}
		nurse.Version = 2
		// Sorted by JID whatever the order of writes; a zero subscription
		// is stored as none.
		romeo := roster.Item{JID: jid.MustParse("romeo@example.net"), Groups: []string{"Friends"}}
		ben := roster.Item{JID: jid.MustParse("benvolio@example.net"), Name: "Ben"}
		for _, it := range []roster.Item{romeo, ben} {
			if _, err := s.Put(ctx, alice, it, 10); err != nil {
				t.Fatal(err)
			}
		}
		romeo.Subscription, romeo.Version = roster.None, 3
		ben.Subscription, ben.Version = roster.None, 4
		v, items, err = s.Roster(ctx, alice)
		if err != nil || v.N != 4 || v.Epoch != v1.Epoch || !equalItems(items, []roster.Item{ben, nurse, romeo}) {
			t.Fatalf("Roster = %+v, %+v, %v", v, items, err)
		}
		if items[1].Groups != nil {
			t.Fatalf("no groups read back as %#v", items[1].Groups)
		}

		// Other users see nothing of it.
		for _, u := range []jid.JID{bob, aliceElsewhere} {
			if v, items, err := s.Roster(ctx, u); err != nil || v.N != 0 || len(items) != 0 {
				t.Fatalf("roster of %s = %+v, %v, %v", u, v, items, err)
			}
		}

		// Delete records its version as the last deletion.
		v5, err := s.Delete(ctx, alice, nurse.JID)
		if err != nil || v5.N != 5 || v5.Removed != 5 || v5.Epoch != v1.Epoch {
			t.Fatalf("Delete = %+v, %v", v5, err)
		}
		if _, err := s.Item(ctx, alice, nurse.JID); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("deleted item: %v", err)
		}
		// Deleting what is not there changes no version.
		if _, err := s.Delete(ctx, alice, nurse.JID); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("second Delete: %v", err)
		}
		if _, err := s.Delete(ctx, bob, nurse.JID); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("Delete on an empty roster: %v", err)
		}
		v, _, _ = s.Roster(ctx, alice)
		if v != (roster.Version{Epoch: v1.Epoch, N: 5, Removed: 5}) {
			t.Fatalf("version after failed deletes %+v", v)
		}
		if v, _, _ := s.Roster(ctx, bob); v != (roster.Version{}) {
			t.Fatalf("a failed delete created bob's version %+v", v)
		}
		v6, err := s.Put(ctx, alice, nurse, 10)
		if err != nil || v6.N != 6 || v6.Removed != 5 {
			t.Fatalf("Put after Delete = %+v, %v", v6, err)
		}
	})
}

// TestStoreOrder checks that both backends list contacts in byte order of
// their JIDs, whatever the database's locale would say.
func TestStoreOrder(t *testing.T) {
	store(t, func(t *testing.T, s *roster.SQLStore) {
		ctx := context.Background()
		want := []string{"ab@example.net", "zoe@example.net", "émile@example.net"}
		for _, c := range []string{want[2], want[0], want[1]} {
			if _, err := s.Put(ctx, alice, roster.Item{JID: jid.MustParse(c)}, 10); err != nil {
				t.Fatal(err)
			}
			if err := s.PutPendingIn(ctx, alice, roster.PendingIn{JID: jid.MustParse(c), Stanza: "<presence/>"}, 10); err != nil {
				t.Fatal(err)
			}
		}
		_, items, err := s.Roster(ctx, alice)
		if err != nil {
			t.Fatal(err)
		}
		pending, err := s.PendingIns(ctx, alice)
		if err != nil {
			t.Fatal(err)
		}
		var gotItems, gotPending []string
		for i := range items {
			gotItems = append(gotItems, items[i].JID.String())
		}
		for i := range pending {
			gotPending = append(gotPending, pending[i].JID.String())
		}
		if !slices.Equal(gotItems, want) || !slices.Equal(gotPending, want) {
			t.Fatalf("items %q, pending %q; want %q", gotItems, gotPending, want)
		}
	})
}

func TestStoreLimit(t *testing.T) {
	store(t, func(t *testing.T, s *roster.SQLStore) {
		ctx := context.Background()
		a := roster.Item{JID: jid.MustParse("a@example.com")}
		b := roster.Item{JID: jid.MustParse("b@example.com")}
		c := roster.Item{JID: jid.MustParse("c@example.com")}
		for _, it := range []roster.Item{a, b} {
			if _, err := s.Put(ctx, alice, it, 2); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Put(ctx, alice, c, 2); !errors.Is(err, roster.ErrFull) {
			t.Fatalf("third item: %v", err)
		}
		// The refused write took no version.
		if v, items, _ := s.Roster(ctx, alice); v.N != 2 || len(items) != 2 {
			t.Fatalf("after the refused write: %+v, %d items", v, len(items))
		}
		// Updates are no additions.
		b.Name = "B"
		if v, err := s.Put(ctx, alice, b, 2); err != nil || v.N != 3 {
			t.Fatalf("update at the limit: %+v, %v", v, err)
		}
		// The limit is per user.
		if _, err := s.Put(ctx, bob, c, 2); err != nil {
			t.Fatal(err)
		}
	})
}

func TestStorePendingIn(t *testing.T) {
	store(t, func(t *testing.T, s *roster.SQLStore) {
		ctx := context.Background()
		if ps, err := s.PendingIns(ctx, alice); err != nil || len(ps) != 0 {
			t.Fatalf("PendingIns of nobody = %v, %v", ps, err)
		}
		romeo := roster.PendingIn{JID: jid.MustParse("romeo@example.net"), Stanza: `<presence type='subscribe' from='romeo@example.net'/>`}
		ben := roster.PendingIn{JID: jid.MustParse("benvolio@example.net"), Stanza: `<presence type='subscribe'><status>hi</status></presence>`}
		for _, p := range []roster.PendingIn{romeo, ben} {
			if err := s.PutPendingIn(ctx, alice, p, 2); err != nil {
				t.Fatal(err)
			}
		}
		// A repeated request replaces the first, also at the limit.
		romeo.Stanza = `<presence type='subscribe'><status>again</status></presence>`
		if err := s.PutPendingIn(ctx, alice, romeo, 2); err != nil {
			t.Fatal(err)
		}
		if err := s.PutPendingIn(ctx, alice, roster.PendingIn{JID: jid.MustParse("tybalt@example.org"), Stanza: "<presence/>"}, 2); !errors.Is(err, roster.ErrFull) {
			t.Fatalf("third pending request: %v", err)
		}
		ps, err := s.PendingIns(ctx, alice)
		if err != nil || !slices.Equal(ps, []roster.PendingIn{ben, romeo}) {
			t.Fatalf("PendingIns = %v, %v", ps, err)
		}
		// Pending requests are no roster items and take no version.
		if v, items, _ := s.Roster(ctx, alice); v.N != 0 || len(items) != 0 {
			t.Fatalf("pending requests in the roster: %+v, %v", v, items)
		}
		if ok, err := s.DeletePendingIn(ctx, alice, romeo.JID); !ok || err != nil {
			t.Fatalf("DeletePendingIn = %v, %v", ok, err)
		}
		if ok, err := s.DeletePendingIn(ctx, alice, romeo.JID); ok || err != nil {
			t.Fatalf("second DeletePendingIn = %v, %v", ok, err)
		}
		if ps, _ := s.PendingIns(ctx, bob); len(ps) != 0 {
			t.Fatalf("bob sees alice's requests: %v", ps)
		}
	})
}

func TestStoreDeleteUser(t *testing.T) {
	store(t, func(t *testing.T, s *roster.SQLStore) {
		ctx := context.Background()
		it := roster.Item{JID: jid.MustParse("a@example.com")}
		p := roster.PendingIn{JID: jid.MustParse("b@example.com"), Stanza: "<presence type='subscribe'/>"}
		for _, u := range []jid.JID{alice, bob} {
			if _, err := s.Put(ctx, u, it, 10); err != nil {
				t.Fatal(err)
			}
			if err := s.PutPendingIn(ctx, u, p, 10); err != nil {
				t.Fatal(err)
			}
		}
		old, _, _ := s.Roster(ctx, alice)
		for range 2 { // idempotent
			if err := s.DeleteUser(ctx, alice); err != nil {
				t.Fatal(err)
			}
		}
		if v, items, _ := s.Roster(ctx, alice); v != (roster.Version{}) || len(items) != 0 {
			t.Fatalf("after DeleteUser: %+v, %v", v, items)
		}
		if ps, _ := s.PendingIns(ctx, alice); len(ps) != 0 {
			t.Fatalf("pending requests after DeleteUser: %v", ps)
		}
		// A roster created again counts from 1 in a new epoch.
		v, err := s.Put(ctx, alice, it, 10)
		if err != nil || v.N != 1 || v.Epoch == old.Epoch {
			t.Fatalf("recreated: %+v (old %+v), %v", v, old, err)
		}
		if v, items, _ := s.Roster(ctx, bob); v.N != 1 || len(items) != 1 {
			t.Fatalf("bob's roster after alice's removal: %+v, %v", v, items)
		}
		if ps, _ := s.PendingIns(ctx, bob); len(ps) != 1 {
			t.Fatalf("bob's requests after alice's removal: %v", ps)
		}
	})
}

// Concurrent writers of one roster get distinct, gapless versions, and the
// limit holds.
func TestStoreConcurrent(t *testing.T) {
	store(t, func(t *testing.T, s *roster.SQLStore) {
		ctx := context.Background()
		const writers, limit = 8, 6
		var wg sync.WaitGroup
		vs := make(chan int64, writers)
		errs := make(chan error, writers)
		for i := range writers {
			wg.Go(func() {
				it := roster.Item{JID: jid.MustParse(string(rune('a'+i)) + "@example.com")}
				v, err := s.Put(ctx, alice, it, limit)
				if err != nil {
					errs <- err
					return
				}
				vs <- v.N
			})
		}
		wg.Wait()
		close(vs)
		close(errs)
		var got []int64
		for v := range vs {
			got = append(got, v)
		}
		slices.Sort(got)
		if !slices.Equal(got, []int64{1, 2, 3, 4, 5, 6}) {
			t.Errorf("versions %v", got)
		}
		for err := range errs {
			if !errors.Is(err, roster.ErrFull) {
				t.Errorf("writer: %v", err)
			}
		}
		if _, items, _ := s.Roster(ctx, alice); len(items) != limit {
			t.Errorf("%d items, limit %d", len(items), limit)
		}
	})
}
