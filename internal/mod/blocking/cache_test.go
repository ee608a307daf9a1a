package blocking_test

// How often the module reads blocklists from its store: the real SQL
// store, wrapped to count its List calls. Every stanza to or from a local
// user is checked against a list, so a list is read once and then cached
// (for a user with no session too, up to a bound), and every change
// through the module updates the cache.

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/mod/blocking"
	"github.com/parleyim/parley/internal/mod/modtest"
	"github.com/parleyim/parley/internal/stanza"
)

// countingStore counts the List calls of the store it wraps, and fails
// them while fail is set.
type countingStore struct {
	blocking.Store
	lists atomic.Int64
	fail  atomic.Bool
}

func (c *countingStore) List(ctx context.Context, user jid.JID) ([]jid.JID, error) {
	c.lists.Add(1)
	if c.fail.Load() {
		return nil, errors.New("blocking test: the store is down")
	}
	return c.Store.List(ctx, user)
}

func startCounting(t testing.TB) (*env, *countingStore) {
	t.Helper()
	c := &countingStore{}
	e := startWith(t, "", blocking.ModuleWithStore(func(s blocking.Store) blocking.Store {
		c.Store = s
		return c
	}))
	return e, c
}

// register creates an account that has no session.
func (e *env) register(t testing.TB, user string) {
	t.Helper()
	if err := e.Accounts.Register(context.Background(), e.Domain, user, modtest.Password); err != nil {
		t.Fatal(err)
	}
}

// undelivered runs message.undelivered for a chat message from → to, as
// the router does for a user with no session, and returns the verdict:
// Drop when the recipient blocked the sender.
func (e *env) undelivered(t testing.TB, from, to string) hook.Verdict {
	t.Helper()
	st := stanza.New(modtest.Parse(t, `<message type='chat'><body>x</body></message>`), jid.MustParse(from), jid.MustParse(to))
	return hook.Run(context.Background(), e.Hooks, hook.MessageUndelivered, &hook.StanzaEvent{Stanza: st})
}

// Messages and probes to a user with no session read the user's list
// once, not once per stanza and hook; a change made through the module
// is seen at once, without reading the list again.
func TestStoreReads(t *testing.T) {
	e, c := startCounting(t)
	carol := e.login(t, "carol", "pc")
	e.register(t, "dave")

	// Each message runs carol's stanza.in (carol's list and dave's) and,
	// dave having no session, message.undelivered (dave's list again).
	for range 10 {
		e.send(t, carol, `<message type='chat' id='m' to='dave@localhost'><body>hi</body></message>`)
		carol.Expect(t, `<message type='error' id='m' from='dave@localhost'><body>hi</body>`+errUnavailable+`</message>`)
	}
	// presence.in, for probes (as the presence module sends them at
	// login) and presence to dave.
	for range 5 {
		e.route(t, "carol@localhost/pc", "dave@localhost", `<presence type='probe'/>`)
		e.route(t, "carol@localhost/pc", "dave@localhost", `<presence type='subscribe'/>`)
	}
	if got := c.lists.Load(); got != 2 {
		t.Fatalf("%d blocklist reads for 10 messages and 10 presence stanzas between carol and dave; want 2 (each list once)", got)
	}

	// Dave blocks and unblocks carol in a session, and leaves: each
	// change is enforced for dave with no session, from the cache.
	dave := e.login(t, "dave", "laptop")
	e.ok(t, dave, block("b", "carol@localhost"))
	e.logout(dave)
	if v := e.undelivered(t, "carol@localhost/pc", "dave@localhost"); v != hook.Drop {
		t.Fatalf("message from carol after dave blocked her: verdict %v, want Drop", v)
	}
	dave = e.login(t, "dave", "laptop")
	e.ok(t, dave, unblock("u", "carol@localhost"))
	e.logout(dave)
	if v := e.undelivered(t, "carol@localhost/pc", "dave@localhost"); v != hook.Continue {
		t.Fatalf("message from carol after dave unblocked her: verdict %v, want Continue", v)
	}
	dave = e.login(t, "dave", "laptop")
	e.ok(t, dave, block("b2", "carol@localhost"))
	e.ok(t, dave, unblock("u2"))
	e.logout(dave)
	if v := e.undelivered(t, "carol@localhost/pc", "dave@localhost"); v != hook.Continue {
		t.Fatalf("message from carol after dave unblocked all: verdict %v, want Continue", v)
	}
	if got := c.lists.Load(); got != 2 {
		t.Fatalf("%d blocklist reads in all; want 2", got)
	}
}

// A list that cannot be read blocks nothing (the module fails open), and
// the failure is not cached: the next stanza reads the list again.
func TestStoreReadFailsOpen(t *testing.T) {
	e, c := startCounting(t)
	dave := e.login(t, "dave", "laptop")
	e.ok(t, dave, block("b", "carol@localhost"))
	e.logout(dave)
	e.login(t, "erin", "pc")
	e.register(t, "frank")
	e.route(t, "erin@localhost/pc", "frank@localhost", `<presence type='probe'/>`) // frank's list: empty, cached

	// The store fails from now on: what is cached still counts.
	c.fail.Store(true)
	before := c.lists.Load()
	if v := e.undelivered(t, "erin@localhost/pc", "frank@localhost"); v != hook.Continue {
		t.Fatalf("cached empty list: verdict %v, want Continue", v)
	}
	if got := c.lists.Load() - before; got != 0 {
		t.Fatalf("a cached list was read %d times", got)
	}
	// Gina's list was never read: it cannot be, and blocks nothing.
	e.register(t, "gina")
	for range 2 {
		if v := e.undelivered(t, "carol@localhost/pc", "gina@localhost"); v != hook.Continue {
			t.Fatalf("unreadable list: verdict %v, want Continue (fail open)", v)
		}
	}
	if got := c.lists.Load() - before; got != 2 {
		t.Fatalf("%d reads of an unreadable list for two messages; want 2 (failures are not cached)", got)
	}
	c.fail.Store(false)
	if v := e.undelivered(t, "carol@localhost/pc", "dave@localhost"); v != hook.Drop {
		t.Fatalf("dave's list, cached when he blocked carol: verdict %v, want Drop", v)
	}
}

// BenchmarkMessageToOffline sends a chat message from a user with a
// session to one without: stanza.in, the router, message.undelivered and
// the bounce to the sender, with the blocklist reads per message.
func BenchmarkMessageToOffline(b *testing.B) {
	e, c := startCounting(b)
	carol := e.login(b, "carol", "pc")
	e.register(b, "dave")
	start := c.lists.Load()
	b.ReportAllocs()
	for b.Loop() {
		e.send(b, carol, `<message type='chat' to='dave@localhost'><body>hi</body></message>`)
		carol.Next(b)
	}
	b.ReportMetric(float64(c.lists.Load()-start)/float64(b.N), "reads/op")
}

// BenchmarkMessageToOnline sends a chat message between two users with a
// session: stanza.in and stanza.out.
func BenchmarkMessageToOnline(b *testing.B) {
	e, c := startCounting(b)
	carol := e.login(b, "carol", "pc")
	dave := e.login(b, "dave", "laptop")
	start := c.lists.Load()
	b.ReportAllocs()
	for b.Loop() {
		e.send(b, carol, `<message type='chat' to='dave@localhost'><body>hi</body></message>`)
		dave.Next(b)
	}
	b.ReportMetric(float64(c.lists.Load()-start)/float64(b.N), "reads/op")
}
