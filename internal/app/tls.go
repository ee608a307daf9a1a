package app

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// loadCertificate loads the configured certificate, or the self-signed one
// kept in dataDir, generating it on first start. A generated certificate
// is regenerated when the hosts change or it nears expiry.
func loadCertificate(log *slog.Logger, certFile, keyFile, dataDir string, hosts []string) (tls.Certificate, error) {
	if certFile != "" {
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("tls: load %s and %s: %w", certFile, keyFile, err)
		}
		log.Info("tls certificate", "cert", certFile)
		return c, nil
	}
	dir := filepath.Join(dataDir, "tls")
	certFile = filepath.Join(dir, "selfsigned.crt")
	keyFile = filepath.Join(dir, "selfsigned.key")
	if c, err := tls.LoadX509KeyPair(certFile, keyFile); err == nil {
		if c.Leaf != nil && time.Until(c.Leaf.NotAfter) > 30*24*time.Hour && coversAll(c.Leaf, hosts) {
			log.Info("tls certificate (self-signed)", "cert", certFile, "expires", c.Leaf.NotAfter.Format(time.DateOnly))
			return c, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return tls.Certificate{}, fmt.Errorf("tls: load generated certificate in %s: %w (delete the files to generate new ones)", dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, fmt.Errorf("tls: %w", err)
	}
	certPEM, keyPEM, err := selfSigned(hosts)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, fmt.Errorf("tls: write key: %w", err)
	}
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		return tls.Certificate{}, fmt.Errorf("tls: write certificate: %w", err)
	}
	log.Info("generated a self-signed tls certificate; clients must be told to trust it", "cert", certFile, "hosts", strings.Join(hosts, ","))
	return tls.X509KeyPair(certPEM, keyPEM)
}

func coversAll(c *x509.Certificate, hosts []string) bool {
	for _, h := range hosts {
		if !slices.Contains(c.DNSNames, h) {
			return false
		}
	}
	return true
}

func selfSigned(hosts []string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, nil, fmt.Errorf("tls: serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hosts[0], Organization: []string{"Parley self-signed"}},
		DNSNames:              hosts,
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(5, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: create certificate: %w", err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: marshal key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), nil
}
