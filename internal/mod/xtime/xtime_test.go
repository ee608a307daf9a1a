package xtime_test

import (
	"context"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/mod/xtime"
	"github.com/parleyim/parley/internal/xmpptest"
)

// XEP-0202 over TCP.
func TestTimeOverTCP(t *testing.T) {
	srv := xmpptest.Start(t, "")
	alice := srv.User(t, "alice", "phone")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	before := time.Now().Truncate(time.Millisecond)
	got, err := alice.IQ(ctx, xmpptest.Parse(t, `<iq type='get' to='localhost'><time xmlns='urn:xmpp:time'/></iq>`))
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	want := xmpptest.Parse(t, `<iq type='result' from='localhost'><time xmlns='urn:xmpp:time'><tzo>{any}</tzo><utc>{any}</utc></time></iq>`)
	if !xmpptest.Match(want, got) {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	tm := got.FirstChild()
	if tzo := tm.ChildText(xtime.NS, "tzo"); !tzoFormat.MatchString(tzo) {
		t.Errorf("tzo %q", tzo)
	}
	utc := tm.ChildText(xtime.NS, "utc")
	if !utcFormat.MatchString(utc) {
		t.Fatalf("utc %q", utc)
	}
	if at, _ := time.Parse(time.RFC3339Nano, utc); at.Before(before) || at.After(after) {
		t.Errorf("utc %s is not between %s and %s", at, before, after)
	}
}
