package offline_test

// Socketless tests on modtest: the real router, hooks and registry with
// the module on SQLite, firing the hook points as the c2s session does.

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/mod/modtest"
	"github.com/parleyim/parley/internal/mod/offline"
	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/stanza"
	"github.com/parleyim/parley/internal/xmlstream"
)

// available fires session.available for s, as its c2s session does after
// its initial presence.
func available(env *modtest.Env, s *modtest.Session) {
	hook.Run(context.Background(), env.Hooks, hook.SessionAvailable, &hook.SessionEvent{JID: s.JID()})
}

// undelivered fires message.undelivered with xml addressed to to, as the
// router does (or a c2s session ending with it queued), and returns the
// verdict.
func undelivered(t *testing.T, env *modtest.Env, from, to, xml string) hook.Verdict {
	t.Helper()
	el := modtest.Parse(t, xml)
	st := &stanza.Stanza{El: el, From: jid.MustParse(from), To: jid.MustParse(to)}
	return hook.Run(context.Background(), env.Hooks, hook.MessageUndelivered, &hook.StanzaEvent{Stanza: st})
}

// requeued fires message.undelivered as a c2s session that ended with
// xml still queued does: with the session's full JID.
func requeued(t *testing.T, env *modtest.Env, session, from, xml string) hook.Verdict {
	t.Helper()
	el := modtest.Parse(t, xml)
	st := &stanza.Stanza{El: el, From: jid.MustParse(from), To: jid.MustParse(el.Attr("to"))}
	return hook.Run(context.Background(), env.Hooks, hook.MessageUndelivered, &hook.StanzaEvent{Stanza: st, Session: jid.MustParse(session)})
}

// TestVerdicts pins what the module tells the router for each kind of
// message: Handled when it stored (or deliberately dropped, or answered)
// it, Continue when the router is to bounce it.
func TestVerdicts(t *testing.T) {
	env := modtest.Start(t, modtest.Options{Config: "modules:\n  offline: {max_messages: 1}\n"}, offline.Module)
	alice := env.Login(t, "alice", "home")
	const (
		from = "alice@localhost/home"
		to   = "bob@localhost"
	)
	cases := []struct {
		name, xml string
		want      hook.Verdict
		reply     string // what alice gets, "" for nothing
	}{
		{"stored", `<message from='` + from + `' to='` + to + `' id='1'><body>hi</body></message>`, hook.Handled, ""},
		{"full", `<message from='` + from + `' to='` + to + `' id='2'><body>hi</body></message>`, hook.Handled,
			`<message from='` + to + `' to='` + from + `' id='2' type='error'><body>hi</body><error type='cancel'>` +
				`<service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>` +
				`<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>offline storage is full</text></error></message>`},
		{"no-store", `<message from='` + from + `' to='` + to + `' id='3'><body>hi</body><no-store xmlns='urn:xmpp:hints'/></message>`, hook.Continue, ""},
		{"headline", `<message from='` + from + `' to='` + to + `' id='4' type='headline'><body>hi</body></message>`, hook.Continue, ""},
		{"chat state", `<message from='` + from + `' to='` + to + `' id='5' type='chat'><gone xmlns='http://jabber.org/protocol/chatstates'/></message>`, hook.Handled, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := undelivered(t, env, from, to, tc.xml); got != tc.want {
				t.Errorf("verdict %v, want %v", got, tc.want)
			}
			if tc.reply != "" {
				alice.Expect(t, tc.reply)
			}
			if n := alice.Pending(); n != 0 {
				t.Errorf("alice has %d more stanzas: %v", n, env.Events())
			}
		})
	}
}

// TestStoredAgain: a stored message delivered to a session that ends
// before writing it comes back through message.undelivered; it is stored
// again with its first stamp only, and waits for the next resource that
// becomes available — not the user's other resources, which may have had
// it already (a message to the bare JID goes to all of the top priority).
func TestStoredAgain(t *testing.T) {
	env := modtest.Start(t, modtest.Options{}, offline.Module)
	env.Login(t, "alice", "home")
	if err := env.Accounts.Register(context.Background(), env.Domain, "bob", modtest.Password); err != nil {
		t.Fatal(err)
	}
	const (
		msg    = `<message from='alice@localhost/home' to='bob@localhost' id='m1'><body>hi</body></message>`
		stored = `<message from='alice@localhost/home' to='bob@localhost' id='m1'><body>hi</body>` +
			`<delay xmlns='urn:xmpp:delay' from='localhost' stamp='{any}'>Offline Storage</delay></message>`
	)
	if v := undelivered(t, env, "alice@localhost/home", "bob@localhost", msg); v != hook.Handled {
		t.Fatalf("verdict %v", v)
	}

	phone := env.Login(t, "bob", "phone")
	available(env, phone)
	first := phone.Expect(t, stored)
	// Nothing left: a second resource gets nothing.
	laptop := env.Login(t, "bob", "laptop")
	available(env, laptop)
	if n := laptop.Pending(); n != 0 {
		t.Fatalf("laptop got %d stanzas: %v", n, env.Events())
	}

	// The phone's session ends with the message still queued.
	phone.Close("connection-timeout", "")
	if v := requeued(t, env, "bob@localhost/phone", "alice@localhost/home", first.String()); v != hook.Handled {
		t.Fatalf("verdict %v", v)
	}
	if n := laptop.Pending(); n != 0 {
		t.Fatalf("laptop got %d stanzas: %v", n, env.Events())
	}
	tablet := env.Login(t, "bob", "tablet")
	available(env, tablet)
	again := tablet.Expect(t, stored)
	if a, b := first.Child("urn:xmpp:delay", "delay").Attr("stamp"), again.Child("urn:xmpp:delay", "delay").Attr("stamp"); a != b {
		t.Errorf("stamp changed from %s to %s", a, b)
	}
}

// TestStoredAfterAvailable: a message the router found no available
// resource for, stored only after the user's initial presence had looked
// at the store and found it empty, is delivered at once, not at the next
// login.
func TestStoredAfterAvailable(t *testing.T) {
	env := modtest.Start(t, modtest.Options{}, offline.Module)
	env.Login(t, "alice", "home")
	phone := env.Login(t, "bob", "phone")
	available(env, phone)
	if n := phone.Pending(); n != 0 {
		t.Fatalf("phone got %d stanzas from an empty store: %v", n, env.Events())
	}
	msg := `<message from='alice@localhost/home' to='bob@localhost' id='late'><body>on its way</body></message>`
	if v := undelivered(t, env, "alice@localhost/home", "bob@localhost", msg); v != hook.Handled {
		t.Fatalf("verdict %v", v)
	}
	phone.Expect(t, `<message from='alice@localhost/home' to='bob@localhost' id='late'><body>on its way</body>`+
		`<delay xmlns='urn:xmpp:delay' from='localhost' stamp='{any}'>Offline Storage</delay></message>`)
	svc, ok := module.Lookup[offline.Service](env.Registry)
	if !ok {
		t.Fatal("no offline service")
	}
	if ms, err := svc.Messages(context.Background(), jid.MustParse("bob@localhost")); err != nil || len(ms) != 0 {
		t.Fatalf("still stored: %v, %v", ms, err)
	}
}

// clock is a time source that moves one second forward at each reading,
// from 2024-05-06T07:08:09Z: the n-th message stored is stamped n seconds
// later.
func clock() func() time.Time {
	var (
		mu sync.Mutex
		t  = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Second)
		return t
	}
}

// refusing is a bound, available session that takes the first room
// stanzas delivered to it and refuses every other, as a c2s session does
// once its queue is full or while it is closing: it is still in the
// router's table.
type refusing struct {
	full jid.JID
	mu   sync.Mutex
	room int
	got  []*xmlstream.Element
}

func (s *refusing) JID() jid.JID         { return s.full }
func (s *refusing) Available() bool      { return true }
func (s *refusing) Priority() int        { return 0 }
func (s *refusing) Close(string, string) {}

func (s *refusing) Deliver(st *stanza.Stanza) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.got) >= s.room {
		return false
	}
	s.got = append(s.got, st.El)
	return true
}

// TestRefusedDelivery: a session that stops taking stored messages part
// way leaves the rest in the store, as they were — nothing bounced to
// their senders, dropped or stored again with a new place or stamp — and
// the next resource gets them first, in order, then what came meanwhile.
func TestRefusedDelivery(t *testing.T) {
	env := modtest.Start(t, modtest.Options{}, offline.ModuleWithClock(clock()))
	alice := env.Login(t, "alice", "home")
	if err := env.Accounts.Register(context.Background(), env.Domain, "bob", modtest.Password); err != nil {
		t.Fatal(err)
	}
	const (
		from = "alice@localhost/home"
		to   = "bob@localhost"
	)
	store := `<store xmlns='urn:xmpp:hints'/>`
	msgs := []string{
		`<message from='` + from + `' to='` + to + `' id='m1' type='chat'><body>1</body></message>`,
		`<message from='` + from + `' to='` + to + `' id='m2'><body>2</body></message>`,
		// Refused from here on. A chat message was stored again at the end
		// and taken again; a normal or groupchat message to a full JID that
		// refuses it was bounced; a headline dropped.
		`<message from='` + from + `' to='` + to + `' id='m3' type='chat'><body>3</body></message>`,
		`<message from='` + from + `' to='` + to + `' id='m4'><body>4</body></message>`,
		`<message from='` + from + `' to='` + to + `' id='m5' type='headline'><body>5</body>` + store + `</message>`,
		`<message from='` + from + `' to='` + to + `' id='m6' type='groupchat'><body>6</body>` + store + `</message>`,
	}
	for _, m := range msgs {
		if v := undelivered(t, env, from, to, m); v != hook.Handled {
			t.Fatalf("verdict %v for %s", v, m)
		}
	}
	// The n-th message stored is stamped n seconds after the clock's start.
	stampOf := func(n int) string {
		return time.Date(2024, 5, 6, 7, 8, 9+n, 0, time.UTC).Format(offline.StampLayout)
	}
	delay := func(n int) string {
		return `<delay xmlns='urn:xmpp:delay' from='localhost' stamp='` + stampOf(n) + `'>Offline Storage</delay>`
	}

	phone := &refusing{full: jid.MustParse("bob@localhost/phone"), room: 2}
	if _, err := env.Router.Bind(phone, 0); err != nil {
		t.Fatal(err)
	}
	hook.Run(context.Background(), env.Hooks, hook.SessionAvailable, &hook.SessionEvent{JID: phone.full})
	if len(phone.got) != 2 {
		t.Fatalf("phone took %d messages, want 2: %v", len(phone.got), phone.got)
	}
	modtest.Match(t, phone.got[0], `<message id='m1' type='chat'><body>1</body>`+delay(1)+`</message>`)
	modtest.Match(t, phone.got[1], `<message id='m2'><body>2</body>`+delay(2)+`</message>`)
	if n := alice.Pending(); n != 0 {
		t.Fatalf("alice got %d stanzas for messages that were accepted: %v", n, env.Events())
	}

	// Stored after the failed delivery: it comes after the ones put back.
	later := `<message from='` + from + `' to='` + to + `' id='m7'><body>7</body></message>`
	if v := undelivered(t, env, from, to, later); v != hook.Handled {
		t.Fatalf("verdict %v", v)
	}
	tablet := env.Login(t, "bob", "tablet")
	available(env, tablet)
	tablet.Expect(t, `<message id='m3' type='chat'><body>3</body>`+delay(3)+`</message>`)
	tablet.Expect(t, `<message id='m4'><body>4</body>`+delay(4)+`</message>`)
	tablet.Expect(t, `<message id='m5' type='headline'><body>5</body>`+store+delay(5)+`</message>`)
	tablet.Expect(t, `<message id='m6' type='groupchat'><body>6</body>`+store+delay(6)+`</message>`)
	tablet.Expect(t, `<message id='m7'><body>7</body>`+delay(7)+`</message>`)
	if n := tablet.Pending(); n != 0 {
		t.Fatalf("tablet got %d more stanzas: %v", n, env.Events())
	}
	if n := alice.Pending(); n != 0 {
		t.Fatalf("alice got %d stanzas: %v", n, env.Events())
	}
	if len(phone.got) != 2 {
		t.Errorf("phone got %d messages", len(phone.got))
	}
}

// TestDeliversWholeStore: one available presence brings every stored
// message, however many batches they take, in order (XEP-0160 §2).
func TestDeliversWholeStore(t *testing.T) {
	env := modtest.Start(t, modtest.Options{Config: "modules:\n  offline: {max_messages: 0}\n"}, offline.Module)
	if err := env.Accounts.Register(context.Background(), env.Domain, "bob", modtest.Password); err != nil {
		t.Fatal(err)
	}
	total := 2*offline.DeliverBatch + 1
	if total <= 1000 {
		total = 1001 // more than one presence used to bring
	}
	for i := range total {
		m := fmt.Sprintf(`<message from='alice@localhost/home' to='bob@localhost' id='%d'><body>%d</body></message>`, i, i)
		if v := undelivered(t, env, "alice@localhost/home", "bob@localhost", m); v != hook.Handled {
			t.Fatalf("verdict %v", v)
		}
	}
	bob := env.Login(t, "bob", "laptop")
	available(env, bob)
	if n := bob.Pending(); n != total {
		t.Fatalf("one presence brought %d messages, want all %d", n, total)
	}
	for i := range total {
		if id := bob.Next(t).Attr("id"); id != fmt.Sprint(i) {
			t.Fatalf("message %d has id %s", i, id)
		}
	}
	// Nothing is left for another resource.
	other := env.Login(t, "bob", "phone")
	available(env, other)
	if n := other.Pending(); n != 0 {
		t.Fatalf("another resource got %d", n)
	}
}

// TestServerDelaysStripped: a client cannot write the delay stamp of this
// server (XEP-0203 with from='<a hosted domain>'): the offline module
// removes it from the messages local clients send, in a copy, and leaves
// every other delay alone.
func TestServerDelaysStripped(t *testing.T) {
	env := modtest.Start(t, modtest.Options{Config: "hosts: [localhost, example.net]\n"}, offline.Module)
	const (
		body   = `<body>hi</body>`
		forged = `<delay xmlns='urn:xmpp:delay' from='localhost' stamp='2000-01-01T00:00:00Z'>Offline Storage</delay>`
	)
	delay := func(from string) string {
		return `<delay xmlns='urn:xmpp:delay' from='` + from + `' stamp='2000-01-01T00:00:00Z'/>`
	}
	cases := []struct {
		name, in, want string // want "": unchanged, the same stanza
		session        bool
	}{
		{"our domain", `<message to='bob@localhost'>` + body + forged + `</message>`, `<message to='bob@localhost'>` + body + `</message>`, true},
		{"another hosted domain", `<message to='bob@localhost'>` + body + delay("example.net") + `</message>`, `<message to='bob@localhost'>` + body + `</message>`, true},
		{"spelled otherwise", `<message to='bob@localhost'>` + body + delay("LocalHost") + `</message>`, `<message to='bob@localhost'>` + body + `</message>`, true},
		{"a resource of the server", `<message to='bob@localhost'>` + body + delay("localhost/offline") + `</message>`, `<message to='bob@localhost'>` + body + `</message>`, true},
		{"to a remote domain", `<message to='x@remote.example'>` + delay("localhost") + body + delay("localhost") + `</message>`, `<message to='x@remote.example'>` + body + `</message>`, true},
		{"kept among others", `<message type='chat' to='bob@localhost'>` + delay("remote.example") + body + forged + `<thread>t</thread></message>`,
			`<message type='chat' to='bob@localhost'>` + delay("remote.example") + body + `<thread>t</thread></message>`, true},
		{"a remote server", `<message to='bob@localhost'>` + body + delay("remote.example") + `</message>`, "", true},
		{"a user", `<message to='bob@localhost'>` + body + delay("alice@localhost") + `</message>`, "", true},
		{"no from", `<message to='bob@localhost'>` + body + `<delay xmlns='urn:xmpp:delay' stamp='2000-01-01T00:00:00Z'/></message>`, "", true},
		{"legacy namespace", `<message to='bob@localhost'>` + body + `<x xmlns='jabber:x:delay' from='localhost' stamp='20000101T00:00:00'/></message>`, "", true},
		{"nested", `<message to='bob@localhost'><forwarded xmlns='urn:xmpp:forward:0'>` + forged + `<message xmlns='jabber:client'>` + body + `</message></forwarded></message>`, "", true},
		{"presence", `<presence>` + forged + `</presence>`, "", true},
		{"not from a client", `<message to='bob@localhost'>` + body + forged + `</message>`, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			el := modtest.Parse(t, tc.in)
			before := el.String()
			st := &stanza.Stanza{El: el, From: jid.MustParse("alice@localhost/home"), To: jid.MustParse("bob@localhost")}
			ev := &hook.StanzaEvent{Stanza: st}
			if tc.session {
				ev.Session = st.From
			}
			if v := hook.Run(context.Background(), env.Hooks, hook.StanzaIn, ev); v != hook.Continue {
				t.Fatalf("verdict %v", v)
			}
			if el.String() != before {
				t.Fatalf("the stanza was changed in place:\n%s\nwas\n%s", el, before)
			}
			if tc.want == "" {
				if ev.Stanza != st {
					t.Fatalf("replaced by %s", ev.Stanza.El)
				}
				return
			}
			if ev.Stanza.From != st.From || ev.Stanza.To != st.To {
				t.Errorf("addresses %s → %s, want %s → %s", ev.Stanza.From, ev.Stanza.To, st.From, st.To)
			}
			if got, want := ev.Stanza.El.String(), modtest.Parse(t, tc.want).String(); got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}
