package presence_test

import (
	"testing"

	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/mod/presence"
	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/xmpptest"
)

// TestService: another module sees each available resource with its
// last presence and its entity capabilities (XEP-0115 §4), and a resource
// leaves when it goes unavailable.
func TestService(t *testing.T) {
	srv := xmpptest.Start(t, "")
	svc, ok := module.Lookup[presence.Service](srv.App.Registry())
	if !ok {
		t.Fatal("no presence.Service")
	}
	alice := login(t, srv, "alice", "phone")
	desk := login(t, srv, "alice", "desk")
	alice.send(`<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://conversations.im' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/></presence>`)
	alice.expect(pres("from=" + alice.full()))
	desk.expect() // not available yet

	got := svc.Resources(jid.MustParse(alice.bare()))
	if len(got) != 1 || got[0].JID.String() != alice.full() {
		t.Fatalf("Resources = %+v, want only %s", got, alice.full())
	}
	want := presence.Caps{Node: "https://conversations.im", Ver: "QgayPKawpkPSDYmwT/WM94uAlu0=", Hash: "sha-1"}
	if got[0].Caps != want {
		t.Errorf("Caps = %+v, want %+v", got[0].Caps, want)
	}
	desk.send(`<presence/>`)
	desk.expect(pres("from="+desk.full()), pres("from="+alice.full()))
	alice.expect(pres("from=" + desk.full()))
	if got := svc.Resources(jid.MustParse(alice.bare())); len(got) != 2 || !got[0].Caps.IsZero() {
		t.Errorf("Resources = %+v, want desk without caps, then phone", got)
	}
	alice.send(`<presence type='unavailable'/>`)
	alice.expect()
	if got := svc.Resources(jid.MustParse(alice.bare())); len(got) != 1 || got[0].JID.String() != desk.full() {
		t.Errorf("Resources after unavailable = %+v, want only %s", got, desk.full())
	}
}
