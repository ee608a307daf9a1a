package disco_test

import (
	"context"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/xmpptest"
)

// End to end over TCP, STARTTLS and SCRAM: the default module set as a
// client sees it.
func TestServerOverTCP(t *testing.T) {
	srv := xmpptest.Start(t, "")
	alice := srv.User(t, "alice", "phone")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	got, err := alice.IQ(ctx, xmpptest.Parse(t, `<iq type='get' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`))
	if err != nil {
		t.Fatal(err)
	}
	want := xmpptest.Parse(t, `<iq type='result' from='localhost' to='`+alice.JID().String()+`'>
	  <query xmlns='http://jabber.org/protocol/disco#info'>
	    <identity category='server' type='im' name='Parley'/>
	    <feature var='http://jabber.org/protocol/disco#info'/>
	    <feature var='http://jabber.org/protocol/disco#items'/>
	    <feature var='jabber:iq:last'/>
	    <feature var='jabber:iq:private'/>
	    <feature var='jabber:iq:register'/>
	    <feature var='jabber:iq:version'/>
	    <feature var='msgoffline'/>
	    <feature var='urn:xmpp:blocking'/>
	    <feature var='urn:xmpp:ping'/>
	    <feature var='urn:xmpp:time'/>
	    <feature var='vcard-temp'/>
	  </query></iq>`)
	if !xmpptest.Match(want, got) {
		t.Fatalf("got  %s\nwant %s", got, want)
	}

	got, err = alice.IQ(ctx, xmpptest.Parse(t, `<iq type='get'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`))
	if err != nil {
		t.Fatal(err)
	}
	want = xmpptest.Parse(t, `<iq type='result'><query xmlns='http://jabber.org/protocol/disco#info'>
	    <identity category='account' type='registered'/>
	    <feature var='http://jabber.org/protocol/disco#info'/>
	    <feature var='http://jabber.org/protocol/disco#items'/>
	    <feature var='jabber:iq:last'/>
	    <feature var='urn:xmpp:ping'/>
	  </query></iq>`)
	if !xmpptest.Match(want, got) {
		t.Fatalf("got  %s\nwant %s", got, want)
	}

	got, err = alice.IQ(ctx, xmpptest.Parse(t, `<iq type='get' to='localhost'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`))
	if err != nil {
		t.Fatal(err)
	}
	if want := xmpptest.Parse(t, `<iq type='result' from='localhost'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`); !xmpptest.Match(want, got) {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// A module disabled in the configuration disappears from disco.
func TestDisabledModuleOverTCP(t *testing.T) {
	srv := xmpptest.Start(t, "modules: {version: false, xtime: false}")
	alice := srv.User(t, "alice", "phone")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := alice.IQ(ctx, xmpptest.Parse(t, `<iq type='get' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`))
	if err != nil {
		t.Fatal(err)
	}
	// The features of the disabled modules are gone; those of the others
	// stay.
	has := map[string]bool{}
	for _, f := range got.Child("http://jabber.org/protocol/disco#info", "query").Elements() {
		if f.Name.Local == "feature" {
			has[f.Attr("var")] = true
		}
	}
	for feature, want := range map[string]bool{
		"jabber:iq:version":                     false,
		"urn:xmpp:time":                         false,
		"urn:xmpp:ping":                         true,
		"jabber:iq:register":                    true,
		"http://jabber.org/protocol/disco#info": true,
	} {
		if has[feature] != want {
			t.Errorf("feature %s advertised: %v, want %v, in %s", feature, has[feature], want, got)
		}
	}
}
