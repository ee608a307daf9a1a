package main

import (
	"testing"

	"github.com/parleyim/parley/internal/client"
	"github.com/parleyim/parley/internal/xmpptest"
)

func TestCtlSend(t *testing.T) {
	srv, sock := startServer(t, "")
	alice := srv.User(t, "alice", "phone")
	srv.CreateUser(t, "bob")

	// TEXT may be several words; options may come after them.
	if out := ok(t, sock, "send", "alice@localhost", "server", "restarts", "at", "22:00", "--subject", "Maintenance"); out != "sent a normal message to alice@localhost (1 session)\n" {
		t.Errorf("send output %q", out)
	}
	xmpptest.Expect(t, alice, `<message type='normal' from='localhost' to='alice@localhost' id='{any}'>
	  <subject>Maintenance</subject><body>server restarts at 22:00</body></message>`)

	// A headline to one session; a text starting with a dash after --.
	if out := ok(t, sock, "send", "--headline", "alice@localhost/phone", "--", "-5 °C", "outside"); out != "sent a headline message to alice@localhost/phone (1 session)\n" {
		t.Errorf("send --headline output %q", out)
	}
	xmpptest.Expect(t, alice, `<message type='headline' from='localhost' to='alice@localhost/phone' id='{any}'><body>-5 °C outside</body></message>`)

	// bob is not online: a normal message waits for him, a headline is
	// dropped (RFC 6121 §8.5.2.2.1).
	if out := ok(t, sock, "send", "bob@localhost", "welcome", "aboard"); out != "bob@localhost is not online: the normal message went to offline storage for the next login, if the store accepted it\n" {
		t.Errorf("send to an offline account: %q", out)
	}
	if out := ok(t, sock, "send", "--headline", "bob@localhost", "gone", "tomorrow"); out != "bob@localhost is not online: the headline message was dropped (headlines are not stored)\n" {
		t.Errorf("send --headline to an offline account: %q", out)
	}
	bob := srv.User(t, "bob", "laptop")
	xmpptest.Expect(t, bob, `<message type='normal' from='localhost' to='bob@localhost' id='{any}'>
	  <body>welcome aboard</body><delay xmlns='urn:xmpp:delay' from='localhost' stamp='{any}'>Offline Storage</delay></message>`)
	quiet(t, bob)

	fails(t, sock, 1, "parley ctl: alice@localhost/tablet has no session", "send", "alice@localhost/tablet", "hello")
	fails(t, sock, 1, "parley ctl: nobody@localhost is not registered", "send", "nobody@localhost", "hello")
	fails(t, sock, 1, `want a JID like user@host or user@host/resource, got "localhost"`, "send", "localhost", "hello")
	fails(t, sock, 1, "the message text is empty", "send", "alice@localhost", " ")
	fails(t, sock, 2, "flag provided but not defined: -5 °C (an argument that starts with a dash goes after --)", "send", "alice@localhost", "-5 °C")
	quiet(t, alice)
}

func TestCtlAnnounce(t *testing.T) {
	srv, sock := startServer(t, "")
	if out := ok(t, sock, "announce", "anyone?"); out != "no sessions: nobody to announce to\n" {
		t.Errorf("announce without sessions: %q", out)
	}
	phone := srv.User(t, "alice", "phone")
	laptop := srv.User(t, "alice", "laptop")
	bob := srv.User(t, "bob", "")
	for _, c := range []*client.Conn{phone, laptop, bob} {
		takeAll(t, c) // presence of alice's other resource
	}

	if out := ok(t, sock, "announce", "--subject", "Maintenance", "restart", "in", "5", "minutes"); out != "sent a normal message to 3 sessions\n" {
		t.Errorf("announce output %q", out)
	}
	for _, c := range []*client.Conn{phone, laptop, bob} {
		xmpptest.Expect(t, c, `<message type='normal' from='localhost' to='`+c.JID().String()+`' id='{any}'>
		  <subject>Maintenance</subject><body>restart in 5 minutes</body></message>`)
	}
	if out := ok(t, sock, "announce", "back", "soon", "--headline"); out != "sent a headline message to 3 sessions\n" {
		t.Errorf("announce --headline output %q", out)
	}
	for _, c := range []*client.Conn{phone, laptop, bob} {
		xmpptest.Expect(t, c, `<message type='headline' from='localhost' to='`+c.JID().String()+`' id='{any}'><body>back soon</body></message>`)
		quiet(t, c)
	}
}
