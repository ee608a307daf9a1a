package sasl

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
)

// Channel binding type names.
const (
	CBTLSExporter       = "tls-exporter"
	CBTLSServerEndPoint = "tls-server-end-point"
)

// ChannelBinding gives a connection's channel binding data by type name
// ("tls-exporter", "tls-server-end-point").
type ChannelBinding interface {
	// Types lists the available binding types, preferred first.
	Types() []string
	// Data returns the binding data for cbType.
	Data(cbType string) ([]byte, error)
}

type tlsBinding struct {
	types []string
	data  map[string][]byte
}

func (b *tlsBinding) Types() []string { return slices.Clone(b.types) }

func (b *tlsBinding) Data(cbType string) ([]byte, error) {
	d, ok := b.data[cbType]
	if !ok {
		return nil, fmt.Errorf("sasl: channel binding type %q not available", cbType)
	}
	return slices.Clone(d), nil
}

// TLSChannelBinding returns the channel binding of a completed TLS
// connection, or nil if cs is nil. tls-exporter (RFC 9266: label
// "EXPORTER-Channel-Binding", empty context, 32 bytes) is available only
// for TLS 1.3. tls-server-end-point (RFC 5929 §4.1) is the hash of the
// certificate's DER with the hash of its signature algorithm (MD5 and SHA-1
// upgraded to SHA-256); it is unavailable when serverCert is nil or its
// signature algorithm has no single hash (e.g. Ed25519). The server passes
// its own leaf certificate, the client cs.PeerCertificates[0]. Types lists
// tls-exporter first. The result is nil if no type is available.
func TLSChannelBinding(cs *tls.ConnectionState, serverCert *x509.Certificate) ChannelBinding {
	if cs == nil {
		return nil
	}
	b := &tlsBinding{data: map[string][]byte{}}
	if cs.Version == tls.VersionTLS13 {
		if d, err := exportKeyingMaterial(cs); err == nil {
			b.types = append(b.types, CBTLSExporter)
			b.data[CBTLSExporter] = d
		}
	}
	if serverCert != nil {
		if d, err := serverEndPoint(serverCert); err == nil {
			b.types = append(b.types, CBTLSServerEndPoint)
			b.data[CBTLSServerEndPoint] = d
		}
	}
	if len(b.types) == 0 {
		return nil
	}
	return b
}

func exportKeyingMaterial(cs *tls.ConnectionState) (d []byte, err error) {
	// A hand-built ConnectionState has no exporter and would panic.
	defer func() {
		if recover() != nil {
			d, err = nil, errors.New("sasl: no keying material exporter")
		}
	}()
	return cs.ExportKeyingMaterial("EXPORTER-Channel-Binding", nil, 32)
}

func serverEndPoint(cert *x509.Certificate) ([]byte, error) {
	var h crypto.Hash
	switch cert.SignatureAlgorithm {
	case x509.MD5WithRSA, x509.SHA1WithRSA, x509.ECDSAWithSHA1, x509.DSAWithSHA1,
		x509.SHA256WithRSA, x509.SHA256WithRSAPSS, x509.ECDSAWithSHA256, x509.DSAWithSHA256:
		h = crypto.SHA256
	case x509.SHA384WithRSA, x509.SHA384WithRSAPSS, x509.ECDSAWithSHA384:
		h = crypto.SHA384
	case x509.SHA512WithRSA, x509.SHA512WithRSAPSS, x509.ECDSAWithSHA512:
		h = crypto.SHA512
	default:
		return nil, fmt.Errorf("sasl: tls-server-end-point undefined for %v", cert.SignatureAlgorithm)
	}
	if len(cert.Raw) == 0 {
		return nil, errors.New("sasl: certificate has no DER")
	}
	d := h.New()
	d.Write(cert.Raw)
	return d.Sum(nil), nil
}
