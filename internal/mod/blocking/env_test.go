package blocking_test

// The module-level harness: internal/mod/modtest (the real registry,
// router and hooks, on SQLite) running the roster and blocking modules,
// plus what a c2s session adds around them: session.bound and
// session.closed, and the stanza.in filters before routing. Dispatch is
// synchronous, so everything a stanza causes has happened when send
// returns.

import (
	"context"
	"errors"
	"testing"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/mod/blocking"
	"github.com/parleyim/parley/internal/mod/modtest"
	"github.com/parleyim/parley/internal/mod/roster"
	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/stanza"
)

type env struct {
	*modtest.Env
	// roster is roster.Service as a module gets it, to set subscription
	// states without the presence module.
	roster roster.Service
}

func start(t testing.TB, yaml string, extra ...module.Definition) *env {
	t.Helper()
	return startWith(t, yaml, blocking.Module, extra...)
}

// startWith is start with def in place of blocking.Module.
func startWith(t testing.TB, yaml string, def module.Definition, extra ...module.Definition) *env {
	t.Helper()
	e := &env{}
	grab := module.Define[struct{}]("rosteruser", "the test's handle on roster.Service", nil, true, nil,
		func(_ context.Context, h *module.Host, _ *struct{}) error {
			rs, ok := module.Use[roster.Service](h)
			if !ok {
				return errors.New("no roster.Service")
			}
			e.roster = rs
			return nil
		})
	defs := append([]module.Definition{roster.Module, def, grab}, extra...)
	e.Env = modtest.Start(t, modtest.Options{Config: yaml}, defs...)
	return e
}

// login binds a session and fires session.bound, as c2s does.
func (e *env) login(t testing.TB, user, resource string) *modtest.Session {
	t.Helper()
	s := e.Login(t, user, resource)
	hook.Run(context.Background(), e.Hooks, hook.SessionBound, &hook.SessionEvent{JID: s.JID(), Addr: s.Origin().Addr})
	return s
}

// logout unbinds a session and fires session.closed.
func (e *env) logout(s *modtest.Session) {
	e.Router.Unbind(s)
	hook.Run(context.Background(), e.Hooks, hook.SessionClosed, &hook.SessionEvent{JID: s.JID(), Addr: s.Origin().Addr})
}

// send does what the c2s session does with a stanza from its client:
// stamps 'from' (a missing 'to' means the account), runs the stanza.in
// filters, and routes what they let through. Presence without 'to' is
// never routed: its broadcast is the presence module's.
func (e *env) send(t testing.TB, s *modtest.Session, xml string) {
	t.Helper()
	el := modtest.Parse(t, xml)
	el.SetAttr("from", s.JID().String())
	st := &stanza.Stanza{El: el, From: s.JID(), To: s.JID().Bare()}
	if to := el.Attr("to"); to != "" {
		st.To = jid.MustParse(to)
	}
	ctx := module.WithOrigin(context.Background(), s.Origin())
	ev := &hook.StanzaEvent{Stanza: st, Session: s.JID()}
	if hook.Run(ctx, e.Hooks, hook.StanzaIn, ev) != hook.Continue {
		return
	}
	if st.IsPresence() && el.Attr("to") == "" {
		return
	}
	_ = e.Router.Route(ctx, ev.Stanza)
}

// route routes a stanza as a module would on someone's behalf (the
// presence module's broadcast, a remote server's stanza): no stanza.in.
func (e *env) route(t testing.TB, from, to, xml string) {
	t.Helper()
	st := stanza.New(modtest.Parse(t, xml), jid.MustParse(from), jid.MustParse(to))
	_ = e.Router.Route(context.Background(), st)
}

// fetch makes s an interested resource: a blocklist get, answered.
func (e *env) fetch(t *testing.T, s *modtest.Session) {
	t.Helper()
	e.send(t, s, `<iq type='get' id='fetch'><blocklist xmlns='urn:xmpp:blocking'/></iq>`)
	s.Expect(t, `<iq type='result' id='fetch'><blocklist xmlns='urn:xmpp:blocking'>{any}</blocklist></iq>`)
}

// fetchList returns the items of the blocklist, as strings, in order.
func (e *env) fetchList(t *testing.T, s *modtest.Session) []string {
	t.Helper()
	e.send(t, s, `<iq type='get' id='list'><blocklist xmlns='urn:xmpp:blocking'/></iq>`)
	got := s.Next(t)
	bl := got.Child(blocking.NS, "blocklist")
	if got.Attr("type") != "result" || bl == nil {
		t.Fatalf("blocklist get: %s", got)
	}
	out := []string{}
	for _, it := range bl.Elements() {
		if it.Name.Local != "item" || it.Name.Space != blocking.NS || len(it.Attrs) != 1 {
			t.Fatalf("not an item: %s", it)
		}
		out = append(out, it.Attr("jid"))
	}
	return out
}

// ok sends an IQ set and expects its empty result with nothing before
// it.
func (e *env) ok(t *testing.T, s *modtest.Session, xml string) {
	t.Helper()
	e.send(t, s, xml)
	s.Expect(t, `<iq type='result' id='`+modtest.Parse(t, xml).Attr("id")+`'/>`)
}

// none fails if the sessions were sent anything not yet taken.
func none(t *testing.T, ss ...*modtest.Session) {
	t.Helper()
	for _, s := range ss {
		if n := s.Pending(); n > 0 {
			t.Fatalf("%s was sent %s", s.JID(), s.Next(t))
		}
	}
}

func block(id string, items ...string) string {
	return `<iq type='set' id='` + id + `'>` + cmd("block", items...) + `</iq>`
}

func unblock(id string, items ...string) string {
	return `<iq type='set' id='` + id + `'>` + cmd("unblock", items...) + `</iq>`
}

func cmd(name string, items ...string) string {
	s := `<` + name + ` xmlns='urn:xmpp:blocking'>`
	for _, it := range items {
		s += `<item jid='` + it + `'/>`
	}
	return s + `</` + name + `>`
}

// push is the pattern of a push (XEP-0191 §3.3–§3.5): an IQ set from the
// account to the resource, with an id.
func push(to, name string, items ...string) string {
	return `<iq type='set' id='{any}' from='` + jid.MustParse(to).Bare().String() + `' to='` + to + `'>` + cmd(name, items...) + `</iq>`
}

const stanzas = "urn:ietf:params:xml:ns:xmpp-stanzas"

// errBlocked is the pattern of XEP-0191 §3.3's error for a stanza the
// user sent to a blocked JID; errUnavailable the one a blocked JID gets.
const (
	errBlocked     = `<error type='cancel'><not-acceptable xmlns='` + stanzas + `'/><blocked xmlns='urn:xmpp:blocking:errors'/></error>`
	errUnavailable = `<error type='cancel'><service-unavailable xmlns='` + stanzas + `'/></error>`
)
