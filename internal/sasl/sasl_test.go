package sasl_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/parleyim/parley/internal/sasl"
)

// fakeCB is a ChannelBinding with fixed data.
type fakeCB map[string][]byte

func (f fakeCB) Types() []string {
	var t []string
	for _, name := range []string{sasl.CBTLSExporter, sasl.CBTLSServerEndPoint, "x-test"} {
		if _, ok := f[name]; ok {
			t = append(t, name)
		}
	}
	return t
}

func (f fakeCB) Data(cbType string) ([]byte, error) {
	d, ok := f[cbType]
	if !ok {
		return nil, errors.New("no such type")
	}
	return d, nil
}

var (
	cbExporter = fakeCB{sasl.CBTLSExporter: bytes.Repeat([]byte{0xEE}, 32)}
	cbEndPoint = fakeCB{sasl.CBTLSServerEndPoint: bytes.Repeat([]byte{0x5E}, 32)}
	cbBoth     = fakeCB{
		sasl.CBTLSExporter:       bytes.Repeat([]byte{0xEE}, 32),
		sasl.CBTLSServerEndPoint: bytes.Repeat([]byte{0x5E}, 32),
	}
)

// userDB maps prepared usernames to passwords and derives credentials on
// demand (cached).
type userDB struct {
	passwords map[string]string
	mu        sync.Mutex
	cache     map[string]sasl.Credentials
	calls     []string
}

func newDB(pw map[string]string) *userDB {
	return &userDB{passwords: pw, cache: map[string]sasl.Credentials{}}
}

func (db *userDB) lookup(_ context.Context, username string, h sasl.Hash) (sasl.Credentials, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.calls = append(db.calls, username+"/"+string(h))
	pw, ok := db.passwords[username]
	if !ok {
		return sasl.Credentials{}, fmt.Errorf("lookup %q: %w", username, sasl.ErrUnknownUser)
	}
	key := username + "\x00" + string(h)
	if c, ok := db.cache[key]; ok {
		return c, nil
	}
	c, err := sasl.DeriveCredentials(h, pw, []byte("salt-of-"+username), sasl.DefaultIterations)
	if err != nil {
		return sasl.Credentials{}, err
	}
	db.cache[key] = c
	return c, nil
}

var testDB = newDB(map[string]string{
	"juliet": "r0m30myr0m30",
	"a,b=c":  "pass word",
	"romeo":  "Ünïcødé ☃",
})

// run drives a client/server exchange to its end and returns the number of
// server steps taken and the final server error.
func run(t *testing.T, c sasl.Client, s sasl.Server) (steps int, err error) {
	t.Helper()
	ctx := context.Background()
	in, done, err := c.Step(nil)
	if err != nil {
		t.Fatalf("client initial: %v", err)
	}
	for {
		steps++
		if steps > 10 {
			t.Fatal("too many steps")
		}
		out, sdone, err := s.Step(ctx, in)
		if err != nil {
			return steps, err
		}
		in, done, err = c.Step(out)
		if err != nil {
			t.Fatalf("client step %d: %v", steps, err)
		}
		if sdone {
			if !done {
				t.Fatal("server done but client not")
			}
			return steps, nil
		}
		if done {
			t.Fatal("client done but server not")
		}
	}
}

func condition(err error) string {
	var f *sasl.Failure
	if errors.As(err, &f) {
		return f.Condition
	}
	if err == nil {
		return ""
	}
	return "non-failure: " + err.Error()
}

func TestVectors(t *testing.T) {
	tests := []struct {
		name, mech, cnonce, snonce, salt string
		clientFirst, serverFirst         string
		clientFinal, serverFinal         string
	}{
		{
			name: "RFC 5802 §5", mech: "SCRAM-SHA-1",
			cnonce: "fyko+d2lbbFgONRv9qkxdawL", snonce: "3rfcNHYJY1ZVvWVs7j", salt: "QSXCR+Q6sek8bf92",
			clientFirst: "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
			serverFirst: "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
			clientFinal: "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
			serverFinal: "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
		},
		{
			name: "RFC 7677 §3", mech: "SCRAM-SHA-256",
			cnonce: "rOprNGfwEbeRWgbNEkqO", snonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0", salt: "W22ZaJ0SNY7soEsUEjb6gQ==",
			clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
			serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
			clientFinal: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
			serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			salt, _ := base64.StdEncoding.DecodeString(tt.salt)
			lookup := func(_ context.Context, u string, h sasl.Hash) (sasl.Credentials, error) {
				if u != "user" {
					return sasl.Credentials{}, sasl.ErrUnknownUser
				}
				return sasl.DeriveCredentials(h, "pencil", salt, 4096)
			}
			c, err := sasl.NewClientWithNonce(tt.mech, "user", "pencil", "", nil, tt.cnonce)
			if err != nil {
				t.Fatal(err)
			}
			s, err := sasl.NewServerWithNonce(tt.mech, sasl.ServerConfig{Lookup: lookup}, tt.snonce)
			if err != nil {
				t.Fatal(err)
			}
			step := func(got []byte, err error, want string) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != want {
					t.Fatalf("got  %q\nwant %q", got, want)
				}
			}
			cf, _, err := c.Step(nil)
			step(cf, err, tt.clientFirst)
			sf, _, err := s.Step(ctx, cf)
			step(sf, err, tt.serverFirst)
			cfin, _, err := c.Step(sf)
			step(cfin, err, tt.clientFinal)
			sfin, done, err := s.Step(ctx, cfin)
			step(sfin, err, tt.serverFinal)
			if !done {
				t.Fatal("server not done")
			}
			if _, done, err := c.Step(sfin); err != nil || !done {
				t.Fatalf("client final: done=%v err=%v", done, err)
			}
			if s.Username() != "user" || s.Authzid() != "" {
				t.Fatalf("username %q authzid %q", s.Username(), s.Authzid())
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	for _, h := range sasl.Hashes {
		for _, plus := range []bool{false, true} {
			for _, cb := range []fakeCB{nil, cbExporter, cbEndPoint, cbBoth} {
				if plus && cb == nil {
					continue
				}
				mech := "SCRAM-" + string(h)
				if plus {
					mech += "-PLUS"
				}
				name := fmt.Sprintf("%s/%v", mech, cb.Types())
				t.Run(name, func(t *testing.T) {
					var clientCB sasl.ChannelBinding
					if plus {
						clientCB = cb
					}
					c, err := sasl.NewClient(mech, "Juliet", "r0m30myr0m30", "juliet@example.com", clientCB)
					if err != nil {
						t.Fatal(err)
					}
					cfg := sasl.ServerConfig{Lookup: testDB.lookup, PlusAdvertised: plus}
					if cb != nil {
						cfg.CB = cb
					}
					s, err := sasl.NewServer(mech, cfg)
					if err != nil {
						t.Fatal(err)
					}
					steps, err := run(t, c, s)
					if err != nil {
						t.Fatal(err)
					}
					if steps != 2 {
						t.Errorf("steps = %d", steps)
					}
					if s.Username() != "juliet" {
						t.Errorf("Username() = %q", s.Username())
					}
					if s.Authzid() != "juliet@example.com" {
						t.Errorf("Authzid() = %q", s.Authzid())
					}
				})
			}
		}
	}
}

func TestSCRAMFailures(t *testing.T) {
	tests := []struct {
		name           string
		mech           string
		user, password string
		clientCB       sasl.ChannelBinding
		serverCB       sasl.ChannelBinding
		plusAdvertised bool
		wantCond       string
		wantSteps      int
		// wantCreds: the failure is a credential failure, counted
		// against login-failure limits.
		wantCreds bool
	}{
		{name: "wrong password", mech: "SCRAM-SHA-256", user: "juliet", password: "nope",
			wantCond: "not-authorized", wantSteps: 2, wantCreds: true},
		{name: "unknown user", mech: "SCRAM-SHA-256", user: "nobody", password: "r0m30myr0m30",
			wantCond: "not-authorized", wantSteps: 2, wantCreds: true},
		{name: "unknown user plus", mech: "SCRAM-SHA-512-PLUS", user: "nobody", password: "x",
			clientCB: cbExporter, serverCB: cbExporter, plusAdvertised: true,
			wantCond: "not-authorized", wantSteps: 2, wantCreds: true},
		{name: "tampered channel binding", mech: "SCRAM-SHA-256-PLUS", user: "juliet", password: "r0m30myr0m30",
			clientCB: fakeCB{sasl.CBTLSExporter: []byte("mitm")}, serverCB: cbExporter, plusAdvertised: true,
			wantCond: "not-authorized", wantSteps: 2, wantCreds: true},
		{name: "unsupported cb type", mech: "SCRAM-SHA-256-PLUS", user: "juliet", password: "r0m30myr0m30",
			clientCB: cbExporter, serverCB: cbEndPoint, plusAdvertised: true,
			wantCond: "not-authorized", wantSteps: 1},
		{name: "y downgrade", mech: "SCRAM-SHA-1", user: "juliet", password: "r0m30myr0m30",
			clientCB: cbExporter, serverCB: cbExporter, plusAdvertised: true,
			wantCond: "not-authorized", wantSteps: 1},
		{name: "invalid username", mech: "SCRAM-SHA-1", user: "ju\u0007liet", password: "r0m30myr0m30",
			wantCond: "not-authorized", wantSteps: 1, wantCreds: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := sasl.NewClient(tt.mech, tt.user, tt.password, "", tt.clientCB)
			if err != nil {
				t.Fatal(err)
			}
			s, err := sasl.NewServer(tt.mech, sasl.ServerConfig{
				Lookup: testDB.lookup, CB: tt.serverCB, PlusAdvertised: tt.plusAdvertised,
			})
			if err != nil {
				t.Fatal(err)
			}
			steps, err := run(t, c, s)
			if got := condition(err); got != tt.wantCond || steps != tt.wantSteps {
				t.Fatalf("got %q after %d steps (err %v), want %q after %d", got, steps, err, tt.wantCond, tt.wantSteps)
			}
			var f *sasl.Failure
			if errors.As(err, &f) && f.Credentials != tt.wantCreds {
				t.Errorf("Credentials = %v, want %v", f.Credentials, tt.wantCreds)
			}
			if s.Username() != "" {
				t.Errorf("Username() = %q after failure", s.Username())
			}
			if _, _, err := s.Step(context.Background(), []byte("n,,n=juliet,r=abc")); err == nil {
				t.Error("Step after failure succeeded")
			}
		})
	}
}

func TestYWithoutPlusAdvertised(t *testing.T) {
	c, err := sasl.NewClient("SCRAM-SHA-256", "juliet", "r0m30myr0m30", "", cbBoth)
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := c.Step(nil)
	if !bytes.HasPrefix(first, []byte("y,,")) {
		t.Fatalf("client-first = %q", first)
	}
	s, _ := sasl.NewServer("SCRAM-SHA-256", sasl.ServerConfig{Lookup: testDB.lookup})
	s.Step(context.Background(), nil) // empty initial response: empty challenge
	cfirst := append([]byte(nil), first...)
	sf, _, err := s.Step(context.Background(), cfirst)
	if err != nil {
		t.Fatal(err)
	}
	cf, _, err := c.Step(sf)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(cf, []byte("c="+base64.StdEncoding.EncodeToString([]byte("y,,"))+",")) {
		t.Fatalf("client-final = %q", cf)
	}
	sfin, done, err := s.Step(context.Background(), cf)
	if err != nil || !done {
		t.Fatalf("done=%v err=%v", done, err)
	}
	if _, done, err := c.Step(sfin); err != nil || !done {
		t.Fatalf("client: done=%v err=%v", done, err)
	}
}

func TestPlusWithoutCB(t *testing.T) {
	for _, cb := range []sasl.ChannelBinding{nil, fakeCB{}} {
		_, err := sasl.NewServer("SCRAM-SHA-256-PLUS", sasl.ServerConfig{Lookup: testDB.lookup, CB: cb})
		if got := condition(err); got != "invalid-mechanism" {
			t.Errorf("NewServer PLUS with CB %v: %q", cb, got)
		}
		if _, err := sasl.NewClient("SCRAM-SHA-256-PLUS", "juliet", "pw", "", cb); err == nil {
			t.Errorf("NewClient PLUS with CB %v succeeded", cb)
		}
	}
}

func TestUnknownUserIndistinguishable(t *testing.T) {
	ctx := context.Background()
	serverFirst := func(mech, user string) (salt, iter string) {
		t.Helper()
		s, err := sasl.NewServer(mech, sasl.ServerConfig{Lookup: testDB.lookup})
		if err != nil {
			t.Fatal(err)
		}
		out, _, err := s.Step(ctx, []byte("n,,n="+user+",r=abcdef"))
		if err != nil {
			t.Fatalf("%s: %v", user, err)
		}
		parts := strings.Split(string(out), ",")
		if len(parts) != 3 {
			t.Fatalf("server-first %q", out)
		}
		return parts[1], parts[2]
	}
	s1, i1 := serverFirst("SCRAM-SHA-256", "ghost")
	s2, i2 := serverFirst("SCRAM-SHA-256", "Ghost") // same prepared name
	s3, _ := serverFirst("SCRAM-SHA-256", "phantom")
	s4, _ := serverFirst("SCRAM-SHA-1", "ghost")
	if s1 != s2 || i1 != i2 {
		t.Errorf("fake salt not deterministic: %s %s / %s %s", s1, i1, s2, i2)
	}
	if s1 == s3 || s1 == s4 {
		t.Errorf("fake salts collide: %s %s %s", s1, s3, s4)
	}
	if i1 != "i=4096" {
		t.Errorf("fake iterations %s", i1)
	}
	salt, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(s1, "s="))
	if len(salt) != 16 {
		t.Errorf("fake salt length %d", len(salt))
	}
}

func TestUsernameEscaping(t *testing.T) {
	c, err := sasl.NewClientWithNonce("SCRAM-SHA-256", "a,b=c", "pass word", "x=y,z@example.com", nil, "nonce")
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := c.Step(nil)
	if want := "n,a=x=3Dy=2Cz@example.com,n=a=2Cb=3Dc,r=nonce"; string(first) != want {
		t.Fatalf("client-first %q, want %q", first, want)
	}
	// Replay the same exchange through a server.
	c, _ = sasl.NewClientWithNonce("SCRAM-SHA-256", "a,b=c", "pass word", "x=y,z@example.com", nil, "nonce")
	s, _ := sasl.NewServer("SCRAM-SHA-256", sasl.ServerConfig{Lookup: testDB.lookup})
	if _, err := run(t, c, s); err != nil {
		t.Fatal(err)
	}
	if s.Username() != "a,b=c" || s.Authzid() != "x=y,z@example.com" {
		t.Fatalf("Username %q Authzid %q", s.Username(), s.Authzid())
	}
}

func TestUnicodeCredentials(t *testing.T) {
	// Username case-mapped and width-folded, password NFC-normalized.
	c, err := sasl.NewClient("SCRAM-SHA-1", "ＲＯＭＥＯ", "U\u0308ni\u0308cøde\u0301 ☃", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := sasl.NewServer("SCRAM-SHA-1", sasl.ServerConfig{Lookup: testDB.lookup})
	if _, err := run(t, c, s); err != nil {
		t.Fatal(err)
	}
	if s.Username() != "romeo" {
		t.Fatalf("Username %q", s.Username())
	}
}

func TestSCRAMMalformed(t *testing.T) {
	ctx := context.Background()
	firsts := []struct {
		msg  string
		cond string
	}{
		{"", "malformed-request"},
		{"n", "malformed-request"},
		{"n,", "malformed-request"},
		{"n,,", "malformed-request"},
		{"x,,n=juliet,r=abc", "malformed-request"},
		{"p=tls-exporter,,n=juliet,r=abc", "malformed-request"}, // p= with non-PLUS
		{"p=,,n=juliet,r=abc", "malformed-request"},
		{"n,b=x,n=juliet,r=abc", "malformed-request"},
		{"n,a=,n=juliet,r=abc", "malformed-request"},
		{"n,a=x=2,n=juliet,r=abc", "malformed-request"},
		{"n,,m=ext,n=juliet,r=abc", "malformed-request"},
		{"n,,n=juliet", "malformed-request"},
		{"n,,r=abc,n=juliet", "malformed-request"},
		{"n,,n=,r=abc", "malformed-request"},
		{"n,,n=jul=iet,r=abc", "malformed-request"},
		{"n,,n=jul=2ciet,r=abc", "malformed-request"},
		{"n,,n=juliet,r=", "malformed-request"},
		{"n,,n=juliet,r=ab c", "malformed-request"},
		{"n,,n=juliet,r=abc,", "malformed-request"},
		{"n,,n=juliet,r=abc,1=x", "malformed-request"},
		{"n,,n=jul\x00iet,r=abc", "malformed-request"},
		{"n,,n=jul\xffiet,r=abc", "malformed-request"},
		{"n,,n=juliet,r=abc\x80", "malformed-request"},
		{"n,,n=\u202e,r=abc", "not-authorized"}, // fails PRECIS
		{"n,,n=juliet,r=abc,x=ignored", ""},
	}
	for _, tt := range firsts {
		s, _ := sasl.NewServer("SCRAM-SHA-1", sasl.ServerConfig{Lookup: testDB.lookup})
		if tt.msg == "" {
			s.Step(ctx, nil)
		}
		_, _, err := s.Step(ctx, []byte(tt.msg))
		if got := condition(err); got != tt.cond {
			t.Errorf("client-first %q: got %q (%v), want %q", tt.msg, got, err, tt.cond)
		}
	}
	// PLUS mechanism with n / y flag.
	for _, msg := range []string{"n,,n=juliet,r=abc", "y,,n=juliet,r=abc"} {
		s, _ := sasl.NewServer("SCRAM-SHA-1-PLUS", sasl.ServerConfig{Lookup: testDB.lookup, CB: cbBoth})
		if _, _, err := s.Step(ctx, []byte(msg)); condition(err) != "malformed-request" {
			t.Errorf("PLUS with %q: %v", msg, err)
		}
	}

	// Client-final variants, built from a valid exchange.
	validProof := func() (sasl.Server, string) {
		c, _ := sasl.NewClientWithNonce("SCRAM-SHA-1", "juliet", "r0m30myr0m30", "", nil, "abc")
		s, _ := sasl.NewServerWithNonce("SCRAM-SHA-1", sasl.ServerConfig{Lookup: testDB.lookup}, "srv")
		first, _, _ := c.Step(nil)
		sf, _, err := s.Step(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		cf, _, err := c.Step(sf)
		if err != nil {
			t.Fatal(err)
		}
		return s, string(cf)
	}
	_, good := validProof()
	proof := good[strings.LastIndex(good, ",p=")+1:]
	finals := []struct {
		msg  string
		cond string
	}{
		{"", "malformed-request"},
		{"c=biws", "malformed-request"},
		{"c=biws,r=abcsrv", "malformed-request"},
		{"r=abcsrv,c=biws," + proof, "malformed-request"},
		{"c=b!ws,r=abcsrv," + proof, "malformed-request"},
		{"c=biws,r=abcsrv,p=***", "malformed-request"},
		{"c=biws,r=abcsrv,p=AAAA", "malformed-request"},
		{"c=biws,r=abcsrv,," + proof, "malformed-request"},
		{"c=eSws,r=abcsrv," + proof, "not-authorized"}, // "y,," instead of "n,,"
		{"c=biws,r=abcsrX," + proof, "not-authorized"},
		{"c=biws,r=abcsrv,x=ext," + proof, "not-authorized"}, // extension changes AuthMessage
		{good, ""},
	}
	for _, tt := range finals {
		s, _ := validProof()
		out, done, err := s.Step(ctx, []byte(tt.msg))
		if got := condition(err); got != tt.cond {
			t.Errorf("client-final %q: got %q (%v), want %q", tt.msg, got, err, tt.cond)
		}
		if done != (tt.cond == "") || (done && !bytes.HasPrefix(out, []byte("v="))) {
			t.Errorf("client-final %q: done=%v out=%q", tt.msg, done, out)
		}
	}
}

func TestClientRejectsBadServer(t *testing.T) {
	newClient := func() sasl.Client {
		c, err := sasl.NewClientWithNonce("SCRAM-SHA-256", "juliet", "r0m30myr0m30", "", nil, "cn")
		if err != nil {
			t.Fatal(err)
		}
		c.Step(nil)
		return c
	}
	salt := base64.StdEncoding.EncodeToString([]byte("salt"))
	for _, sf := range []string{
		"",
		"r=cn,s=" + salt + ",i=4096",     // nonce not extended
		"r=xxsrv,s=" + salt + ",i=4096",  // wrong prefix
		"r=cnsrv,s=,i=4096",              // empty salt
		"r=cnsrv,s=" + salt + ",i=0",     // bad count
		"r=cnsrv,s=" + salt + ",i=+4096", // bad count
		"m=x,r=cnsrv,s=" + salt + ",i=4096",
		"r=cnsrv,i=4096,s=" + salt,
	} {
		if _, _, err := newClient().Step([]byte(sf)); err == nil {
			t.Errorf("server-first %q accepted", sf)
		}
	}
	// Bad server-final.
	for _, final := range []string{"", "v=AAAA", "e=other-error", "x=1"} {
		c := newClient()
		if _, _, err := c.Step([]byte("r=cnsrv,s=" + salt + ",i=1")); err != nil {
			t.Fatal(err)
		}
		if _, done, err := c.Step([]byte(final)); err == nil || done {
			t.Errorf("server-final %q accepted", final)
		}
	}
}

func TestPLAIN(t *testing.T) {
	tests := []struct {
		name     string
		msg      string
		cond     string
		user     string
		authzid  string
		initial  bool // send as initial response (else after empty challenge)
		lookupOK bool
	}{
		{name: "ok", msg: "\x00juliet\x00r0m30myr0m30", user: "juliet", initial: true},
		{name: "ok no initial response", msg: "\x00Juliet\x00r0m30myr0m30", user: "juliet"},
		{name: "authzid", msg: "juliet@example.com\x00juliet\x00r0m30myr0m30", user: "juliet", authzid: "juliet@example.com", initial: true},
		{name: "nfc password", msg: "\x00romeo\x00U\u0308ni\u0308cøde\u0301 ☃", user: "romeo", initial: true},
		{name: "wrong password", msg: "\x00juliet\x00nope", cond: "not-authorized", initial: true},
		{name: "unknown user", msg: "\x00nobody\x00r0m30myr0m30", cond: "not-authorized", initial: true},
		{name: "empty user", msg: "\x00\x00r0m30myr0m30", cond: "malformed-request", initial: true},
		{name: "empty password", msg: "\x00juliet\x00", cond: "malformed-request", initial: true},
		{name: "missing parts", msg: "juliet\x00r0m30myr0m30", cond: "malformed-request", initial: true},
		{name: "extra part", msg: "\x00juliet\x00r0m30myr0m30\x00", cond: "malformed-request", initial: true},
		{name: "empty", msg: "", cond: "malformed-request"},
		{name: "bad utf8", msg: "\x00jul\xffiet\x00pw", cond: "malformed-request", initial: true},
		{name: "control char password", msg: "\x00juliet\x00pw\x07", cond: "not-authorized", initial: true},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := sasl.NewServer("PLAIN", sasl.ServerConfig{Lookup: testDB.lookup})
			if err != nil {
				t.Fatal(err)
			}
			if !tt.initial {
				out, done, err := s.Step(ctx, nil)
				if err != nil || done || out == nil || len(out) != 0 {
					t.Fatalf("empty initial response: out=%q done=%v err=%v", out, done, err)
				}
			}
			out, done, err := s.Step(ctx, []byte(tt.msg))
			if got := condition(err); got != tt.cond {
				t.Fatalf("got %q (%v), want %q", got, err, tt.cond)
			}
			if done != (tt.cond == "") || len(out) != 0 {
				t.Fatalf("done=%v out=%q", done, out)
			}
			if s.Username() != tt.user || (tt.cond == "" && s.Authzid() != tt.authzid) {
				t.Fatalf("Username %q Authzid %q", s.Username(), s.Authzid())
			}
		})
	}
}

func TestPLAINHashFallback(t *testing.T) {
	only := func(h sasl.Hash) sasl.Lookup {
		return func(ctx context.Context, u string, got sasl.Hash) (sasl.Credentials, error) {
			if u != "juliet" || got != h {
				return sasl.Credentials{}, sasl.ErrUnknownUser
			}
			return testDB.lookup(ctx, u, got)
		}
	}
	for _, h := range sasl.Hashes {
		s, _ := sasl.NewServer("PLAIN", sasl.ServerConfig{Lookup: only(h)})
		if _, done, err := s.Step(context.Background(), []byte("\x00juliet\x00r0m30myr0m30")); !done || err != nil {
			t.Errorf("%s only: done=%v err=%v", h, done, err)
		}
	}
}

func TestPLAINClient(t *testing.T) {
	c, err := sasl.NewClient("PLAIN", "juliet", "r0m30myr0m30", "juliet@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := sasl.NewServer("PLAIN", sasl.ServerConfig{Lookup: testDB.lookup})
	steps, err := run(t, c, s)
	if err != nil || steps != 1 {
		t.Fatalf("steps=%d err=%v", steps, err)
	}
	if s.Authzid() != "juliet@example.com" {
		t.Fatalf("Authzid %q", s.Authzid())
	}
}

func TestLookupErrors(t *testing.T) {
	storage := errors.New("db down")
	disabled := &sasl.Failure{Condition: "account-disabled", Text: "bye"}
	for _, tt := range []struct {
		err  error
		cond string
	}{
		{storage, "temporary-auth-failure"},
		{fmt.Errorf("wrapped: %w", disabled), "account-disabled"},
	} {
		lookup := func(context.Context, string, sasl.Hash) (sasl.Credentials, error) { return sasl.Credentials{}, tt.err }
		for _, mech := range []string{"PLAIN", "SCRAM-SHA-1"} {
			s, _ := sasl.NewServer(mech, sasl.ServerConfig{Lookup: lookup})
			msg := "n,,n=juliet,r=abc"
			if mech == "PLAIN" {
				msg = "\x00juliet\x00pw"
			}
			_, _, err := s.Step(context.Background(), []byte(msg))
			if condition(err) != tt.cond {
				t.Errorf("%s, lookup error %v: got %v", mech, tt.err, err)
			}
			if tt.err == storage && !errors.Is(err, storage) {
				t.Errorf("%s: storage error not wrapped: %v", mech, err)
			}
		}
	}
}

func TestNewServerUnknownMechanism(t *testing.T) {
	for _, mech := range []string{"", "DIGEST-MD5", "scram-sha-1", "SCRAM-SHA-384", "SCRAM-SHA-1-plus", "EXTERNAL"} {
		_, err := sasl.NewServer(mech, sasl.ServerConfig{Lookup: testDB.lookup})
		if condition(err) != "invalid-mechanism" {
			t.Errorf("%q: %v", mech, err)
		}
		if _, err := sasl.NewClient(mech, "u", "p", "", nil); err == nil {
			t.Errorf("NewClient(%q) succeeded", mech)
		}
	}
}

func TestServerMechanisms(t *testing.T) {
	tests := []struct {
		tls, plus, plain bool
		want             []string
	}{
		{true, true, true, []string{"SCRAM-SHA-512-PLUS", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"}},
		{true, true, false, []string{"SCRAM-SHA-512-PLUS", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1"}},
		{true, false, true, []string{"SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"}},
		{false, true, false, []string{"SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1"}},
	}
	for _, tt := range tests {
		if got := sasl.ServerMechanisms(tt.tls, tt.plus, tt.plain); !slices.Equal(got, tt.want) {
			t.Errorf("ServerMechanisms(%v, %v, %v) = %v", tt.tls, tt.plus, tt.plain, got)
		}
	}
}

func TestDeriveCredentials(t *testing.T) {
	salt := sasl.NewSalt()
	if len(salt) != 16 || bytes.Equal(salt, sasl.NewSalt()) {
		t.Fatalf("NewSalt: %x", salt)
	}
	for _, tt := range []struct {
		name     string
		h        sasl.Hash
		password string
		salt     []byte
		iter     int
		ok       bool
		keyLen   int
	}{
		{"sha1", sasl.SHA1, "pencil", salt, 4096, true, 20},
		{"sha256", sasl.SHA256, "pencil", salt, 4096, true, 32},
		{"sha512", sasl.SHA512, "pencil", salt, 4096, true, 64},
		{"empty password", sasl.SHA256, "", salt, 4096, false, 0},
		{"control char", sasl.SHA256, "pen\x00cil", salt, 4096, false, 0},
		{"tab", sasl.SHA256, "pen\tcil", salt, 4096, false, 0},
		{"unknown hash", "MD5", "pencil", salt, 4096, false, 0},
		{"no salt", sasl.SHA256, "pencil", nil, 4096, false, 0},
		{"zero iterations", sasl.SHA256, "pencil", salt, 0, false, 0},
	} {
		c, err := sasl.DeriveCredentials(tt.h, tt.password, tt.salt, tt.iter)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v", tt.name, err)
			continue
		}
		if tt.ok && (len(c.StoredKey) != tt.keyLen || len(c.ServerKey) != tt.keyLen || c.Iterations != tt.iter || !bytes.Equal(c.Salt, tt.salt)) {
			t.Errorf("%s: %+v", tt.name, c)
		}
	}
	// Password prepared: width-mapped spaces and NFC give the same keys.
	a, _ := sasl.DeriveCredentials(sasl.SHA256, "e\u0301\u3000x", salt, 1)
	b, _ := sasl.DeriveCredentials(sasl.SHA256, "\u00e9 x", salt, 1)
	if !bytes.Equal(a.StoredKey, b.StoredKey) {
		t.Error("OpaqueString preparation not applied")
	}
}

func TestFailureError(t *testing.T) {
	f := &sasl.Failure{Condition: "not-authorized", Text: "nope"}
	if f.Error() != "sasl: not-authorized: nope" {
		t.Errorf("Error() = %q", f.Error())
	}
}
