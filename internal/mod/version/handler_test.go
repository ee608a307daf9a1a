package version_test

import (
	"testing"

	"github.com/parleyim/parley/internal/mod/modtest"
	"github.com/parleyim/parley/internal/mod/version"
)

func TestVersion(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		// XEP-0092 §3 example 2: name and version, and <os/> only when
		// the administrator asks for it (§5).
		{"default", "",
			`<iq type='result' id='v1' from='localhost' to='alice@localhost/phone'><query xmlns='jabber:iq:version'>
			  <name>Parley</name><version>` + modtest.Version + `</version></query></iq>`},
		{"show_os", "modules: {version: {show_os: true}}",
			`<iq type='result' id='v1' from='localhost' to='alice@localhost/phone'><query xmlns='jabber:iq:version'>
			  <name>Parley</name><version>` + modtest.Version + `</version><os>{any}</os></query></iq>`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := modtest.Start(t, modtest.Options{Config: tc.yaml}, version.Module)
			alice := env.Login(t, "alice", "phone")
			alice.Send(t, `<iq type='get' id='v1' to='localhost'><query xmlns='jabber:iq:version'/></iq>`)
			got := alice.Expect(t, tc.want)
			if os := got.FirstChild().ChildText(version.NS, "os"); tc.name == "show_os" && os == "" {
				t.Fatal("empty <os/>")
			}
		})
	}
}

// The server does not speak for its users' clients.
func TestVersionOfAccount(t *testing.T) {
	env := modtest.Start(t, modtest.Options{}, version.Module)
	alice := env.Login(t, "alice", "phone")
	alice.Send(t, `<iq type='get' id='v2'><query xmlns='jabber:iq:version'/></iq>`)
	alice.Expect(t, `<iq type='error' id='v2'><query xmlns='jabber:iq:version'/>
	  <error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`)
}
