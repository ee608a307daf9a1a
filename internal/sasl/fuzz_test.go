package sasl_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/parleyim/parley/internal/sasl"
)

var fuzzMechs = []string{
	"SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-512",
	"SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-512-PLUS",
}

const fuzzServerNonce = "srvnonce"

// FuzzSCRAMServer feeds arbitrary client-first and client-final messages to
// a SCRAM server. sel picks the mechanism (low bits) and PlusAdvertised
// (bit 3). Seeds in testdata/fuzz/FuzzSCRAMServer include complete valid
// exchanges (made with the fixed server nonce).
func FuzzSCRAMServer(f *testing.F) {
	creds := map[sasl.Hash]sasl.Credentials{}
	for _, h := range sasl.Hashes {
		c, err := sasl.DeriveCredentials(h, "pencil", []byte("fuzz-salt"), 64)
		if err != nil {
			f.Fatal(err)
		}
		creds[h] = c
	}
	lookup := func(_ context.Context, u string, h sasl.Hash) (sasl.Credentials, error) {
		if u != "user" {
			return sasl.Credentials{}, sasl.ErrUnknownUser
		}
		return creds[h], nil
	}
	f.Add(uint8(0), []byte("n,,n=user,r=abc"), []byte("c=biws,r=abcsrvnonce,p=AAAA"))
	f.Add(uint8(12), []byte("p=tls-exporter,a=x=2Cy,n=u=3D,r=abc,e=f"), []byte("c=,r=,x=y,p="))

	f.Fuzz(func(t *testing.T, sel uint8, first, final []byte) {
		mech := fuzzMechs[int(sel&7)%len(fuzzMechs)]
		s, err := sasl.NewServerWithNonce(mech, sasl.ServerConfig{
			Lookup:         lookup,
			CB:             cbBoth,
			PlusAdvertised: sel&8 != 0,
		}, fuzzServerNonce)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		check := func(err error) {
			var f *sasl.Failure
			if !errors.As(err, &f) || f.Condition == "" {
				t.Fatalf("error is not a *Failure: %v", err)
			}
			if s.Username() != "" {
				t.Fatalf("Username %q after failure", s.Username())
			}
		}
		out, done, err := s.Step(ctx, first)
		if err != nil {
			check(err)
			return
		}
		if done {
			t.Fatal("done after client-first")
		}
		if len(first) == 0 {
			if len(out) != 0 {
				t.Fatalf("non-empty challenge %q", out)
			}
			return
		}
		if !bytes.HasPrefix(out, []byte("r=")) || !bytes.Contains(out, []byte(fuzzServerNonce+",s=")) {
			t.Fatalf("bad server-first %q", out)
		}
		out, done, err = s.Step(ctx, final)
		if err != nil {
			check(err)
			return
		}
		if !done || !bytes.HasPrefix(out, []byte("v=")) || s.Username() != "user" {
			t.Fatalf("success: done=%v out=%q username=%q", done, out, s.Username())
		}
		if _, _, err := s.Step(ctx, final); err == nil {
			t.Fatal("step after success succeeded")
		}
	})
}
