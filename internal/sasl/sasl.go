// Package sasl implements the SASL mechanisms Parley offers and uses for
// RFC 6120 §6 stream authentication: SCRAM-SHA-1, SCRAM-SHA-256 and
// SCRAM-SHA-512 (RFC 5802, RFC 7677), their -PLUS variants with channel
// binding (RFC 5929 tls-server-end-point, RFC 9266 tls-exporter), and PLAIN
// (RFC 4616).
//
// The package is pure: it does no network I/O, no base64 framing of XMPP
// elements and no storage. Messages passed to and returned from Step are the
// raw (base64-decoded) SASL payloads. An empty out slice is an empty
// challenge/response, which XMPP encodes as "=".
package sasl

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"strings"

	"golang.org/x/text/secure/precis"
)

// Hash names a SCRAM hash function.
type Hash string

// Supported SCRAM hash functions.
const (
	SHA1   Hash = "SHA-1"
	SHA256 Hash = "SHA-256"
	SHA512 Hash = "SHA-512"
)

// Hashes lists all supported hashes, weakest first.
var Hashes = []Hash{SHA1, SHA256, SHA512}

func (h Hash) newFunc() func() hash.Hash {
	switch h {
	case SHA1:
		return sha1.New
	case SHA256:
		return sha256.New
	case SHA512:
		return sha512.New
	}
	return nil
}

func (h Hash) size() int {
	switch h {
	case SHA1:
		return sha1.Size
	case SHA256:
		return sha256.Size
	case SHA512:
		return sha512.Size
	}
	return 0
}

// DefaultIterations is the PBKDF2 iteration count used for new credentials
// (the minimum recommended by RFC 7677).
const DefaultIterations = 4096

// Credentials is what a server stores for one user and one hash: never the
// password.
type Credentials struct {
	Salt       []byte
	Iterations int
	StoredKey  []byte
	ServerKey  []byte
}

// valid reports whether c is usable with hash h.
func (c Credentials) valid(h Hash) bool {
	return len(c.Salt) > 0 && c.Iterations >= 1 &&
		len(c.StoredKey) == h.size() && len(c.ServerKey) == h.size()
}

// Check reports what makes c unusable for hash h, for credentials that
// come from outside the server (an import): an unknown hash, an empty
// salt, no iterations, or keys that are not of the hash's size.
func (c Credentials) Check(h Hash) error {
	switch {
	case h.size() == 0:
		return fmt.Errorf("sasl: unsupported hash %q", string(h))
	case len(c.Salt) == 0:
		return fmt.Errorf("sasl: SCRAM-%s: empty salt", h)
	case c.Iterations < 1:
		return fmt.Errorf("sasl: SCRAM-%s: iteration count %d", h, c.Iterations)
	case len(c.StoredKey) != h.size() || len(c.ServerKey) != h.size():
		return fmt.Errorf("sasl: SCRAM-%s: want keys of %d bytes, got %d and %d", h, h.size(), len(c.StoredKey), len(c.ServerKey))
	}
	return nil
}

// NewSalt returns 16 random bytes.
func NewSalt() []byte {
	b := make([]byte, 16)
	rand.Read(b) // never fails
	return b
}

// preparePassword applies the PRECIS OpaqueString profile (RFC 8265 §4.2),
// the successor of SASLprep for passwords.
func preparePassword(password string) (string, error) {
	p, err := precis.OpaqueString.String(password)
	if err != nil {
		return "", fmt.Errorf("sasl: invalid password: %w", err)
	}
	return p, nil
}

// prepareUsername applies the PRECIS UsernameCaseMapped profile (RFC 8265
// §3.3), the same preparation as a JID localpart.
func prepareUsername(username string) (string, error) {
	if username == "" {
		return "", errors.New("sasl: empty username")
	}
	u, err := precis.UsernameCaseMapped.String(username)
	if err != nil {
		return "", fmt.Errorf("sasl: invalid username: %w", err)
	}
	return u, nil
}

// DeriveCredentials prepares the password with PRECIS OpaqueString (RFC 8265)
// and derives the SCRAM StoredKey and ServerKey. It fails if the password is
// invalid under OpaqueString (for example empty or containing control
// characters), if the salt is empty or if iterations < 1.
func DeriveCredentials(h Hash, password string, salt []byte, iterations int) (Credentials, error) {
	p, err := preparePassword(password)
	if err != nil {
		return Credentials{}, err
	}
	return deriveCredentials(h, p, salt, iterations)
}

// deriveCredentials derives credentials from an already prepared password.
func deriveCredentials(h Hash, prepared string, salt []byte, iterations int) (Credentials, error) {
	if h.newFunc() == nil {
		return Credentials{}, fmt.Errorf("sasl: unsupported hash %q", string(h))
	}
	if len(salt) == 0 {
		return Credentials{}, errors.New("sasl: empty salt")
	}
	if iterations < 1 {
		return Credentials{}, fmt.Errorf("sasl: invalid iteration count %d", iterations)
	}
	salted, err := pbkdf2Key(h, prepared, salt, iterations)
	if err != nil {
		return Credentials{}, err
	}
	defer clear(salted)
	clientKey := hmacSum(h, salted, "Client Key")
	defer clear(clientKey)
	return Credentials{
		Salt:       append([]byte(nil), salt...),
		Iterations: iterations,
		StoredKey:  hashSum(h, clientKey),
		ServerKey:  hmacSum(h, salted, "Server Key"),
	}, nil
}

// pbkdf2Key computes SaltedPassword := Hi(password, salt, i).
func pbkdf2Key(h Hash, prepared string, salt []byte, iterations int) ([]byte, error) {
	k, err := pbkdf2.Key(h.newFunc(), prepared, salt, iterations, h.size())
	if err != nil {
		return nil, fmt.Errorf("sasl: %w", err)
	}
	return k, nil
}

func hmacSum(h Hash, key []byte, msg string) []byte {
	m := hmac.New(h.newFunc(), key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func hashSum(h Hash, b []byte) []byte {
	d := h.newFunc()()
	d.Write(b)
	return d.Sum(nil)
}

// Mechanism names.
const (
	mechPlain  = "PLAIN"
	plusSuffix = "-PLUS"
)

var scramMechs = []struct {
	name string
	hash Hash
}{
	{"SCRAM-SHA-512", SHA512},
	{"SCRAM-SHA-256", SHA256},
	{"SCRAM-SHA-1", SHA1},
}

// parseSCRAM returns the hash and whether the mechanism is a -PLUS variant.
func parseSCRAM(mechanism string) (h Hash, plus, ok bool) {
	for _, m := range scramMechs {
		switch mechanism {
		case m.name:
			return m.hash, false, true
		case m.name + plusSuffix:
			return m.hash, true, true
		}
	}
	return "", false, false
}

// ServerMechanisms returns the mechanism names a server offers, strongest
// first. -PLUS variants are offered only when tls and plusAvailable (the
// connection's ChannelBinding has at least one type); PLAIN only when
// plainAllowed (whether PLAIN is acceptable without TLS is the caller's
// policy).
func ServerMechanisms(tls, plusAvailable bool, plainAllowed bool) []string {
	var out []string
	if tls && plusAvailable {
		for _, m := range scramMechs {
			out = append(out, m.name+plusSuffix)
		}
	}
	for _, m := range scramMechs {
		out = append(out, m.name)
	}
	if plainAllowed {
		out = append(out, mechPlain)
	}
	return out
}

// Lookup returns the stored credentials of a user for one hash. It returns
// an error wrapping ErrUnknownUser if there is no such user (or no
// credentials for that hash). The username is already prepared with PRECIS
// UsernameCaseMapped (same as a JID localpart). If the error is (or wraps) a
// *Failure, for example account-disabled, that failure is returned to the
// client as is; any other error becomes temporary-auth-failure.
type Lookup func(ctx context.Context, username string, h Hash) (Credentials, error)

// ErrUnknownUser is wrapped by Lookup errors for users that do not exist.
var ErrUnknownUser = errors.New("sasl: unknown user")

// Failure conditions (RFC 6120 §6.5).
const (
	condInvalidMechanism = "invalid-mechanism"
	condMalformed        = "malformed-request"
	condNotAuthorized    = "not-authorized"
	condTemporary        = "temporary-auth-failure"
)

// Failure is a SASL failure with its RFC 6120 §6.5 condition: aborted,
// account-disabled, credentials-expired, encryption-required,
// incorrect-encoding, invalid-authzid, invalid-mechanism, malformed-request,
// mechanism-too-weak, not-authorized, temporary-auth-failure. Text is safe to
// send to the client; the underlying cause, if any, is available through
// errors.Unwrap for logging.
type Failure struct {
	Condition string
	Text      string
	// Credentials is set when the failure came from checking what the
	// client claimed to know (a wrong password or proof, an unknown or
	// invalid username, a channel binding that does not match). Only
	// these count against login-failure limits; a client that merely
	// tries a mechanism or channel-binding type it cannot complete, and
	// falls back to another, is not guessing passwords.
	Credentials bool
	err         error
}

func (f *Failure) Error() string {
	s := "sasl: " + f.Condition
	if f.Text != "" {
		s += ": " + f.Text
	}
	if f.err != nil {
		s += ": " + f.err.Error()
	}
	return s
}

// Unwrap returns the underlying cause, e.g. a storage error.
func (f *Failure) Unwrap() error { return f.err }

func fail(cond, text string) *Failure { return &Failure{Condition: cond, Text: text} }

// denied is a failure of the client's credentials (see Failure.Credentials).
func denied(text string) *Failure {
	return &Failure{Condition: condNotAuthorized, Text: text, Credentials: true}
}

// ServerConfig configures a server-side mechanism.
type ServerConfig struct {
	Lookup Lookup
	// CB is the connection's channel binding; nil if the stream is not TLS.
	CB ChannelBinding
	// PlusAdvertised is whether the server offered -PLUS variants (for the
	// SCRAM "y" downgrade check).
	PlusAdvertised bool
}

// Server is the server side of one authentication exchange. It is not safe
// for concurrent use.
type Server interface {
	// Step consumes the client's message (already base64-decoded; nil for
	// an empty/absent initial response) and returns the server's next
	// message (to be base64-encoded as challenge or as success additional
	// data), done=true when authentication succeeded (then out is the
	// additional data for <success/>, e.g. SCRAM's v=... server-final; nil
	// for PLAIN). On failure it returns a *Failure; the exchange is then
	// over and further calls fail.
	Step(ctx context.Context, in []byte) (out []byte, done bool, err error)
	// Username returns the authenticated, prepared username after success.
	Username() string
	// Authzid returns the authorization identity requested ("" if none).
	// The caller checks it equals the user's bare JID or is empty, and
	// otherwise fails with invalid-authzid.
	Authzid() string
}

// NewServer returns the server side of mechanism. Unknown names, and -PLUS
// names when cfg.CB is nil or offers no binding type, give a *Failure with
// condition invalid-mechanism.
func NewServer(mechanism string, cfg ServerConfig) (Server, error) {
	return newServer(mechanism, cfg, randomNonce)
}

func newServer(mechanism string, cfg ServerConfig, nonce func() string) (Server, error) {
	if cfg.Lookup == nil {
		return nil, errors.New("sasl: ServerConfig.Lookup is nil")
	}
	if mechanism == mechPlain {
		return &plainServer{cfg: cfg}, nil
	}
	h, plus, ok := parseSCRAM(mechanism)
	if !ok {
		return nil, fail(condInvalidMechanism, "")
	}
	if plus && (cfg.CB == nil || len(cfg.CB.Types()) == 0) {
		return nil, fail(condInvalidMechanism, "channel binding not available")
	}
	return &scramServer{h: h, plus: plus, cfg: cfg, nonce: nonce}, nil
}

// Client is the client side of one authentication exchange. The first call
// to Step with nil produces the initial response. Pass each challenge to
// Step and send out as the response; on <success/>, pass its additional
// data to Step: done=true means the server was verified (SCRAM server
// signature); an error means it was not. If a server delivers the SCRAM
// server-final message in a challenge instead, Step returns done=true and an
// empty response to send; the following <success/> then needs no Step.
type Client interface {
	Step(in []byte) (out []byte, done bool, err error)
}

// NewClient returns the client side of mechanism. For -PLUS mechanisms cb
// must be non-nil with at least one type; the first of cb.Types() is used
// (TLSChannelBinding lists tls-exporter first). For non-PLUS SCRAM, a
// non-nil cb makes the client send the "y" flag (it supports channel binding
// but believes the server does not), which a server that advertised -PLUS
// rejects; pass nil to send "n".
func NewClient(mechanism, username, password, authzid string, cb ChannelBinding) (Client, error) {
	return newClient(mechanism, username, password, authzid, cb, randomNonce)
}

func newClient(mechanism, username, password, authzid string, cb ChannelBinding, nonce func() string) (Client, error) {
	p, err := preparePassword(password)
	if err != nil {
		return nil, err
	}
	if username == "" {
		return nil, errors.New("sasl: empty username")
	}
	if mechanism == mechPlain {
		if strings.IndexByte(username, 0) >= 0 || strings.IndexByte(authzid, 0) >= 0 {
			return nil, errors.New("sasl: NUL in username or authzid")
		}
		return &plainClient{msg: []byte(authzid + "\x00" + username + "\x00" + p)}, nil
	}
	h, plus, ok := parseSCRAM(mechanism)
	if !ok {
		return nil, fmt.Errorf("sasl: unsupported mechanism %q", mechanism)
	}
	return newSCRAMClient(h, plus, username, p, authzid, cb, nonce)
}
