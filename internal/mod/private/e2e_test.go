package private_test

// End to end over TCP, STARTTLS and SCRAM on the in-process server.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/client"
	"github.com/parleyim/parley/internal/xmlstream"
	"github.com/parleyim/parley/internal/xmpptest"
)

// expectIQ sends an IQ request and matches its reply, result or error,
// against want.
func expectIQ(t *testing.T, c *client.Conn, xml, want string) *xmlstream.Element {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := c.IQ(ctx, xmpptest.Parse(t, xml))
	var se *client.StanzaError
	if err != nil && !errors.As(err, &se) {
		t.Fatalf("iq %s: %v", xml, err)
	}
	if !xmpptest.Match(xmpptest.Parse(t, want), got) {
		t.Fatalf("iq %s\ngot  %s\nwant %s", xml, got, want)
	}
	return got
}

// A client stores bookmarks and reads them back on another connection;
// another user is refused; the server advertises jabber:iq:private; and
// removing the account in-band (XEP-0077) deletes the data.
func TestEndToEnd(t *testing.T) {
	srv := xmpptest.Start(t, "")
	alice := srv.User(t, "alice", "home")
	bob := srv.User(t, "bob", "phone")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	info, err := bob.IQ(ctx, xmpptest.Parse(t, `<iq type='get' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`))
	if err != nil {
		t.Fatalf("disco#info: %v", err)
	}
	found := false
	for _, f := range info.FirstChild().Elements() {
		found = found || (f.Name.Local == "feature" && f.Attr("var") == "jabber:iq:private")
	}
	if !found {
		t.Errorf("disco#info of the server lacks jabber:iq:private: %s", info)
	}

	expectIQ(t, alice, set("p1", bookmarks), `<iq type='result' id='p1'/>`)
	alice2 := srv.User(t, "alice", "laptop")
	got := expectIQ(t, alice2, get("p2", `<storage xmlns='storage:bookmarks'/>`),
		`<iq type='result' id='p2' from='alice@localhost'>`+query(bookmarks)+`</iq>`)
	if g, w := got.FirstChild().String(), xmpptest.Parse(t, query(bookmarks)).String(); g != w {
		t.Fatalf("got  %s\nwant %s", g, w)
	}
	expectIQ(t, bob, `<iq type='get' id='p3' to='alice@localhost'>`+query(`<storage xmlns='storage:bookmarks'/>`)+`</iq>`,
		`<iq type='error' id='p3' from='alice@localhost'>`+query(`<storage xmlns='storage:bookmarks'/>`)+
			stanzaErr("auth", "forbidden", "")+`</iq>`)

	expectIQ(t, alice, `<iq type='set' id='r1'><query xmlns='jabber:iq:register'><remove/></query></iq>`,
		`<iq type='result' id='r1'/>`)
	// The result goes out before user.removed runs; the stream error that
	// ends the sessions comes after it.
	for _, c := range []*client.Conn{alice, alice2} {
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("a session of the removed account did not end")
		}
	}
	again := srv.User(t, "alice", "home")
	expectIQ(t, again, get("p4", `<storage xmlns='storage:bookmarks'/>`),
		`<iq type='result' id='p4'>`+query(`<storage xmlns='storage:bookmarks'/>`)+`</iq>`)
}
