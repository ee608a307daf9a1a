package auth_test

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/auth"
	"github.com/parleyim/parley/internal/sasl"
	"github.com/parleyim/parley/internal/storage"
	"github.com/parleyim/parley/internal/storage/storagetest"
)

func newAccounts(t *testing.T, db *storage.DB) *auth.Accounts {
	t.Helper()
	if err := db.Migrate(context.Background(), auth.Migrations); err != nil {
		t.Fatal(err)
	}
	return auth.NewAccounts(auth.NewSQLStore(db))
}

// login runs a full SCRAM exchange against the stored credentials.
func login(t *testing.T, acc *auth.Accounts, host, user, pass, mech string) error {
	t.Helper()
	ctx := context.Background()
	srv, err := sasl.NewServer(mech, sasl.ServerConfig{Lookup: acc.Lookup(host)})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := sasl.NewClient(mech, user, pass, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var in []byte
	for range 4 {
		out, _, err := cl.Step(in)
		if err != nil {
			return err
		}
		resp, done, err := srv.Step(ctx, out)
		if err != nil {
			return err
		}
		if done {
			_, _, err := cl.Step(resp)
			return err
		}
		in = resp
	}
	return errors.New("no end")
}

func TestAccounts(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		acc := newAccounts(t, db)
		if err := acc.Register(ctx, "example.com", "Alice", "s3cret"); err != nil {
			t.Fatal(err)
		}
		// Usernames are prepared: "Alice" is "alice".
		if err := acc.Register(ctx, "example.com", "alice", "x"); !errors.Is(err, auth.ErrUserExists) {
			t.Fatalf("second register: %v, want ErrUserExists", err)
		}
		if ok, err := acc.Exists(ctx, "example.com", "ALICE"); err != nil || !ok {
			t.Fatalf("Exists = %v, %v", ok, err)
		}
		if ok, _ := acc.Exists(ctx, "other.example", "alice"); ok {
			t.Fatal("alice exists on another host")
		}
		for _, m := range []string{"SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"} {
			if err := login(t, acc, "example.com", "alice", "s3cret", m); err != nil {
				t.Errorf("%s login: %v", m, err)
			}
			var f *sasl.Failure
			if err := login(t, acc, "example.com", "alice", "wrong", m); !errors.As(err, &f) || f.Condition != "not-authorized" {
				t.Errorf("%s with wrong password: %v, want not-authorized", m, err)
			}
		}
		if err := acc.SetPassword(ctx, "example.com", "alice", "n3w"); err != nil {
			t.Fatal(err)
		}
		if err := login(t, acc, "example.com", "alice", "s3cret", "SCRAM-SHA-256"); err == nil {
			t.Error("old password still works")
		}
		if err := login(t, acc, "example.com", "alice", "n3w", "SCRAM-SHA-256"); err != nil {
			t.Errorf("new password: %v", err)
		}
		if err := acc.SetPassword(ctx, "example.com", "bob", "x"); !errors.Is(err, auth.ErrUnknownUser) {
			t.Errorf("SetPassword of unknown user: %v", err)
		}
		if err := acc.Register(ctx, "example.com", "bob", "b"); err != nil {
			t.Fatal(err)
		}
		users, err := acc.List(ctx, "example.com")
		if err != nil || !slices.Equal(users, []string{"alice", "bob"}) {
			t.Fatalf("List = %v, %v", users, err)
		}
		if n, err := acc.Count(ctx, "example.com"); err != nil || n != 2 {
			t.Fatalf("Count = %d, %v", n, err)
		}
		if err := acc.Remove(ctx, "example.com", "alice"); err != nil {
			t.Fatal(err)
		}
		if err := acc.Remove(ctx, "example.com", "alice"); !errors.Is(err, auth.ErrUnknownUser) {
			t.Errorf("second Remove: %v", err)
		}
		if err := login(t, acc, "example.com", "alice", "n3w", "SCRAM-SHA-1"); err == nil {
			t.Error("removed user logs in")
		}
		// Re-registering a removed name works (credentials were removed too).
		if err := acc.Register(ctx, "example.com", "alice", "again"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestAccountsInvalid(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		acc := newAccounts(t, db)
		for _, u := range []string{"", "a b", "a@b", "a/b", strings.Repeat("x", 1024), "\u0007bell"} {
			if err := acc.Register(ctx, "example.com", u, "pw"); !errors.Is(err, auth.ErrInvalidUsername) {
				t.Errorf("Register(%q): %v, want ErrInvalidUsername", u, err)
			}
		}
		for _, p := range []string{"", "ctl\u0001char", strings.Repeat("p", 1025)} {
			err := acc.Register(ctx, "example.com", "carol", p)
			if !errors.Is(err, auth.ErrInvalidPassword) {
				t.Errorf("Register with password %q: %v, want ErrInvalidPassword", p, err)
			}
			if err != nil && p != "" && strings.Contains(err.Error(), p) {
				t.Errorf("error %q reveals the password", err)
			}
		}
		if ok, _ := acc.Exists(ctx, "example.com", "carol"); ok {
			t.Error("a failed registration left an account")
		}
	})
}

func TestNoPlaintextStored(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		acc := newAccounts(t, db)
		const pw = "very-distinctive-password"
		if err := acc.Register(ctx, "example.com", "dave", pw); err != nil {
			t.Fatal(err)
		}
		rows, err := db.SQL.QueryContext(ctx, `SELECT hash, salt, stored_key, server_key FROM user_credentials`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var hashes []string
		for rows.Next() {
			var h string
			var a, b, c []byte
			if err := rows.Scan(&h, &a, &b, &c); err != nil {
				t.Fatal(err)
			}
			hashes = append(hashes, h)
			for _, v := range [][]byte{a, b, c} {
				if strings.Contains(string(v), pw) {
					t.Fatal("password stored in clear")
				}
			}
		}
		slices.Sort(hashes)
		if !slices.Equal(hashes, []string{"SHA-1", "SHA-256", "SHA-512"}) {
			t.Fatalf("stored hashes %v", hashes)
		}
	})
}

func TestThrottle(t *testing.T) {
	th := auth.NewThrottle(3, 60e9)
	a := netip.MustParseAddr("192.0.2.1")
	b := netip.MustParseAddr("192.0.2.2")
	for range 3 {
		th.Failed(a)
	}
	if d := th.Delay(a); d != 1e9 {
		t.Fatalf("after 3 failures Delay = %v, want 1s", d)
	}
	th.Failed(a)
	if d := th.Delay(a); d != 2e9 {
		t.Fatalf("after 4 failures Delay = %v, want 2s", d)
	}
	for range 20 {
		th.Failed(a)
	}
	if d := th.Delay(a); d != 30e9 {
		t.Fatalf("Delay capped at %v, want 30s", d)
	}
	if d := th.Delay(b); d != 0 {
		t.Fatalf("other address delayed %v", d)
	}
	th.Succeeded(a)
	if d := th.Delay(a); d != 0 {
		t.Fatalf("after success Delay = %v", d)
	}
	// IPv6 addresses of one /64 share a counter.
	v1, v2 := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	for range 4 {
		th.Failed(v1)
	}
	if th.Delay(v2) == 0 {
		t.Fatal("same /64 not throttled")
	}
	var nilT *auth.Throttle
	nilT.Failed(a)
	if nilT.Delay(a) != 0 || auth.NewThrottle(0, 0) != nil {
		t.Fatal("disabled throttle delays")
	}
}
