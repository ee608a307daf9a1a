package sasl_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/sasl"
)

func selfSigned(t *testing.T, key crypto.Signer, alg x509.SignatureAlgorithm) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:       big.NewInt(1),
		Subject:            pkix.Name{CommonName: "example.com"},
		DNSNames:           []string{"example.com"},
		NotBefore:          time.Now().Add(-time.Hour),
		NotAfter:           time.Now().Add(time.Hour),
		KeyUsage:           x509.KeyUsageDigitalSignature,
		ExtKeyUsage:        []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		SignatureAlgorithm: alg,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, leaf
}

// handshake connects a TLS client and server over net.Pipe and returns both
// sides' channel bindings.
func handshake(t *testing.T, cert tls.Certificate, leaf *x509.Certificate, version uint16) (server, client sasl.ChannelBinding) {
	t.Helper()
	c1, c2 := net.Pipe()
	t.Cleanup(func() { c1.Close(); c2.Close() })
	srv := tls.Server(c1, &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   version, MaxVersion: version,
	})
	cli := tls.Client(c2, &tls.Config{
		InsecureSkipVerify: true, // self-signed
		MinVersion:         version, MaxVersion: version,
	})
	errc := make(chan error, 1)
	go func() { errc <- srv.Handshake() }()
	if err := cli.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	scs, ccs := srv.ConnectionState(), cli.ConnectionState()
	if scs.Version != version || ccs.Version != version {
		t.Fatalf("negotiated %x/%x", scs.Version, ccs.Version)
	}
	return sasl.TLSChannelBinding(&scs, leaf), sasl.TLSChannelBinding(&ccs, ccs.PeerCertificates[0])
}

// onlyType restricts a ChannelBinding to one type.
type onlyType struct {
	sasl.ChannelBinding
	t string
}

func (o onlyType) Types() []string { return []string{o.t} }

func TestTLSChannelBinding(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecCert, ecLeaf := selfSigned(t, ecKey, x509.ECDSAWithSHA384)
	edCert, edLeaf := selfSigned(t, edKey, x509.PureEd25519)

	tests := []struct {
		name    string
		cert    tls.Certificate
		leaf    *x509.Certificate
		version uint16
		types   []string
	}{
		{"TLS1.3 ECDSA", ecCert, ecLeaf, tls.VersionTLS13, []string{sasl.CBTLSExporter, sasl.CBTLSServerEndPoint}},
		{"TLS1.2 ECDSA", ecCert, ecLeaf, tls.VersionTLS12, []string{sasl.CBTLSServerEndPoint}},
		{"TLS1.3 Ed25519", edCert, edLeaf, tls.VersionTLS13, []string{sasl.CBTLSExporter}},
		{"TLS1.2 Ed25519", edCert, edLeaf, tls.VersionTLS12, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scb, ccb := handshake(t, tt.cert, tt.leaf, tt.version)
			if tt.types == nil {
				if scb != nil || ccb != nil {
					t.Fatalf("expected nil bindings, got %v / %v", scb, ccb)
				}
				return
			}
			if !slices.Equal(scb.Types(), tt.types) || !slices.Equal(ccb.Types(), tt.types) {
				t.Fatalf("types server %v client %v, want %v", scb.Types(), ccb.Types(), tt.types)
			}
			for _, typ := range tt.types {
				sd, err := scb.Data(typ)
				if err != nil {
					t.Fatal(err)
				}
				cd, err := ccb.Data(typ)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(sd, cd) || len(sd) == 0 {
					t.Fatalf("%s: server %x client %x", typ, sd, cd)
				}
				wantLen := 32
				if typ == sasl.CBTLSServerEndPoint {
					wantLen = 48 // ECDSA with SHA-384
				}
				if len(sd) != wantLen {
					t.Errorf("%s: length %d", typ, len(sd))
				}
				// Full SCRAM-PLUS exchange with this binding type.
				c, err := sasl.NewClient("SCRAM-SHA-256-PLUS", "juliet", "r0m30myr0m30", "", onlyType{ccb, typ})
				if err != nil {
					t.Fatal(err)
				}
				s, err := sasl.NewServer("SCRAM-SHA-256-PLUS", sasl.ServerConfig{Lookup: testDB.lookup, CB: scb, PlusAdvertised: true})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := run(t, c, s); err != nil {
					t.Fatalf("%s: %v", typ, err)
				}
			}
			if _, err := scb.Data("tls-unique"); err == nil {
				t.Error("tls-unique available")
			}
		})
	}

	// Bindings of two different connections differ.
	a, _ := handshake(t, ecCert, ecLeaf, tls.VersionTLS13)
	b, _ := handshake(t, ecCert, ecLeaf, tls.VersionTLS13)
	da, _ := a.Data(sasl.CBTLSExporter)
	db, _ := b.Data(sasl.CBTLSExporter)
	if bytes.Equal(da, db) {
		t.Error("tls-exporter equal across connections")
	}
	// Server binding must not be accepted by a client on another connection.
	_, cb := handshake(t, ecCert, ecLeaf, tls.VersionTLS13)
	c, _ := sasl.NewClient("SCRAM-SHA-1-PLUS", "juliet", "r0m30myr0m30", "", cb)
	s, _ := sasl.NewServer("SCRAM-SHA-1-PLUS", sasl.ServerConfig{Lookup: testDB.lookup, CB: a, PlusAdvertised: true})
	if _, err := run(t, c, s); condition(err) != "not-authorized" {
		t.Errorf("cross-connection binding: %v", err)
	}

	if sasl.TLSChannelBinding(nil, ecLeaf) != nil {
		t.Error("binding for nil ConnectionState")
	}
}

func TestServerEndPointHash(t *testing.T) {
	der := []byte("not really DER")
	sum := func(h crypto.Hash) []byte { d := h.New(); d.Write(der); return d.Sum(nil) }
	tests := []struct {
		alg  x509.SignatureAlgorithm
		want []byte
	}{
		{x509.MD5WithRSA, sum(crypto.SHA256)},
		{x509.SHA1WithRSA, sum(crypto.SHA256)},
		{x509.ECDSAWithSHA1, sum(crypto.SHA256)},
		{x509.SHA256WithRSA, sum(crypto.SHA256)},
		{x509.SHA256WithRSAPSS, sum(crypto.SHA256)},
		{x509.ECDSAWithSHA256, sum(crypto.SHA256)},
		{x509.SHA384WithRSA, sum(crypto.SHA384)},
		{x509.ECDSAWithSHA384, sum(crypto.SHA384)},
		{x509.SHA512WithRSA, sum(crypto.SHA512)},
		{x509.SHA512WithRSAPSS, sum(crypto.SHA512)},
		{x509.ECDSAWithSHA512, sum(crypto.SHA512)},
		{x509.PureEd25519, nil},
		{x509.UnknownSignatureAlgorithm, nil},
	}
	for _, tt := range tests {
		// A hand-built TLS 1.3 state has no exporter: only end-point, if any.
		cs := &tls.ConnectionState{Version: tls.VersionTLS13}
		cb := sasl.TLSChannelBinding(cs, &x509.Certificate{Raw: der, SignatureAlgorithm: tt.alg})
		if tt.want == nil {
			if cb != nil {
				t.Errorf("%v: got binding %v", tt.alg, cb.Types())
			}
			continue
		}
		if cb == nil || !slices.Equal(cb.Types(), []string{sasl.CBTLSServerEndPoint}) {
			t.Errorf("%v: binding %v", tt.alg, cb)
			continue
		}
		got, err := cb.Data(sasl.CBTLSServerEndPoint)
		if err != nil || !bytes.Equal(got, tt.want) {
			t.Errorf("%v: got %x, %v", tt.alg, got, err)
		}
	}
}
