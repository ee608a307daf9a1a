package admin_test

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/admin"
	"github.com/parleyim/parley/internal/client"
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/mod/roster"
	"github.com/parleyim/parley/internal/xmlstream"
	"github.com/parleyim/parley/internal/xmpptest"
)

// The fixtures' accounts and their passwords on the server that exported
// them (testdata/README.md).
var fixturePasswords = map[string]string{"alice": "alice-pw1", "bob": "bob-pw2", "carol": "carol-pw3"}

func readFixtures(t *testing.T, files ...string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, f := range files {
		b, err := admin.ReadPIEFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// rosterOf returns user's roster as "jid subscription[ ask][ groups]" lines.
func rosterOf(t *testing.T, srv *xmpptest.Server, user string) []string {
	t.Helper()
	rs := rosterService(t, srv)
	items, err := rs.Items(t.Context(), jid.MustParse(user+"@localhost"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range items {
		s := it.JID.String() + " " + string(it.Subscription)
		if it.Ask {
			s += " ask"
		}
		if it.Name != "" {
			s += " name=" + it.Name
		}
		if len(it.Groups) > 0 {
			s += " groups=" + strings.Join(it.Groups, ",")
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func pendingOf(t *testing.T, srv *xmpptest.Server, user string) []string {
	t.Helper()
	ps, err := rosterService(t, srv).PendingIns(t.Context(), jid.MustParse(user+"@localhost"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range ps {
		out = append(out, p.JID.String())
	}
	slices.Sort(out)
	return out
}

// loginOld logs user in over TCP with SCRAM-SHA-1 and the password it had
// on the old server.
func loginOld(t *testing.T, srv *xmpptest.Server, user string) *client.Conn {
	t.Helper()
	cfg := srv.ClientConfig(user)
	cfg.Password = fixturePasswords[user]
	cfg.Mechanism = "SCRAM-SHA-1"
	return srv.Dial(t, cfg)
}

func exportOf(t *testing.T, c *admin.Client) string {
	t.Helper()
	var b bytes.Buffer
	if err := c.Export(t.Context(), &b); err != nil {
		t.Fatalf("Export: %v", err)
	}
	return b.String()
}

func TestImportFixtures(t *testing.T) {
	tests := []struct {
		name    string
		files   []string
		rosters map[string][]string
		pending map[string][]string
		offline []string // bodies of alice's offline messages, in order
	}{
		{
			name:  "ejabberd 23.01",
			files: []string{"ejabberd/20261204-085051.xml"},
			rosters: map[string][]string{
				"alice": {"bob@localhost both name=Bob groups=Friends", "carol@localhost to name=Carol groups=Work"},
				"bob":   {"alice@localhost both name=Alice groups=Friends"},
				"carol": {"alice@localhost from name=Alice"},
			},
			pending: map[string][]string{"bob": {"dave@localhost"}, "carol": {"bob@localhost"}},
			offline: []string{"Hello Alice, first", "Second message"},
		},
		{
			name:  "Prosody 0.12",
			files: []string{"prosody/alice@localhost.xml", "prosody/bob@localhost.xml", "prosody/carol@localhost.xml"},
			rosters: map[string][]string{
				"alice": {"bob@localhost both name=Bob groups=Friends", "carol@localhost to name=Carol groups=Work"},
				"bob":   {"alice@localhost both name=Alice groups=Friends", "erin@localhost none ask"},
				"carol": {"alice@localhost from name=Alice"},
			},
			pending: map[string][]string{"bob": {"dave@localhost"}, "carol": {"bob@localhost"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, c := start(t, "", nil)
			ctx := t.Context()
			var imported []string
			for _, doc := range readFixtures(t, tc.files...) {
				res, err := c.Import(ctx, doc)
				if err != nil {
					t.Fatalf("Import: %v", err)
				}
				if len(res.Skipped) != 0 || len(res.Notes) != 0 {
					t.Errorf("Import = %+v, want no skips or notes", res)
				}
				imported = append(imported, res.Imported...)
			}
			if want := []string{"alice@localhost", "bob@localhost", "carol@localhost"}; !slices.Equal(imported, want) {
				t.Fatalf("imported %v, want %v", imported, want)
			}
			for u, want := range tc.rosters {
				if got := rosterOf(t, srv, u); !slices.Equal(got, want) {
					t.Errorf("roster of %s = %q, want %q", u, got, want)
				}
			}
			for _, u := range []string{"alice", "bob", "carol"} {
				if got := pendingOf(t, srv, u); !slices.Equal(got, tc.pending[u]) {
					t.Errorf("pending requests of %s = %q, want %q", u, got, tc.pending[u])
				}
			}

			// Round trip: what Parley exports, a fresh Parley imports to
			// the same state, and exports the same document.
			exp := exportOf(t, c)
			for _, want := range []string{`<scram-credentials xmlns="urn:xmpp:pie:0#scram" mechanism="SCRAM-SHA-1">`, "<FN>Alice Liddell</FN>", `<storage xmlns="storage:bookmarks">`} {
				if !strings.Contains(exp, want) {
					t.Errorf("export lacks %q:\n%s", want, exp)
				}
			}
			srv2, c2 := start(t, "", nil)
			if res, err := c2.Import(ctx, []byte(exp)); err != nil || len(res.Imported) != 3 {
				t.Fatalf("Import of the export = %+v, %v", res, err)
			}
			if exp2 := exportOf(t, c2); exp2 != exp {
				t.Errorf("export after the round trip differs:\n%s\nwant\n%s", exp2, exp)
			}
			for u, want := range tc.rosters {
				if got := rosterOf(t, srv2, u); !slices.Equal(got, want) {
					t.Errorf("round trip: roster of %s = %q, want %q", u, got, want)
				}
			}
			// Importing again skips every account.
			res, err := c2.Import(ctx, []byte(exp))
			if err != nil || len(res.Imported) != 0 || len(res.Skipped) != 3 {
				t.Errorf("second import = %+v, %v; want 3 skipped", res, err)
			}

			// The old passwords work over TCP (SCRAM-SHA-1 with the
			// imported keys), on both servers.
			for _, s := range []*xmpptest.Server{srv, srv2} {
				for _, u := range []string{"bob", "carol"} {
					loginOld(t, s, u).Close()
				}
				alice := loginOld(t, s, "alice")
				if err := alice.Send(xmlstream.New("jabber:client", "presence")); err != nil {
					t.Fatal(err)
				}
				for _, body := range tc.offline {
					rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
					m, err := alice.RecvMatch(rctx, func(e *xmlstream.Element) bool { return e.Name.Local == "message" })
					cancel()
					if err != nil {
						t.Fatalf("waiting for offline message %q: %v", body, err)
					}
					d := m.Child("urn:xmpp:delay", "delay")
					if got := m.ChildText("jabber:client", "body"); got != body || d == nil || !strings.HasPrefix(d.Attr("stamp"), "2026-12-04T08:50:48") {
						t.Errorf("offline message %s, want body %q with the old delay stamp", m, body)
					}
				}
			}
		})
	}
}

func TestImportErrors(t *testing.T) {
	user := func(inner string) string {
		return `<server-data xmlns='urn:xmpp:pie:0'><host jid='localhost'>
		<user name='zoe' password='pw'/>` + inner + `</host></server-data>`
	}
	tests := []struct {
		name, doc, msg string
	}{
		{"not XML", "<server-data", "not an XML document"},
		{"wrong root", "<query xmlns='jabber:iq:roster'/>", "want a <server-data xmlns='urn:xmpp:pie:0'/> document (XEP-0227), got <query xmlns='jabber:iq:roster'/>"},
		{"unknown host", "<server-data xmlns='urn:xmpp:pie:0'><host jid='elsewhere.example'><user name='a' password='x'/></host></server-data>", `<host jid="elsewhere.example"/>: not a host this server serves`},
		{"malformed roster JID", user(`<user name='yan' password='pw'><query xmlns='jabber:iq:roster'><item jid='a@@b' subscription='both'/></query></user>`), `<user name="yan"/>: roster <item jid="a@@b"/>: malformed JID`},
		{"malformed user", user(`<user name='a b c@' password='pw'/>`), `<user name="a b c@"/>: malformed user name`},
		{"bad subscription", user(`<user name='yan' password='pw'><query xmlns='jabber:iq:roster'><item jid='a@b' subscription='all'/></query></user>`), `subscription="all"/>: want none, to, from or both`},
		{"bad credentials", user(`<user name='yan'><scram-credentials xmlns='urn:xmpp:pie:0#scram' mechanism='SCRAM-SHA-1'><iter-count>0</iter-count><salt>c2FsdA==</salt><server-key>AA==</server-key><stored-key>AA==</stored-key></scram-credentials></user>`), `<iter-count/> "0" is not a positive integer`},
		{"no credentials", user(`<user name='yan'/>`), `<user name="yan"/>: neither a password nor SCRAM`},
		{"bad offline message", user(`<user name='yan' password='pw'><offline-messages><message xmlns='jabber:client' from='x@@y'><body>hi</body></message></offline-messages></user>`), `message 1: <message from="x@@y"/>: malformed JID`},
	}
	srv, c := start(t, "", nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Import(t.Context(), []byte(tc.doc))
			wantStatus(t, tc.name, err, http.StatusBadRequest)
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q, want it to hold %q", err, tc.msg)
			}
			// Nothing is imported from a document with an error, not even
			// the valid account before it.
			if n, err := srv.App.Accounts.Count(t.Context(), "localhost"); err != nil || n != 0 {
				t.Errorf("%d accounts after a refused import (%v), want 0", n, err)
			}
		})
	}
}

// A plaintext password is turned into SCRAM credentials of every hash.
func TestImportPassword(t *testing.T) {
	srv, c := start(t, "", nil)
	doc := `<?xml version='1.0'?><server-data xmlns='urn:xmpp:pie:0'><host jid='localhost'><user name='Juliet' password='balcony'>
	<query xmlns='jabber:iq:roster'><item jid='romeo@montague.example' subscription='to' approved='true'><group>Friends</group></item></query>
	</user></host></server-data>`
	res, err := c.Import(t.Context(), []byte(doc))
	if err != nil || !slices.Equal(res.Imported, []string{"juliet@localhost"}) {
		t.Fatalf("Import = %+v, %v", res, err)
	}
	for _, mech := range []string{"SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-512"} {
		cfg := srv.ClientConfig("juliet")
		cfg.Password, cfg.Mechanism = "balcony", mech
		srv.Dial(t, cfg).Close()
	}
	it, ok, err := rosterService(t, srv).Get(t.Context(), jid.MustParse("juliet@localhost"), jid.MustParse("romeo@montague.example"))
	if err != nil || !ok || it.Subscription != roster.To || !it.Approved || !slices.Equal(it.Groups, []string{"Friends"}) {
		t.Errorf("roster item = %+v, %v, %v", it, ok, err)
	}
	if exp := exportOf(t, c); strings.Contains(exp, "balcony") || !strings.Contains(exp, `mechanism="SCRAM-SHA-512"`) {
		t.Errorf("export holds the password or lacks SCRAM-SHA-512:\n%s", exp)
	}
}
