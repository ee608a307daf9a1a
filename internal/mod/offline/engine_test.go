package offline_test

import (
	"testing"
	"time"

	"github.com/parleyim/parley/internal/mod/offline"
	"github.com/parleyim/parley/internal/xmpptest"
)

// TestDecide pins what is stored: XEP-0160 §3 by type, XEP-0334 hints,
// and no standalone chat states (XEP-0085 §5.8).
func TestDecide(t *testing.T) {
	const (
		hints = ` xmlns='urn:xmpp:hints'`
		cs    = ` xmlns='http://jabber.org/protocol/chatstates'`
	)
	cases := []struct {
		name, xml, want string
	}{
		{"normal with body", `<message><body>hi</body></message>`, offline.Keep},
		{"explicit normal", `<message type='normal'><body>hi</body></message>`, offline.Keep},
		{"chat with body", `<message type='chat'><body>hi</body></message>`, offline.Keep},
		{"unknown type is normal", `<message type='bogus'><body>hi</body></message>`, offline.Keep},
		{"subject only", `<message><subject>news</subject></message>`, offline.Keep},
		{"body and chat state", `<message type='chat'><body>hi</body><active` + cs + `/></message>`, offline.Keep},
		{"receipt without body", `<message><received xmlns='urn:xmpp:receipts' id='x'/></message>`, offline.Keep},
		{"encrypted payload", `<message type='chat'><encrypted xmlns='eu.siacs.conversations.axolotl'/></message>`, offline.Keep},
		{"headline", `<message type='headline'><body>hi</body></message>`, offline.Refuse},
		{"groupchat", `<message type='groupchat'><body>hi</body></message>`, offline.Refuse},
		{"error", `<message type='error'><body>hi</body></message>`, offline.Refuse},
		{"error with store hint", `<message type='error'><body>hi</body><store` + hints + `/></message>`, offline.Refuse},
		{"no-store hint", `<message type='chat'><body>hi</body><no-store` + hints + `/></message>`, offline.Refuse},
		{"no-store beats store", `<message><body>hi</body><store` + hints + `/><no-store` + hints + `/></message>`, offline.Refuse},
		{"no-permanent-store is stored", `<message><body>hi</body><no-permanent-store` + hints + `/></message>`, offline.Keep},
		{"store hint on a chat state", `<message type='chat'><composing` + cs + `/><store` + hints + `/></message>`, offline.Keep},
		{"store hint on a headline", `<message type='headline'><body>hi</body><store` + hints + `/></message>`, offline.Keep},
		{"chat state only", `<message type='chat'><composing` + cs + `/></message>`, offline.Discard},
		{"chat state and thread", `<message type='chat'><thread>t1</thread><paused` + cs + `/></message>`, offline.Discard},
		{"chat state and delay", `<message type='chat'><gone` + cs + `/><delay xmlns='urn:xmpp:delay' stamp='2020-01-01T00:00:00Z'/></message>`, offline.Discard},
		{"legacy composing event", `<message><x xmlns='jabber:x:event'><composing/></x></message>`, offline.Discard},
		{"empty", `<message/>`, offline.Discard},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := offline.Decide(xmpptest.Parse(t, tc.xml)); got != tc.want {
				t.Errorf("%s: got %s, want %s", tc.xml, got, tc.want)
			}
		})
	}
}

func TestStamp(t *testing.T) {
	at := time.Date(2002, 9, 10, 23, 8, 25, 120_000_000, time.FixedZone("x", 3600))
	orig := xmpptest.Parse(t, `<message to='juliet@capulet.com' from='romeo@montague.net/orchard' id='m1' xml:lang='en'><body>O blessed, blessed night!</body></message>`)
	before := orig.String()

	got := offline.Stamp(orig, "capulet.com", at)
	want := xmpptest.Parse(t, `<message to='juliet@capulet.com' from='romeo@montague.net/orchard' id='m1'>`+
		`<body>O blessed, blessed night!</body>`+
		`<delay xmlns='urn:xmpp:delay' from='capulet.com' stamp='2002-09-10T22:08:25.120Z'>Offline Storage</delay></message>`)
	if !xmpptest.Match(want, got) {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if got.Lang() != "en" {
		t.Errorf("xml:lang lost: %s", got)
	}
	if orig.String() != before {
		t.Fatalf("the original changed:\n%s\nwas\n%s", orig, before)
	}
	// Stamping a stamped message again (stored a second time after its
	// session ended) keeps the first stamp.
	again := offline.Stamp(got, "capulet.com", at.Add(time.Hour))
	if again.String() != got.String() {
		t.Errorf("stamped twice:\n%s", again)
	}
	// A delay from someone else is no reason to leave ours out.
	other := offline.Stamp(xmpptest.Parse(t, `<message><body>x</body><delay xmlns='urn:xmpp:delay' from='montague.net' stamp='2002-09-10T22:00:00Z'/></message>`), "capulet.com", at)
	if n := len(other.Elements()); n != 3 {
		t.Errorf("want the foreign delay and ours: %s", other)
	}
}
