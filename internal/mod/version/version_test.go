package version_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/app"
	"github.com/parleyim/parley/internal/xmpptest"
)

// XEP-0092 over TCP, with the default configuration and with show_os.
func TestVersionOverTCP(t *testing.T) {
	osWant := ""
	if runtime.GOOS == "linux" {
		osWant = "<os>Linux</os>"
	} else {
		osWant = "<os>{any}</os>"
	}
	cases := []struct{ name, yaml, os string }{
		{"default", "", ""},
		{"show_os", "modules: {version: {show_os: true}}", osWant},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := xmpptest.Start(t, tc.yaml)
			alice := srv.User(t, "alice", "phone")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			got, err := alice.IQ(ctx, xmpptest.Parse(t, `<iq type='get' to='localhost'><query xmlns='jabber:iq:version'/></iq>`))
			if err != nil {
				t.Fatal(err)
			}
			want := xmpptest.Parse(t, `<iq type='result' from='localhost'><query xmlns='jabber:iq:version'>
			  <name>Parley</name><version>`+app.Version+`</version>`+tc.os+`</query></iq>`)
			if !xmpptest.Match(want, got) {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
		})
	}
}
