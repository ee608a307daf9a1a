package roster_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/mod/roster"
	"github.com/parleyim/parley/internal/stanza"
)

var romeo = jid.MustParse("romeo@example.net")

// pushVersion returns the version number of a push's 'ver'.
func pushVersion(t *testing.T, push string) int {
	t.Helper()
	_, n, _ := strings.Cut(push, "-")
	v, err := strconv.Atoi(n)
	if err != nil {
		t.Fatalf("ver %q", push)
	}
	return v
}

// A write through the Service is pushed and announced like a roster set,
// with the subscription state the Service set (RFC 6121 §2.1.2); a later
// roster set from the client changes name and groups only (§2.4, §2.1.5).
func TestServicePut(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	phone := e.login(t, "alice@localhost/phone", "192.0.2.1:1000")
	desk := e.login(t, "alice@localhost/desk", "192.0.2.1:1001") // never asks
	bobDesk := e.login(t, "bob@localhost/desk", "192.0.2.2:1000")
	phone.interested(t)
	bobDesk.interested(t)

	it := roster.Item{JID: romeo, Name: "Romeo", Groups: []string{"Lovers", "Friends"},
		Subscription: roster.Both, Ask: true, Approved: true}
	v, err := e.svc.Put(ctx, alice, it)
	if err != nil || v != 1 {
		t.Fatalf("Put = %d, %v", v, err)
	}
	phone.expect(t, `<iq type='set' id='{any}' from='alice@localhost' to='alice@localhost/phone'>
	  <query xmlns='jabber:iq:roster' ver='{any}'>
	    <item jid='romeo@example.net' name='Romeo' subscription='both' ask='subscribe' approved='true'>
	      <group>Friends</group><group>Lovers</group></item></query></iq>`)
	desk.none(t)
	bobDesk.none(t)
	if ev := e.takeEvents(); !slices.Equal(ev, []hook.RosterEvent{{User: alice, Contact: romeo, Version: 1}}) {
		t.Fatalf("events %+v", ev)
	}
	got, ok, err := e.svc.Get(ctx, alice, romeo)
	if err != nil || !ok || got.Subscription != roster.Both || !got.Ask || !got.Approved || got.Version != 1 ||
		!slices.Equal(got.Groups, []string{"Friends", "Lovers"}) {
		t.Fatalf("Get = %+v, %v, %v", got, ok, err)
	}
	if _, ok, err := e.svc.Get(ctx, bob, romeo); ok || err != nil {
		t.Fatalf("bob's Get = %v, %v", ok, err)
	}

	// The client renames the item: its subscription state stays.
	phone.send(t, `<iq type='set' id='s1'><query xmlns='jabber:iq:roster'>
	  <item jid='romeo@example.net' name='R' subscription='none'/></query></iq>`)
	phone.expect(t, `<iq type='set' from='alice@localhost'><query xmlns='jabber:iq:roster' ver='{any}'>
	  <item jid='romeo@example.net' name='R' subscription='both' ask='subscribe' approved='true'/></query></iq>`)
	phone.expect(t, `<iq type='result' id='s1' to='alice@localhost/phone'/>`)
	want := []hook.RosterEvent{{User: alice, Contact: romeo, Version: 2, OldSubscription: "both", OldAsk: true, Client: phone.full}}
	if ev := e.takeEvents(); !slices.Equal(ev, want) {
		t.Fatalf("events %+v, want %+v", ev, want)
	}
	items, err := e.svc.Items(ctx, alice)
	if err != nil || len(items) != 1 || items[0].Name != "R" || items[0].Groups != nil || items[0].Subscription != roster.Both {
		t.Fatalf("Items = %+v, %v", items, err)
	}
}

// Update is a read-modify-write under the user's lock: concurrent updates
// lose nothing, and their pushes arrive in version order (RFC 6121
// §2.6.3).
func TestServiceUpdate(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	phone := e.login(t, "alice@localhost/phone", "192.0.2.1:1000")
	phone.interested(t)

	// fn sees a new item for an absent contact; false writes nothing.
	it, v, err := e.svc.Update(ctx, alice, romeo, func(it *roster.Item, exists bool) bool {
		if exists || it.JID != romeo || it.Subscription != roster.None {
			t.Errorf("fn(%+v, %v)", it, exists)
		}
		return false
	})
	if err != nil || v != 0 || !it.JID.IsZero() {
		t.Fatalf("Update without write = %+v, %d, %v", it, v, err)
	}
	phone.none(t)
	if ev := e.takeEvents(); len(ev) != 0 {
		t.Fatalf("events %+v", ev)
	}

	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, _, err := e.svc.Update(ctx, alice, romeo, func(it *roster.Item, _ bool) bool {
				it.Groups = append(it.Groups, fmt.Sprintf("g%02d", i))
				it.Subscription = roster.To
				return true
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, _, _ := e.svc.Get(ctx, alice, romeo)
	if len(got.Groups) != n || got.Version != n || got.Subscription != roster.To {
		t.Fatalf("after %d concurrent updates: %+v", n, got)
	}
	last := 0
	for range n {
		p := phone.next(t)
		v := pushVersion(t, p.Child(roster.NS, "query").Attr("ver"))
		if v != last+1 {
			t.Fatalf("push of version %d after %d", v, last)
		}
		last = v
	}
	phone.none(t)
	if ev := e.takeEvents(); len(ev) != n {
		t.Fatalf("%d events for %d updates", len(ev), n)
	}
}

// Delete pushes subscription='remove' (RFC 6121 §2.5.2) and tells the
// hook the state that was, for the presence module's unsubscribes.
func TestServiceDelete(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	phone := e.login(t, "alice@localhost/phone", "192.0.2.1:1000")
	phone.interested(t)
	if _, err := e.svc.Delete(ctx, alice, romeo); !errors.Is(err, roster.ErrNoItem) {
		t.Fatalf("Delete of nothing: %v", err)
	}
	if _, err := e.svc.Put(ctx, alice, roster.Item{JID: romeo, Subscription: roster.From}); err != nil {
		t.Fatal(err)
	}
	phone.next(t)
	e.takeEvents()
	v, err := e.svc.Delete(ctx, alice, romeo)
	if err != nil || v != 2 {
		t.Fatalf("Delete = %d, %v", v, err)
	}
	phone.expect(t, `<iq type='set' from='alice@localhost'><query xmlns='jabber:iq:roster' ver='{any}'>
	  <item jid='romeo@example.net' subscription='remove'/></query></iq>`)
	want := []hook.RosterEvent{{User: alice, Contact: romeo, Version: 2, Removed: true, OldSubscription: "from"}}
	if ev := e.takeEvents(); !slices.Equal(ev, want) {
		t.Fatalf("events %+v, want %+v", ev, want)
	}
	// A client's removal names the client.
	if _, err := e.svc.Put(ctx, alice, roster.Item{JID: romeo, Subscription: roster.To, Ask: true}); err != nil {
		t.Fatal(err)
	}
	phone.next(t)
	e.takeEvents()
	phone.send(t, `<iq type='set' id='r1'><query xmlns='jabber:iq:roster'><item jid='romeo@example.net' subscription='remove'/></query></iq>`)
	phone.next(t)
	phone.expect(t, `<iq type='result' id='r1'/>`)
	want = []hook.RosterEvent{{User: alice, Contact: romeo, Version: 4, Removed: true, OldSubscription: "to", OldAsk: true, Client: phone.full}}
	if ev := e.takeEvents(); !slices.Equal(ev, want) {
		t.Fatalf("events %+v, want %+v", ev, want)
	}
}

// The Service refuses what a roster set would, with the same stanza
// errors, and what is not a bare JID.
func TestServiceErrors(t *testing.T) {
	e := newEnv(t, "modules:\n  roster: {max_items: 1}\n")
	ctx := context.Background()
	full := jid.MustParse("alice@localhost/phone")
	if _, err := e.svc.Put(ctx, full, roster.Item{JID: romeo}); err == nil {
		t.Error("Put for a full JID user")
	}
	if _, err := e.svc.Put(ctx, alice, roster.Item{JID: jid.MustParse("romeo@example.net/orchard")}); err == nil {
		t.Error("Put of a full JID item")
	}
	if _, err := e.svc.Items(ctx, jid.MustParse("localhost")); err == nil {
		t.Error("Items of a domain")
	}
	cases := []struct {
		it   roster.Item
		cond string
	}{
		{roster.Item{JID: romeo, Groups: []string{""}}, "not-acceptable"},
		{roster.Item{JID: romeo, Groups: []string{"a", "a"}}, "bad-request"},
		{roster.Item{JID: romeo, Name: strings.Repeat("n", roster.MaxNameBytes+1)}, "not-acceptable"},
		{roster.Item{JID: alice}, "not-allowed"},
		// RFC 6120 §11.1: only XML 1.0 characters, in UTF-8, can be
		// pushed to a client.
		{roster.Item{JID: romeo, Name: "evil\x00\x07name"}, "not-acceptable"},
		{roster.Item{JID: romeo, Name: "bell\a"}, "not-acceptable"},
		{roster.Item{JID: romeo, Name: "\xff\xfe"}, "not-acceptable"},
		{roster.Item{JID: romeo, Name: "nonchar\uFFFE"}, "not-acceptable"},
		{roster.Item{JID: romeo, Groups: []string{"ok", "esc\x1b[2J"}}, "not-acceptable"},
		{roster.Item{JID: romeo, Groups: []string{"\x00"}}, "not-acceptable"},
		{roster.Item{JID: romeo, Groups: []string{"bad\xc3"}}, "not-acceptable"},
	}
	for _, tc := range cases {
		_, err := e.svc.Put(ctx, alice, tc.it)
		var se *stanza.Error
		if !errors.As(err, &se) || se.Condition != tc.cond {
			t.Errorf("Put(%+v) = %v, want %s", tc.it, err, tc.cond)
		}
	}
	if _, err := e.svc.Put(ctx, alice, roster.Item{JID: romeo, Subscription: "maybe"}); err == nil {
		t.Error("Put with an invalid subscription")
	}
	if _, err := e.svc.Put(ctx, alice, roster.Item{JID: romeo}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Put(ctx, alice, roster.Item{JID: jid.MustParse("juliet@example.com")}); !errors.Is(err, roster.ErrFull) {
		t.Errorf("Put past max_items: %v", err)
	}
	if len(e.takeEvents()) != 1 {
		t.Error("refused writes fired the hook")
	}
}

// Pending requests (RFC 6121 §3.1.3) are kept apart from the roster: not
// pushed, not listed, not versioned.
func TestServicePendingIn(t *testing.T) {
	e := newEnv(t, "modules:\n  roster: {max_items: 1}\n")
	ctx := context.Background()
	phone := e.login(t, "alice@localhost/phone", "192.0.2.1:1000")
	phone.interested(t)
	p := roster.PendingIn{JID: romeo, Stanza: `<presence from='romeo@example.net' type='subscribe'/>`}
	if err := e.svc.AddPendingIn(ctx, alice, p); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.AddPendingIn(ctx, alice, roster.PendingIn{JID: bob, Stanza: "<presence type='subscribe'/>"}); !errors.Is(err, roster.ErrFull) {
		t.Fatalf("second request past max_items: %v", err)
	}
	if err := e.svc.AddPendingIn(ctx, alice, roster.PendingIn{JID: bob}); err == nil {
		t.Fatal("request without its stanza")
	}
	phone.none(t)
	if items, _ := e.svc.Items(ctx, alice); len(items) != 0 {
		t.Fatalf("pending request in the roster: %+v", items)
	}
	if ps, err := e.svc.PendingIns(ctx, alice); err != nil || !slices.Equal(ps, []roster.PendingIn{p}) {
		t.Fatalf("PendingIns = %+v, %v", ps, err)
	}
	if ok, err := e.svc.RemovePendingIn(ctx, alice, romeo); !ok || err != nil {
		t.Fatalf("RemovePendingIn = %v, %v", ok, err)
	}
	if ps, _ := e.svc.PendingIns(ctx, alice); len(ps) != 0 {
		t.Fatalf("after RemovePendingIn: %+v", ps)
	}
	if len(e.takeEvents()) != 0 {
		t.Fatal("pending requests fired the hook")
	}
}

// RFC 6120 §7.7.2.2: a session replaced by one with the same full JID may
// end after its successor asked for the roster; the successor stays
// interested. A session that ends is no longer pushed to.
func TestInterestAcrossReplacement(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	old := e.login(t, "alice@localhost/phone", "192.0.2.1:1000")
	old.interested(t)
	e.router.Unbind(old) // replaced; its close comes later
	succ := e.login(t, "alice@localhost/phone", "192.0.2.1:2000")
	succ.interested(t)
	old.logout()
	if _, err := e.svc.Put(ctx, alice, roster.Item{JID: romeo}); err != nil {
		t.Fatal(err)
	}
	succ.expect(t, `<iq type='set' to='alice@localhost/phone'><query xmlns='jabber:iq:roster' ver='{any}'><item jid='romeo@example.net' subscription='none'/></query></iq>`)
	old.none(t)

	// A successor that binds before the predecessor's close starts
	// uninterested.
	next := e.login(t, "alice@localhost/phone", "192.0.2.1:3000")
	if _, err := e.svc.Put(ctx, alice, roster.Item{JID: romeo, Name: "R"}); err != nil {
		t.Fatal(err)
	}
	next.none(t)
	succ.none(t) // unbound by the bind above
	next.logout()
	next.none(t)
}

// user.removed deletes the roster and the pending requests.
func TestUserRemovedHook(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	if _, err := e.svc.Put(ctx, alice, roster.Item{JID: romeo}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.AddPendingIn(ctx, alice, roster.PendingIn{JID: bob, Stanza: "<presence type='subscribe'/>"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Put(ctx, bob, roster.Item{JID: romeo}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		hook.Run(ctx, e.hooks, hook.UserRemoved, &hook.UserEvent{Host: "localhost", Username: "alice"})
	}
	if items, _ := e.svc.Items(ctx, alice); len(items) != 0 {
		t.Fatalf("alice's roster after removal: %+v", items)
	}
	if ps, _ := e.svc.PendingIns(ctx, alice); len(ps) != 0 {
		t.Fatalf("alice's requests after removal: %+v", ps)
	}
	if items, _ := e.svc.Items(ctx, bob); len(items) != 1 {
		t.Fatalf("bob's roster after alice's removal: %+v", items)
	}
}
