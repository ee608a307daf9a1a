package register_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/config"
	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/mod/modtest"
	"github.com/parleyim/parley/internal/mod/register"
	"github.com/parleyim/parley/internal/module"
)

// start runs the register module with registration open or closed and a
// limit of perIP registrations a minute (0: unlimited), as the server
// would set them from its top-level keys.
func start(t *testing.T, open bool, perIP int) *modtest.Env {
	t.Helper()
	return modtest.Start(t, modtest.Options{Fill: func(name string, cfg any) {
		if c, ok := cfg.(*register.Config); ok {
			c.Open = open
			c.PerIP = config.Rate{Unlimited: true}
			if perIP > 0 {
				c.PerIP = config.Rate{N: perIP, Per: time.Minute}
			}
		}
	}}, register.Module)
}

// events records the user hooks the module fires.
func events(env *modtest.Env) *[]string {
	var got []string
	hook.On(env.Hooks, hook.UserRegistered, 0, "test", func(_ context.Context, e *hook.UserEvent) hook.Verdict {
		got = append(got, "registered "+e.Username+"@"+e.Host)
		return hook.Continue
	})
	hook.On(env.Hooks, hook.UserRemoved, 0, "test", func(_ context.Context, e *hook.UserEvent) hook.Verdict {
		got = append(got, "removed "+e.Username+"@"+e.Host)
		return hook.Continue
	})
	return &got
}

const (
	clientAddr = "198.51.100.7:5000"
	getForm    = `<iq type='get' id='reg1' to='localhost'><query xmlns='jabber:iq:register'/></iq>`
)

func set(id, body string) string {
	return `<iq type='set' id='` + id + `'><query xmlns='jabber:iq:register'>` + body + `</query></iq>`
}

func stanzaErr(typ, cond string) string {
	return `<error type='` + typ + `'><` + cond + ` xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`
}

func TestStreamFeature(t *testing.T) {
	for _, open := range []bool{true, false} {
		env := start(t, open, 0)
		fs := env.Registry.StreamFeatures(module.PreAuth)
		// XEP-0077 §6: offered only where registration is possible.
		if got := len(fs) == 1 && fs[0].Name.Space == register.NSFeature && fs[0].Name.Local == "register"; got != open {
			t.Errorf("open %v: stream features %v", open, fs)
		}
		if fs := env.Registry.StreamFeatures(module.Account); len(fs) != 0 {
			t.Errorf("open %v: features after authentication %v", open, fs)
		}
		// XEP-0077 §8: the disco feature stays, for password changes.
		if !slices.Contains(env.Registry.Features(module.Server), register.NS) {
			t.Errorf("open %v: no disco feature", open)
		}
	}
}

func TestRegister(t *testing.T) {
	env := start(t, true, 0)
	hooks := events(env)

	// XEP-0077 §3.1 examples 1 and 2.
	reply, handled := env.PreAuth(t, clientAddr, true, getForm)
	if !handled {
		t.Fatal("form request not handled")
	}
	modtest.Match(t, reply, `<iq type='result' id='reg1' from='localhost'><query xmlns='jabber:iq:register'>
	  <instructions>`+register.DefaultInstructions+`</instructions><username/><password/></query></iq>`)

	// Examples 4 and 5.
	reply, _ = env.PreAuth(t, clientAddr, true, set("reg2", `<username>bill</username><password>Calliope</password>`))
	modtest.Match(t, reply, `<iq type='result' id='reg2' from='localhost'/>`)
	if len(reply.Elements()) != 0 {
		t.Fatalf("result has a payload: %s", reply)
	}
	if !env.PasswordOK(t, "bill", "Calliope") {
		t.Fatal("cannot log in with the registered password")
	}
	if want := []string{"registered bill@localhost"}; !slices.Equal(*hooks, want) {
		t.Fatalf("hooks %q, want %q", *hooks, want)
	}

	// The username is prepared as a localpart (RFC 7622 §3.3).
	reply, _ = env.PreAuth(t, clientAddr, true, set("reg3", `<username>Juliet</username><password>R0m30</password>`))
	modtest.Match(t, reply, `<iq type='result' id='reg3'/>`)
	if !env.PasswordOK(t, "juliet", "R0m30") {
		t.Fatal("juliet cannot log in")
	}
}

func TestRegisterErrors(t *testing.T) {
	env := start(t, true, 0)
	hooks := events(env)
	if err := env.Accounts.Register(context.Background(), "localhost", "bill", "Calliope"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		addr   string
		secure bool
		body   string
		err    string
	}{
		// XEP-0077 §3.1 example 6.
		{"conflict", clientAddr, true, `<username>bill</username><password>m1cro$oft</password>`, stanzaErr("cancel", "conflict")},
		{"conflict after preparation", clientAddr, true, `<username>BILL</username><password>m1cro$oft</password>`, stanzaErr("cancel", "conflict")},
		// Example 7 and its note: every field, and no empty password.
		{"no password", clientAddr, true, `<username>ann</username>`, stanzaErr("modify", "not-acceptable")},
		{"empty password", clientAddr, true, `<username>ann</username><password/>`, stanzaErr("modify", "not-acceptable")},
		{"no username", clientAddr, true, `<password>secret</password>`, stanzaErr("modify", "not-acceptable")},
		{"empty username", clientAddr, true, `<username></username><password>secret</password>`, stanzaErr("modify", "not-acceptable")},
		{"invalid username", clientAddr, true, `<username>ann@example.com</username><password>secret</password>`, stanzaErr("modify", "jid-malformed")},
		{"username with space", clientAddr, true, `<username>ann smith</username><password>secret</password>`, stanzaErr("modify", "jid-malformed")},
		{"password too long", clientAddr, true, `<username>ann</username><password>` + strings.Repeat("x", 1025) + `</password>`, stanzaErr("modify", "not-acceptable")},
		// XEP-0077 §3.2: removing before authenticating.
		{"remove", clientAddr, true, `<remove/>`, stanzaErr("wait", "unexpected-request")},
		// XEP-0077 §11: no passwords in clear over the network.
		{"insecure", clientAddr, false, `<username>ann</username><password>secret</password>`, stanzaErr("auth", "not-authorized")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reply, _ := env.PreAuth(t, tc.addr, tc.secure, set("e1", tc.body))
			modtest.Match(t, reply, `<iq type='error' id='e1' from='localhost'><query xmlns='jabber:iq:register'/>`+tc.err+`</iq>`)
			// XEP-0077 §3.3: the original XML, with the password, is
			// not sent back.
			if strings.Contains(reply.String(), "m1cro") || strings.Contains(reply.String(), "secret") {
				t.Fatalf("reply echoes the password: %s", reply)
			}
		})
	}
	if ok, _ := env.Accounts.Exists(context.Background(), "localhost", "ann"); ok {
		t.Fatal("ann was created")
	}
	if !env.PasswordOK(t, "bill", "Calliope") {
		t.Fatal("bill's password changed")
	}
	if len(*hooks) != 0 {
		t.Fatalf("hooks fired: %q", *hooks)
	}

	// A client on the machine itself may register without TLS.
	reply, _ := env.PreAuth(t, "127.0.0.1:5000", false, set("l1", `<username>ann</username><password>secret</password>`))
	modtest.Match(t, reply, `<iq type='result' id='l1'/>`)
}

func TestRegisterClosed(t *testing.T) {
	env := start(t, false, 0)
	// XEP-0077 §3.1: a host without in-band registration MUST answer
	// service-unavailable.
	reply, handled := env.PreAuth(t, clientAddr, true, getForm)
	if !handled {
		t.Fatal("not handled: the stream would end instead of a stanza error")
	}
	modtest.Match(t, reply, `<iq type='error' id='reg1' from='localhost'><query xmlns='jabber:iq:register'/>`+stanzaErr("cancel", "service-unavailable")+`</iq>`)
	reply, _ = env.PreAuth(t, clientAddr, true, set("reg2", `<username>bill</username><password>Calliope</password>`))
	modtest.Match(t, reply, `<iq type='error' id='reg2'><query xmlns='jabber:iq:register'/>`+stanzaErr("cancel", "not-allowed")+`</iq>`)
	if ok, _ := env.Accounts.Exists(context.Background(), "localhost", "bill"); ok {
		t.Fatal("bill was created while registration is closed")
	}
}

func TestRegisterRateLimit(t *testing.T) {
	env := start(t, true, 2)
	try := func(addr, user string, want string) {
		t.Helper()
		reply, _ := env.PreAuth(t, addr, true, set("r", `<username>`+user+`</username><password>pw</password>`))
		modtest.Match(t, reply, want)
	}
	ok := `<iq type='result' id='r'/>`
	limited := `<iq type='error' id='r'><query xmlns='jabber:iq:register'/>` + stanzaErr("wait", "resource-constraint") + `</iq>`
	conflict := `<iq type='error' id='r'><query xmlns='jabber:iq:register'/>` + stanzaErr("cancel", "conflict") + `</iq>`
	try(clientAddr, "u1", ok)
	try(clientAddr, "u1", conflict) // failures do not count
	try("198.51.100.7:6000", "u2", ok)
	try(clientAddr, "u3", limited)
	try("198.51.100.8:5000", "u3", ok) // another address
	// Another port or connection is the same address; IPv6 counts per /64.
	try("[2001:db8::1]:5000", "v1", ok)
	try("[2001:db8::2]:5000", "v2", ok)
	try("[2001:db8::3]:5000", "v3", limited)
	try("[2001:db8:0:1::3]:5000", "v3", ok)
}

func TestAccount(t *testing.T) {
	env := start(t, false, 0) // closed: account management still works
	alice := env.Login(t, "alice", "phone")
	bob := env.Login(t, "bob", "desk")

	// XEP-0077 §3.1: a registered entity gets <registered/>.
	for _, to := range []string{"", " to='localhost'", " to='alice@localhost'"} {
		alice.Send(t, `<iq type='get' id='g1'`+to+`><query xmlns='jabber:iq:register'/></iq>`)
		alice.Expect(t, `<iq type='result' id='g1' to='alice@localhost/phone'><query xmlns='jabber:iq:register'>
		  <registered/><instructions>{any}</instructions><username>alice</username><password/></query></iq>`)
	}
	// Not for someone else's account.
	bob.Send(t, `<iq type='get' id='g2' to='alice@localhost'><query xmlns='jabber:iq:register'/></iq>`)
	bob.Expect(t, `<iq type='error' id='g2'><query xmlns='jabber:iq:register'/>
	  <error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`)
}

func TestChangePassword(t *testing.T) {
	env := start(t, false, 0)
	alice := env.Login(t, "alice", "phone")
	bob := env.Login(t, "bob", "desk")
	cases := []struct {
		name    string
		from    *modtest.Session
		to      string
		body    string
		want    string // "" for a result
		newPass string // the password afterwards
	}{
		// XEP-0077 §3.3 examples 17 and 18.
		{"change", alice, " to='localhost'", `<username>alice</username><password>newpass</password>`, "", "newpass"},
		{"bare JID username", alice, "", `<username>alice@localhost</username><password>newer</password>`, "", "newer"},
		{"to own bare JID", alice, " to='alice@localhost'", `<username>ALICE</username><password>newest</password>`, "", "newest"},
		// Table 3: bad-request without the username.
		{"no username", alice, "", `<password>x</password>`, stanzaErr("modify", "bad-request"), "newest"},
		// §3.3: an empty password MUST NOT replace the password.
		{"empty password", alice, "", `<username>alice</username><password/>`, stanzaErr("modify", "bad-request"), "newest"},
		{"no password", alice, "", `<username>alice</username>`, stanzaErr("modify", "bad-request"), "newest"},
		// §3.1.1: not another identity.
		{"other username", alice, "", `<username>bob</username><password>x</password>`, stanzaErr("modify", "not-acceptable"), "newest"},
		{"other domain", alice, "", `<username>alice@example.com</username><password>x</password>`, stanzaErr("modify", "not-acceptable"), "newest"},
		{"someone else's account", bob, " to='alice@localhost'", `<username>alice</username><password>x</password>`,
			`<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`, "newest"},
		{"bad password", alice, "", `<username>alice</username><password>` + strings.Repeat("x", 1025) + `</password>`,
			stanzaErr("modify", "not-acceptable"), "newest"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.from.Send(t, `<iq type='set' id='c1'`+tc.to+`><query xmlns='jabber:iq:register'>`+tc.body+`</query></iq>`)
			got := tc.from.Next(t)
			if tc.want == "" {
				modtest.Match(t, got, `<iq type='result' id='c1'/>`)
				if len(got.Elements()) != 0 {
					t.Fatalf("result has a payload: %s", got)
				}
			} else {
				modtest.Match(t, got, `<iq type='error' id='c1'><query xmlns='jabber:iq:register'/>`+tc.want+`</iq>`)
			}
			if !env.PasswordOK(t, "alice", tc.newPass) {
				t.Fatalf("alice's password is not %q", tc.newPass)
			}
		})
	}
	if !env.PasswordOK(t, "bob", modtest.Password) {
		t.Fatal("bob's password changed")
	}

	// XEP-0077 §3.3 table 3: not-authorized on a channel not safe enough.
	alice.SetInsecure("203.0.113.9:4000")
	alice.Send(t, `<iq type='set' id='c2'><query xmlns='jabber:iq:register'><username>alice</username><password>sniffed</password></query></iq>`)
	alice.Expect(t, `<iq type='error' id='c2'><query xmlns='jabber:iq:register'/>`+stanzaErr("auth", "not-authorized")+`</iq>`)
	if env.PasswordOK(t, "alice", "sniffed") {
		t.Fatal("password changed over an insecure stream")
	}
}

func TestRemove(t *testing.T) {
	env := start(t, false, 0)
	hooks := events(env)
	phone := env.Login(t, "alice", "phone")
	laptop := env.Login(t, "alice", "laptop")
	bob := env.Login(t, "bob", "desk")

	// XEP-0077 §3.2 table 2: <remove/> alone.
	phone.Send(t, `<iq type='set' id='u0'><query xmlns='jabber:iq:register'><remove/><username>alice</username></query></iq>`)
	phone.Expect(t, `<iq type='error' id='u0'><query xmlns='jabber:iq:register'/>`+stanzaErr("modify", "bad-request")+`</iq>`)
	// Not someone else's account.
	bob.Send(t, `<iq type='set' id='u1' to='alice@localhost'><query xmlns='jabber:iq:register'><remove/></query></iq>`)
	bob.Expect(t, `<iq type='error' id='u1'><query xmlns='jabber:iq:register'/>
	  <error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`)
	if ok, _ := env.Accounts.Exists(context.Background(), "localhost", "alice"); !ok {
		t.Fatal("alice removed by a failed request")
	}

	// XEP-0077 §3.2 examples 8 and 9: the result, then a not-authorized
	// stream error to every session.
	phone.Send(t, `<iq type='set' id='unreg1'><query xmlns='jabber:iq:register'><remove/></query></iq>`)
	phone.Expect(t, `<iq type='result' id='unreg1' to='alice@localhost/phone'/>`)
	ev := env.Events()
	if len(ev) < 2 || !strings.HasPrefix(ev[len(ev)-2], "deliver alice@localhost/phone <iq") ||
		ev[len(ev)-1] != "kick alice@localhost not-authorized" {
		t.Fatalf("events %q: want the result delivered, then the kick", ev)
	}
	if phone.Closed() != "not-authorized" || laptop.Closed() != "not-authorized" {
		t.Fatalf("sessions closed with %q and %q", phone.Closed(), laptop.Closed())
	}
	if bob.Closed() != "" {
		t.Fatal("bob was kicked")
	}
	if ok, _ := env.Accounts.Exists(context.Background(), "localhost", "alice"); ok {
		t.Fatal("alice still exists")
	}
	if want := []string{"removed alice@localhost"}; !slices.Equal(*hooks, want) {
		t.Fatalf("hooks %q, want %q", *hooks, want)
	}
	if laptop.Pending() != 0 {
		t.Fatalf("laptop got %s", laptop.Next(t))
	}
}

// A session that outlived its account (removed by an administrator) gets
// registration-required (XEP-0077 §3.2 table 2).
func TestRemoveGone(t *testing.T) {
	env := start(t, true, 0)
	alice := env.Login(t, "alice", "phone")
	if err := env.Accounts.Remove(context.Background(), "localhost", "alice"); err != nil {
		t.Fatal(err)
	}
	alice.Send(t, `<iq type='set' id='u2'><query xmlns='jabber:iq:register'><remove/></query></iq>`)
	alice.Expect(t, `<iq type='error' id='u2'><query xmlns='jabber:iq:register'/>`+stanzaErr("auth", "registration-required")+`</iq>`)
}
