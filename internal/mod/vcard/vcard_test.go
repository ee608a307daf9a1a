package vcard_test

// Module tests on the real registry and router (internal/mod/modtest),
// each pinning what XEP-0054 asks for: the result or error, its 'from',
// and what was stored.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/mod/modtest"
	"github.com/parleyim/parley/internal/mod/vcard"
	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/xmpptest"
)

// card is a vCard with what a round trip must keep: nesting, escaped
// text, xml:lang and an element in another namespace.
const card = `<vCard xmlns='vcard-temp'>` +
	`<FN>Alice &amp; Co &lt;3</FN>` +
	`<N><FAMILY>Liddell</FAMILY><GIVEN>Alice</GIVEN><MIDDLE/></N>` +
	`<NICKNAME xml:lang='en'>ally</NICKNAME>` +
	`<X-EXT xmlns='urn:example:ext' level='2'>ext</X-EXT>` +
	`</vCard>`

func start(t *testing.T, yaml string) *modtest.Env {
	t.Helper()
	return modtest.Start(t, modtest.Options{Config: yaml}, vcard.Module)
}

func stanzaErr(typ, cond string) string {
	return `<error type='` + typ + `'><` + cond + ` xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`
}

// sameXML fails unless got serializes exactly as want parsed does: Match
// ignores attributes the pattern leaves out, a round trip must not.
func sameXML(t *testing.T, got string, want string) {
	t.Helper()
	if w := xmpptest.Parse(t, want).String(); got != w {
		t.Fatalf("got  %s\nwant %s", got, w)
	}
}

// XEP-0054 §3.1 and §3.2: the owner sets, then reads back exactly what
// was set; with nothing stored, an empty vCard.
func TestOwnVCard(t *testing.T) {
	env := start(t, "")
	alice := env.Login(t, "alice", "home")
	for _, to := range []string{"", " to='alice@localhost'"} {
		t.Run("to="+to, func(t *testing.T) {
			alice.Send(t, `<iq type='get' id='g1'`+to+`><vCard xmlns='vcard-temp'/></iq>`)
			alice.Expect(t, `<iq type='result' id='g1' from='alice@localhost' to='alice@localhost/home'><vCard xmlns='vcard-temp'/></iq>`)

			alice.Send(t, `<iq type='set' id='s1'`+to+`>`+card+`</iq>`)
			alice.Expect(t, `<iq type='result' id='s1' from='alice@localhost' to='alice@localhost/home'/>`)

			alice.Send(t, `<iq type='get' id='g2'`+to+`><vCard xmlns='vcard-temp'/></iq>`)
			got := alice.Expect(t, `<iq type='result' id='g2' from='alice@localhost'>`+card+`</iq>`)
			sameXML(t, got.FirstChild().String(), card)

			// §3.2: a set replaces the whole vCard.
			alice.Send(t, `<iq type='set' id='s2'`+to+`><vCard xmlns='vcard-temp'><FN>Alice</FN></vCard></iq>`)
			alice.Expect(t, `<iq type='result' id='s2'/>`)
			alice.Send(t, `<iq type='get' id='g3'`+to+`><vCard xmlns='vcard-temp'/></iq>`)
			got = alice.Expect(t, `<iq type='result' id='g3'><vCard xmlns='vcard-temp'><FN>Alice</FN></vCard></iq>`)
			sameXML(t, got.FirstChild().String(), `<vCard xmlns='vcard-temp'><FN>Alice</FN></vCard>`)

			// An empty vCard deletes it.
			alice.Send(t, `<iq type='set' id='s3'`+to+`><vCard xmlns='vcard-temp'>  </vCard></iq>`)
			alice.Expect(t, `<iq type='result' id='s3'/>`)
			alice.Send(t, `<iq type='get' id='g4'`+to+`><vCard xmlns='vcard-temp'/></iq>`)
			alice.Expect(t, `<iq type='result' id='g4'><vCard xmlns='vcard-temp'/></iq>`)
		})
	}
}

// XEP-0054 §3.3: another user's vCard, answered by the server from the
// user's bare JID, whether the user is online or not; no vCard and no
// account give the same service-unavailable.
func TestOtherVCard(t *testing.T) {
	env := start(t, "")
	alice := env.Login(t, "alice", "home")
	bob := env.Login(t, "bob", "phone")

	bob.Send(t, `<iq type='get' id='b1' to='alice@localhost'><vCard xmlns='vcard-temp'/></iq>`)
	bob.Expect(t, `<iq type='error' id='b1' from='alice@localhost' to='bob@localhost/phone'><vCard xmlns='vcard-temp'/>`+
		stanzaErr("cancel", "service-unavailable")+`</iq>`)

	alice.Send(t, `<iq type='set' id='a1'>`+card+`</iq>`)
	alice.Expect(t, `<iq type='result' id='a1'/>`)

	bob.Send(t, `<iq type='get' id='b2' to='alice@localhost'><vCard xmlns='vcard-temp'/></iq>`)
	got := bob.Expect(t, `<iq type='result' id='b2' from='alice@localhost' to='bob@localhost/phone'>`+card+`</iq>`)
	sameXML(t, got.FirstChild().String(), card)
	if alice.Pending() != 0 {
		t.Fatalf("alice's client was sent %s: the server must answer for her", alice.Next(t))
	}

	bob.Send(t, `<iq type='get' id='b3' to='nobody@localhost'><vCard xmlns='vcard-temp'/></iq>`)
	bob.Expect(t, `<iq type='error' id='b3' from='nobody@localhost'><vCard xmlns='vcard-temp'/>`+
		stanzaErr("cancel", "service-unavailable")+`</iq>`)
}

// XEP-0054 §3.2: a set on another user's vCard is forbidden, and changes
// nothing.
func TestSetOtherForbidden(t *testing.T) {
	env := start(t, "")
	alice := env.Login(t, "alice", "home")
	bob := env.Login(t, "bob", "phone")
	alice.Send(t, `<iq type='set' id='a1'><vCard xmlns='vcard-temp'><FN>Alice</FN></vCard></iq>`)
	alice.Expect(t, `<iq type='result' id='a1'/>`)

	bob.Send(t, `<iq type='set' id='b1' to='alice@localhost'><vCard xmlns='vcard-temp'><FN>Mallory</FN></vCard></iq>`)
	bob.Expect(t, `<iq type='error' id='b1' from='alice@localhost'><vCard xmlns='vcard-temp'><FN>Mallory</FN></vCard>`+
		stanzaErr("auth", "forbidden")+`</iq>`)

	alice.Send(t, `<iq type='get' id='a2'><vCard xmlns='vcard-temp'/></iq>`)
	alice.Expect(t, `<iq type='result' id='a2'><vCard xmlns='vcard-temp'><FN>Alice</FN></vCard></iq>`)
}

// A vCard larger than max_size is refused with not-acceptable, and the
// stored one stays.
func TestMaxSize(t *testing.T) {
	env := start(t, "modules:\n  vcard: {max_size: 100}\n")
	alice := env.Login(t, "alice", "home")
	// Serialized, <vCard xmlns="vcard-temp"><FN>…</FN></vCard> is 43
	// bytes plus the name: 100 bytes hold a name of 57.
	fits := `<vCard xmlns='vcard-temp'><FN>` + strings.Repeat("a", 57) + `</FN></vCard>`
	big := `<vCard xmlns='vcard-temp'><FN>` + strings.Repeat("b", 58) + `</FN></vCard>`
	alice.Send(t, `<iq type='set' id='s1'>`+fits+`</iq>`)
	alice.Expect(t, `<iq type='result' id='s1'/>`)
	alice.Send(t, `<iq type='set' id='s2'>`+big+`</iq>`)
	alice.Expect(t, `<iq type='error' id='s2'>`+big+`<error type='modify'>`+
		`<not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>`+
		`<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>vCard larger than 100</text></error></iq>`)
	alice.Send(t, `<iq type='get' id='g'><vCard xmlns='vcard-temp'/></iq>`)
	alice.Expect(t, `<iq type='result' id='g'>`+fits+`</iq>`)
}

// user.removed deletes the removed user's vCard and no other.
func TestUserRemoved(t *testing.T) {
	env := start(t, "")
	alice := env.Login(t, "alice", "home")
	bob := env.Login(t, "bob", "phone")
	alice.Send(t, `<iq type='set' id='a1'><vCard xmlns='vcard-temp'><FN>Alice</FN></vCard></iq>`)
	alice.Expect(t, `<iq type='result' id='a1'/>`)
	bob.Send(t, `<iq type='set' id='b1'><vCard xmlns='vcard-temp'><FN>Bob</FN></vCard></iq>`)
	bob.Expect(t, `<iq type='result' id='b1'/>`)

	for range 2 { // listeners must be idempotent
		hook.Run(context.Background(), env.Hooks, hook.UserRemoved, &hook.UserEvent{Host: env.Domain, Username: "alice"})
	}
	alice.Send(t, `<iq type='get' id='a2'><vCard xmlns='vcard-temp'/></iq>`)
	alice.Expect(t, `<iq type='result' id='a2'><vCard xmlns='vcard-temp'/></iq>`)
	alice.Send(t, `<iq type='get' id='a3' to='bob@localhost'><vCard xmlns='vcard-temp'/></iq>`)
	alice.Expect(t, `<iq type='result' id='a3'><vCard xmlns='vcard-temp'><FN>Bob</FN></vCard></iq>`)
}

// XEP-0054 §4: the feature is on the server.
func TestFeature(t *testing.T) {
	env := start(t, "")
	if got := env.Registry.Features(module.Server); !slices.Contains(got, vcard.NS) {
		t.Errorf("server features %q lack %s", got, vcard.NS)
	}
}

// Without a database the module refuses to start.
func TestNoDatabase(t *testing.T) {
	r := module.NewRegistry(module.Services{})
	err := r.Load(context.Background(), []module.Definition{vcard.Module}, allEnabled{})
	if err == nil || err.Error() != "module vcard: vcard: no database" {
		t.Fatalf("Load without a database: %v", err)
	}
}

type allEnabled struct{}

func (allEnabled) ModuleEnabled(string, bool) bool { return true }
func (allEnabled) DecodeModule(string, any) error  { return nil }

// A vCard the stream accepted reads back, however many namespaced
// attributes it carries: the stored copy declares a prefix per namespace.
func TestPrefixedAttributesReadBack(t *testing.T) {
	env := start(t, "")
	alice := env.Login(t, "alice", "home")
	var decls, attrs strings.Builder
	for i := range 40 {
		fmt.Fprintf(&decls, " xmlns:p%d='urn:x%d'", i, i)
		fmt.Fprintf(&attrs, " p%d:a='%d'", i, i)
	}
	card := `<vCard xmlns='vcard-temp'` + decls.String() + `><FN` + attrs.String() + `>Alice</FN></vCard>`
	alice.Send(t, `<iq type='set' id='s1'>`+card+`</iq>`)
	alice.Expect(t, `<iq type='result' id='s1'/>`)
	alice.Send(t, `<iq type='get' id='g1'><vCard xmlns='vcard-temp'/></iq>`)
	got := alice.Next(t)
	if fn := got.FirstChild().Child("vcard-temp", "FN"); fn == nil || len(fn.Attrs) != 40 || fn.Text() != "Alice" {
		t.Fatalf("read back %s", got)
	}
}
