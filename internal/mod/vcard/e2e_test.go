package vcard_test

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

// iq sends an IQ request and returns the reply, result or error.
func iq(t *testing.T, c *client.Conn, xml string) *xmlstream.Element {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reply, err := c.IQ(ctx, xmpptest.Parse(t, xml))
	var se *client.StanzaError
	if err != nil && !errors.As(err, &se) {
		t.Fatalf("iq %s: %v", xml, err)
	}
	return reply
}

// expectIQ sends an IQ request and matches its reply against want.
func expectIQ(t *testing.T, c *client.Conn, xml, want string) *xmlstream.Element {
	t.Helper()
	got := iq(t, c, xml)
	if !xmpptest.Match(xmpptest.Parse(t, want), got) {
		t.Fatalf("iq %s\ngot  %s\nwant %s", xml, got, want)
	}
	return got
}

// A user publishes a vCard, another reads it from the user's bare JID,
// the server advertises vcard-temp, and removing the account in-band
// (XEP-0077) deletes the vCard: the same username registered again has
// none.
func TestEndToEnd(t *testing.T) {
	srv := xmpptest.Start(t, "")
	alice := srv.User(t, "alice", "home")
	bob := srv.User(t, "bob", "phone")

	info := iq(t, bob, `<iq type='get' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
	if info.Attr("type") != "result" {
		t.Fatalf("disco#info: %s", info)
	}
	found := false
	for _, f := range info.FirstChild().Elements() {
		found = found || (f.Name.Local == "feature" && f.Attr("var") == "vcard-temp")
	}
	if !found {
		t.Errorf("disco#info of the server lacks vcard-temp: %s", info)
	}

	expectIQ(t, alice, `<iq type='get' id='v1'><vCard xmlns='vcard-temp'/></iq>`,
		`<iq type='result' id='v1'><vCard xmlns='vcard-temp'/></iq>`)
	expectIQ(t, alice, `<iq type='set' id='v2'>`+card+`</iq>`, `<iq type='result' id='v2'/>`)
	got := expectIQ(t, bob, `<iq type='get' id='v3' to='alice@localhost'><vCard xmlns='vcard-temp'/></iq>`,
		`<iq type='result' id='v3' from='alice@localhost'>`+card+`</iq>`)
	sameXML(t, got.FirstChild().String(), card)
	expectIQ(t, bob, `<iq type='set' id='v4' to='alice@localhost'><vCard xmlns='vcard-temp'><FN>Mallory</FN></vCard></iq>`,
		`<iq type='error' id='v4' from='alice@localhost'><vCard xmlns='vcard-temp'><FN>Mallory</FN></vCard>`+
			stanzaErr("auth", "forbidden")+`</iq>`)

	expectIQ(t, alice, `<iq type='set' id='r1'><query xmlns='jabber:iq:register'><remove/></query></iq>`,
		`<iq type='result' id='r1'/>`)
	// The result goes out before user.removed runs; the stream error that
	// ends the session comes after it.
	select {
	case <-alice.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the removed account's session did not end")
	}
	srv.CreateUser(t, "alice")
	expectIQ(t, bob, `<iq type='get' id='v5' to='alice@localhost'><vCard xmlns='vcard-temp'/></iq>`,
		`<iq type='error' id='v5' from='alice@localhost'><vCard xmlns='vcard-temp'/>`+
			stanzaErr("cancel", "service-unavailable")+`</iq>`)
}
