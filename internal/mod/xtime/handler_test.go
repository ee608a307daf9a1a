package xtime_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/mod/modtest"
	"github.com/parleyim/parley/internal/mod/xtime"
)

var (
	// XEP-0082 §3: TZD as a numeric offset.
	tzoFormat = regexp.MustCompile(`^[+-](0\d|1[0-4]):[0-5]\d$`)
	// XEP-0082 §3: DateTime in UTC, here with milliseconds.
	utcFormat = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
)

func TestTime(t *testing.T) {
	env := modtest.Start(t, modtest.Options{}, xtime.Module)
	alice := env.Login(t, "alice", "phone")
	before := time.Now().Truncate(time.Millisecond)
	// XEP-0202 §3 examples 1 and 2.
	alice.Send(t, `<iq type='get' id='time_1' to='localhost'><time xmlns='urn:xmpp:time'/></iq>`)
	after := time.Now()
	got := alice.Expect(t, `<iq type='result' id='time_1' from='localhost' to='alice@localhost/phone'>
	  <time xmlns='urn:xmpp:time'><tzo>{any}</tzo><utc>{any}</utc></time></iq>`)
	tm := got.FirstChild()
	tzo, utc := tm.ChildText(xtime.NS, "tzo"), tm.ChildText(xtime.NS, "utc")
	if !tzoFormat.MatchString(tzo) {
		t.Errorf("tzo %q is not an XEP-0082 numeric TZD", tzo)
	}
	if want := time.Now().Format("-07:00"); tzo != want {
		t.Errorf("tzo %q, want the local offset %q", tzo, want)
	}
	if !utcFormat.MatchString(utc) {
		t.Fatalf("utc %q is not an XEP-0082 UTC DateTime", utc)
	}
	at, err := time.Parse(time.RFC3339Nano, utc)
	if err != nil {
		t.Fatal(err)
	}
	if at.Before(before) || at.After(after) {
		t.Errorf("utc %s is not between %s and %s", at, before, after)
	}
}

func TestTimeOfAccount(t *testing.T) {
	env := modtest.Start(t, modtest.Options{}, xtime.Module)
	alice := env.Login(t, "alice", "phone")
	alice.Send(t, `<iq type='get' id='time_2' to='alice@localhost'><time xmlns='urn:xmpp:time'/></iq>`)
	alice.Expect(t, `<iq type='error' id='time_2'><time xmlns='urn:xmpp:time'/>
	  <error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`)
}
