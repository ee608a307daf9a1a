package admin_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/admin"
	"github.com/parleyim/parley/internal/client"
	"github.com/parleyim/parley/internal/xmlstream"
	"github.com/parleyim/parley/internal/xmpptest"
)

func TestSend(t *testing.T) {
	srv, c := start(t, "", nil)
	ctx := t.Context()
	phone := srv.User(t, "alice", "phone")
	srv.CreateUser(t, "bob")

	// To the bare JID: from the domain, to the available resource.
	res, err := c.Send(ctx, admin.MessageRequest{To: "Alice@LocalHost", Body: "Maintenance at 22:00 <UTC> & after", Subject: "Notice"})
	want := admin.MessageResult{To: "alice@localhost", Type: "normal", ID: res.ID, Outcome: admin.OutcomeDelivered, Resources: 1}
	if err != nil || res != want || !strings.HasPrefix(res.ID, "admin-") {
		t.Fatalf("Send = %+v, %v; want %+v", res, err, want)
	}
	xmpptest.Expect(t, phone, `<message type='normal' from='localhost' to='alice@localhost' id='`+res.ID+`'>
	  <subject>Notice</subject><body>Maintenance at 22:00 &lt;UTC&gt; &amp; after</body></message>`)

	// To one session, as a headline.
	res, err = c.Send(ctx, admin.MessageRequest{To: "alice@localhost/phone", Body: "disk almost full", Type: "headline"})
	if err != nil || res.Outcome != admin.OutcomeDelivered || res.Type != "headline" || res.Resources != 1 || res.To != "alice@localhost/phone" {
		t.Fatalf("Send to a full JID = %+v, %v", res, err)
	}
	xmpptest.Expect(t, phone, `<message type='headline' from='localhost' to='alice@localhost/phone' id='{any}'><body>disk almost full</body></message>`)

	// RFC 6121 §8.5.2.2.1: a headline to an account without an available
	// resource is dropped.
	res, err = c.Send(ctx, admin.MessageRequest{To: "bob@localhost", Body: "nobody reads this", Type: "headline"})
	if err != nil || res.Outcome != admin.OutcomeDropped || res.Resources != 0 {
		t.Fatalf("headline to an offline account = %+v, %v; want dropped", res, err)
	}

	cases := []struct {
		name   string
		req    admin.MessageRequest
		status int
		msg    string
	}{
		{"gone resource", admin.MessageRequest{To: "alice@localhost/tablet", Body: "x"}, http.StatusNotFound, "alice@localhost/tablet has no session"},
		{"unknown user", admin.MessageRequest{To: "nobody@localhost", Body: "x"}, http.StatusNotFound, "nobody@localhost is not registered"},
		{"unknown host", admin.MessageRequest{To: "alice@elsewhere.example", Body: "x"}, http.StatusNotFound, "elsewhere.example is not a host of this server (hosts: localhost)"},
		{"the domain", admin.MessageRequest{To: "localhost", Body: "x"}, http.StatusBadRequest, `want a JID like user@host or user@host/resource, got "localhost"`},
		{"malformed", admin.MessageRequest{To: "a b@localhost", Body: "x"}, http.StatusBadRequest, `want a JID like user@host or user@host/resource, got "a b@localhost"`},
		{"empty text", admin.MessageRequest{To: "alice@localhost", Body: " \n"}, http.StatusBadRequest, "the message text is empty"},
		{"chat", admin.MessageRequest{To: "alice@localhost", Body: "x", Type: "chat"}, http.StatusBadRequest, `want the message type normal or headline, got "chat"`},
		{"control character", admin.MessageRequest{To: "alice@localhost", Body: "bell\x07"}, http.StatusBadRequest, "the message text holds the character U+0007, which XML cannot carry"},
		{"control character in subject", admin.MessageRequest{To: "alice@localhost", Body: "x", Subject: "\x00"}, http.StatusBadRequest, "the subject holds the character U+0000, which XML cannot carry"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Send(ctx, tc.req)
			wantStatus(t, tc.name, err, tc.status)
			if err.Error() != tc.msg {
				t.Errorf("error %q, want %q", err, tc.msg)
			}
		})
	}
	nothing(t, phone)
}

// The largest message is the largest stanza the server takes.
func TestSendTooLarge(t *testing.T) {
	srv, c := start(t, "limits:\n  max_stanza_size: 10000\n", nil)
	alice := srv.User(t, "alice", "phone")
	_, err := c.Send(t.Context(), admin.MessageRequest{To: "alice@localhost", Body: strings.Repeat("x", 10000)})
	wantStatus(t, "oversized message", err, http.StatusBadRequest)
	if !strings.Contains(err.Error(), "over limits.max_stanza_size (10000)") {
		t.Errorf("error %q", err)
	}
	_, err = c.Announce(t.Context(), admin.AnnounceRequest{Body: strings.Repeat("x", 10000)})
	wantStatus(t, "oversized announcement", err, http.StatusBadRequest)
	nothing(t, alice)
}

// A normal message to an account that is not online waits in offline
// storage and comes with the next available presence (XEP-0160).
func TestSendOffline(t *testing.T) {
	srv, c := start(t, "", nil)
	ctx := t.Context()
	srv.CreateUser(t, "bob")
	res, err := c.Send(ctx, admin.MessageRequest{To: "bob@localhost", Body: "welcome"})
	if err != nil || res.Outcome != admin.OutcomeOffline || res.Resources != 0 {
		t.Fatalf("Send to an offline account = %+v, %v; want offline", res, err)
	}
	bob := srv.User(t, "bob", "laptop")
	expectQueued(t, bob, `<message type='normal' from='localhost' to='bob@localhost' id='`+res.ID+`'>
	  <body>welcome</body><delay xmlns='urn:xmpp:delay' from='localhost' stamp='{any}'>Offline Storage</delay></message>`)
}

// Offline storage that refuses a message (here: full) answers the sender,
// the server's own JID, which drops the error; the API cannot see it.
// "offline" means handed to offline storage, not stored: the second
// message is reported as the first, and only the first is kept.
func TestSendOfflineFullStore(t *testing.T) {
	srv, c := start(t, "modules:\n  offline: {max_messages: 1}\n", nil)
	ctx := t.Context()
	srv.CreateUser(t, "bob")
	var ids []string
	for _, body := range []string{"first", "second"} {
		res, err := c.Send(ctx, admin.MessageRequest{To: "bob@localhost", Body: body})
		if err != nil || res.Outcome != admin.OutcomeOffline {
			t.Fatalf("Send %q = %+v, %v; want offline", body, res, err)
		}
		ids = append(ids, res.ID)
	}
	bob := srv.User(t, "bob", "laptop")
	expectQueued(t, bob, `<message type='normal' from='localhost' to='bob@localhost' id='`+ids[0]+`'>
	  <body>first</body><delay xmlns='urn:xmpp:delay' from='localhost' stamp='{any}'>Offline Storage</delay></message>`)
	nothing(t, bob)
}

func TestSendOfflineStorageOff(t *testing.T) {
	srv, c := start(t, "modules:\n  offline: false\n", nil)
	srv.CreateUser(t, "bob")
	res, err := c.Send(t.Context(), admin.MessageRequest{To: "bob@localhost", Body: "welcome"})
	if err != nil || res.Outcome != admin.OutcomeDropped {
		t.Fatalf("Send without offline storage = %+v, %v; want dropped", res, err)
	}
	bob := srv.User(t, "bob", "laptop")
	nothing(t, bob)
}

// RFC 6121 §8.5.2.1.1: a normal message goes to the resources sharing the
// highest non-negative priority, a headline to every one with a
// non-negative priority.
func TestSendPriorities(t *testing.T) {
	srv, c := start(t, "", nil)
	ctx := t.Context()
	srv.CreateUser(t, "alice")
	var conns []*client.Conn
	for _, p := range []struct{ res, prio string }{{"a", "5"}, {"b", "5"}, {"c", "1"}, {"d", "-1"}} {
		cfg := srv.ClientConfig("alice")
		cfg.Resource = p.res
		conn := srv.Dial(t, cfg)
		if err := conn.Send(xmpptest.Parse(t, `<presence><priority>`+p.prio+`</priority></presence>`)); err != nil {
			t.Fatal(err)
		}
		expectQueued(t, conn, `<presence from='`+conn.JID().String()+`'><priority>`+p.prio+`</priority></presence>`)
		conns = append(conns, conn)
	}
	// Every session's presence is processed once its own echo came back;
	// the other resources' presence broadcasts are of no interest here.
	for _, conn := range conns {
		drain(conn)
	}
	for _, tc := range []struct {
		typ  string
		want int
		gets []bool
	}{
		{"normal", 2, []bool{true, true, false, false}},
		{"headline", 3, []bool{true, true, true, false}},
	} {
		res, err := c.Send(ctx, admin.MessageRequest{To: "alice@localhost", Body: "hello", Type: tc.typ})
		if err != nil || res.Outcome != admin.OutcomeDelivered || res.Resources != tc.want {
			t.Fatalf("%s: Send = %+v, %v; want delivered to %d", tc.typ, res, err, tc.want)
		}
		for i, conn := range conns {
			if tc.gets[i] {
				xmpptest.Expect(t, conn, `<message type='`+tc.typ+`' from='localhost' id='`+res.ID+`'><body>hello</body></message>`)
			}
			nothing(t, conn)
		}
	}
}

// drain takes what c has received so far.
func drain(c *client.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, _ = c.IQ(ctx, xmlstream.New("jabber:client", "iq", "type", "get", "to", c.JID().Domain()).AddChild(xmlstream.New("urn:xmpp:ping", "ping")))
	done, stop := context.WithCancel(context.Background())
	stop()
	for {
		if _, err := c.Recv(done); err != nil {
			return
		}
	}
}

func TestAnnounce(t *testing.T) {
	srv, c := start(t, "hosts: [localhost, example.net]\n", nil)
	ctx := t.Context()

	// Nobody online: nobody to tell.
	res, err := c.Announce(ctx, admin.AnnounceRequest{Body: "hello?"})
	if err != nil || res != (admin.AnnounceResult{Type: "normal", Sessions: 0}) {
		t.Fatalf("Announce without sessions = %+v, %v", res, err)
	}

	phone := srv.User(t, "alice", "phone")
	laptop := srv.User(t, "alice", "laptop")
	// A session that sent no presence gets it too: it is a session.
	quiet := srv.Dial(t, srv.ClientConfig("alice"))
	if err := srv.App.RegisterUser(ctx, "example.net", "carol", xmpptest.Password); err != nil {
		t.Fatal(err)
	}
	cfg := srv.ClientConfig("carol")
	cfg.Domain, cfg.Resource = "example.net", "web"
	carol := srv.Dial(t, cfg)
	for _, conn := range []*client.Conn{phone, laptop, quiet, carol} {
		drain(conn) // the presence of alice's other resources
	}

	res, err = c.Announce(ctx, admin.AnnounceRequest{Body: "restart in 5 minutes", Subject: "Maintenance", Type: "headline"})
	if err != nil || res != (admin.AnnounceResult{Type: "headline", Sessions: 4}) {
		t.Fatalf("Announce = %+v, %v; want a headline to 4 sessions", res, err)
	}
	for _, conn := range []*client.Conn{phone, laptop, quiet, carol} {
		xmpptest.Expect(t, conn, `<message type='headline' from='`+conn.JID().Domain()+`' to='`+conn.JID().String()+`' id='{any}'>
		  <subject>Maintenance</subject><body>restart in 5 minutes</body></message>`)
	}

	for _, tc := range []struct {
		name string
		req  admin.AnnounceRequest
		msg  string
	}{
		{"empty", admin.AnnounceRequest{}, "the message text is empty"},
		{"groupchat", admin.AnnounceRequest{Body: "x", Type: "groupchat"}, `want the message type normal or headline, got "groupchat"`},
		{"control character", admin.AnnounceRequest{Body: "\x1b[31mred"}, "the message text holds the character U+001B, which XML cannot carry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Announce(ctx, tc.req)
			wantStatus(t, tc.name, err, http.StatusBadRequest)
			if err.Error() != tc.msg {
				t.Errorf("error %q, want %q", err, tc.msg)
			}
		})
	}
	for _, conn := range []*client.Conn{phone, laptop, quiet, carol} {
		nothing(t, conn)
	}
}
