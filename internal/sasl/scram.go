package sasl

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// randomNonce returns 24 random bytes in base64 (printable, no ',').
func randomNonce() string {
	b := make([]byte, 24)
	rand.Read(b) // never fails
	return base64.StdEncoding.EncodeToString(b)
}

// validNonce reports whether s is a non-empty run of printable ASCII
// without ',' (RFC 5802 §7 "printable").
func validNonce(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == ',' {
			return false
		}
	}
	return true
}

// encodeSASLName escapes ',' and '=' (RFC 5802 §5.1).
func encodeSASLName(s string) string {
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(s)
}

// decodeSASLName reverses encodeSASLName; any other '=' sequence, an empty
// result or a NUL is an error.
func decodeSASLName(s string) (string, error) {
	if s == "" {
		return "", errors.New("empty saslname")
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '=':
			switch {
			case strings.HasPrefix(s[i:], "=2C"):
				b.WriteByte(',')
			case strings.HasPrefix(s[i:], "=3D"):
				b.WriteByte('=')
			default:
				return "", errors.New("invalid '=' escape in saslname")
			}
			i += 2
		case 0, ',':
			return "", errors.New("invalid character in saslname")
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// validAttrVal reports whether s is a syntactically valid attr-val
// (ALPHA "=" value); unknown extensions are ignored (RFC 5802 §7).
func validAttrVal(s string) bool {
	if len(s) < 2 || s[1] != '=' {
		return false
	}
	c := s[0]
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// gs2 channel binding flags.
const (
	gs2None     = 'n' // client does not support channel binding
	gs2NotOffer = 'y' // client supports it, thinks server does not
)

// validCBName reports whether s matches cb-name = 1*(ALPHA / DIGIT / "." / "-").
func validCBName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// fakeKey keys the deterministic fake salts of unknown users.
var fakeKey = sync.OnceValue(func() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
})

// fakeCredentials returns plausible, deterministic per-process credentials
// for a user that does not exist, so that server-first does not reveal it.
func fakeCredentials(h Hash, username string) Credentials {
	m := hmac.New(sha256.New, fakeKey())
	m.Write([]byte(h))
	m.Write([]byte{0})
	m.Write([]byte(username))
	sum := m.Sum(nil)
	keys := hashSum(h, sum) // never matches any proof we accept: we fail anyway
	return Credentials{
		Salt:       sum[:16],
		Iterations: DefaultIterations,
		StoredKey:  keys,
		ServerKey:  keys,
	}
}

type scramServerState int

const (
	ssStart      scramServerState = iota
	ssAwaitFirst                  // sent an empty challenge, waiting for client-first
	ssAwaitFinal
	ssDone
	ssFailed
)

type scramServer struct {
	h     Hash
	plus  bool
	cfg   ServerConfig
	nonce func() string

	state scramServerState

	gs2Header       string // including trailing ','
	cbType          string // for p=
	authzid         string
	username        string // prepared
	clientFirstBare string
	serverFirst     string
	fullNonce       string
	creds           Credentials
	unknown         bool
	authenticated   string
}

func (s *scramServer) Username() string { return s.authenticated }
func (s *scramServer) Authzid() string  { return s.authzid }

func (s *scramServer) Step(ctx context.Context, in []byte) (out []byte, done bool, err error) {
	switch s.state {
	case ssStart:
		if len(in) == 0 {
			// No initial response: ask for it with an empty challenge.
			s.state = ssAwaitFirst
			return []byte{}, false, nil
		}
		out, err = s.first(ctx, in)
	case ssAwaitFirst:
		out, err = s.first(ctx, in)
	case ssAwaitFinal:
		out, err = s.final(in)
		if err == nil {
			s.state = ssDone
			return out, true, nil
		}
	case ssDone:
		err = fail(condMalformed, "authentication already complete")
	default:
		err = fail(condMalformed, "authentication already failed")
	}
	if err != nil {
		s.state = ssFailed
		s.creds = Credentials{}
		return nil, false, err
	}
	s.state = ssAwaitFinal
	return out, false, nil
}

// checkMessage rejects invalid UTF-8 and NUL anywhere in a SCRAM message.
func checkMessage(in []byte) *Failure {
	if len(in) == 0 {
		return fail(condMalformed, "empty message")
	}
	if !utf8.Valid(in) || strings.IndexByte(string(in), 0) >= 0 {
		return fail(condMalformed, "message is not valid UTF-8")
	}
	return nil
}

// first handles client-first-message and returns server-first-message.
func (s *scramServer) first(ctx context.Context, in []byte) ([]byte, error) {
	if f := checkMessage(in); f != nil {
		return nil, f
	}
	msg := string(in)

	// gs2-header = gs2-cbind-flag "," [ authzid ] ","
	flag, rest, ok := strings.Cut(msg, ",")
	if !ok {
		return nil, fail(condMalformed, "missing GS2 header")
	}
	az, bare, ok := strings.Cut(rest, ",")
	if !ok {
		return nil, fail(condMalformed, "missing GS2 header")
	}
	s.gs2Header = msg[:len(flag)+1+len(az)+1]

	switch {
	case flag == string(gs2None):
		if s.plus {
			return nil, fail(condMalformed, "channel binding required by mechanism")
		}
	case flag == string(gs2NotOffer):
		if s.plus {
			return nil, fail(condMalformed, "channel binding required by mechanism")
		}
		if s.cfg.PlusAdvertised {
			return nil, fail(condNotAuthorized, "channel binding downgrade")
		}
	case strings.HasPrefix(flag, "p="):
		name := flag[2:]
		if !validCBName(name) {
			return nil, fail(condMalformed, "invalid channel binding name")
		}
		if !s.plus {
			return nil, fail(condMalformed, "channel binding not allowed with this mechanism")
		}
		s.cbType = name
	default:
		return nil, fail(condMalformed, "invalid GS2 channel binding flag")
	}

	if az != "" {
		if !strings.HasPrefix(az, "a=") {
			return nil, fail(condMalformed, "invalid GS2 authzid")
		}
		a, err := decodeSASLName(az[2:])
		if err != nil {
			return nil, fail(condMalformed, "invalid authzid: "+err.Error())
		}
		s.authzid = a
	}

	// client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
	attrs := strings.Split(bare, ",")
	if strings.HasPrefix(attrs[0], "m=") {
		return nil, fail(condMalformed, "mandatory extensions not supported")
	}
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "n=") || !strings.HasPrefix(attrs[1], "r=") {
		return nil, fail(condMalformed, "invalid client-first-message")
	}
	for _, a := range attrs[2:] {
		if !validAttrVal(a) {
			return nil, fail(condMalformed, "invalid extension")
		}
	}
	user, err := decodeSASLName(attrs[0][2:])
	if err != nil {
		return nil, fail(condMalformed, "invalid username: "+err.Error())
	}
	cnonce := attrs[1][2:]
	if !validNonce(cnonce) {
		return nil, fail(condMalformed, "invalid nonce")
	}

	// Channel binding type must be one we have.
	if s.cbType != "" {
		found := false
		for _, t := range s.cfg.CB.Types() {
			if t == s.cbType {
				found = true
			}
		}
		if !found {
			return nil, fail(condNotAuthorized, "unsupported channel binding type")
		}
	}

	prepped, err := prepareUsername(user)
	if err != nil {
		return nil, denied("invalid username")
	}
	s.username = prepped

	creds, err := s.cfg.Lookup(ctx, prepped, s.h)
	switch {
	case err == nil:
		if !creds.valid(s.h) {
			return nil, &Failure{Condition: condTemporary, err: errors.New("sasl: invalid stored credentials")}
		}
	case errors.Is(err, ErrUnknownUser):
		creds = fakeCredentials(s.h, prepped)
		s.unknown = true
	default:
		return nil, lookupFailure(err)
	}
	s.creds = creds

	s.clientFirstBare = bare
	s.fullNonce = cnonce + s.nonce()
	s.serverFirst = "r=" + s.fullNonce +
		",s=" + base64.StdEncoding.EncodeToString(creds.Salt) +
		",i=" + strconv.Itoa(creds.Iterations)
	return []byte(s.serverFirst), nil
}

// lookupFailure turns a Lookup error into a *Failure.
func lookupFailure(err error) *Failure {
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	return &Failure{Condition: condTemporary, err: err}
}

// final handles client-final-message and returns server-final-message.
func (s *scramServer) final(in []byte) ([]byte, error) {
	if f := checkMessage(in); f != nil {
		return nil, f
	}
	msg := string(in)
	// client-final-message = channel-binding "," nonce ["," extensions] "," proof
	attrs := strings.Split(msg, ",")
	n := len(attrs)
	if n < 3 || !strings.HasPrefix(attrs[0], "c=") || !strings.HasPrefix(attrs[1], "r=") ||
		!strings.HasPrefix(attrs[n-1], "p=") {
		return nil, fail(condMalformed, "invalid client-final-message")
	}
	for _, a := range attrs[2 : n-1] {
		if !validAttrVal(a) {
			return nil, fail(condMalformed, "invalid extension")
		}
	}
	cbind, err := base64.StdEncoding.Strict().DecodeString(attrs[0][2:])
	if err != nil {
		return nil, fail(condMalformed, "invalid channel binding encoding")
	}
	proof, err := base64.StdEncoding.Strict().DecodeString(attrs[n-1][2:])
	if err != nil {
		return nil, fail(condMalformed, "invalid proof encoding")
	}
	if len(proof) != s.h.size() {
		return nil, fail(condMalformed, "invalid proof length")
	}

	want := []byte(s.gs2Header)
	if s.cbType != "" {
		d, err := s.cfg.CB.Data(s.cbType)
		if err != nil {
			return nil, &Failure{Condition: condTemporary, err: err}
		}
		want = append(want, d...)
	}
	if !hmac.Equal(cbind, want) {
		return nil, denied("channel binding mismatch")
	}
	if attrs[1][2:] != s.fullNonce {
		return nil, fail(condNotAuthorized, "nonce mismatch")
	}

	withoutProof := msg[:len(msg)-len(attrs[n-1])-1]
	authMessage := s.clientFirstBare + "," + s.serverFirst + "," + withoutProof

	clientSig := hmacSum(s.h, s.creds.StoredKey, authMessage)
	clientKey := make([]byte, len(proof))
	for i := range proof {
		clientKey[i] = proof[i] ^ clientSig[i]
	}
	ok := hmac.Equal(hashSum(s.h, clientKey), s.creds.StoredKey)
	clear(clientKey)
	if !ok || s.unknown {
		return nil, denied("")
	}
	s.authenticated = s.username
	serverSig := hmacSum(s.h, s.creds.ServerKey, authMessage)
	s.creds = Credentials{}
	return []byte("v=" + base64.StdEncoding.EncodeToString(serverSig)), nil
}

type scramClientState int

const (
	csStart scramClientState = iota
	csSentFirst
	csSentFinal
	csDone
	csFailed
)

type scramClient struct {
	h        Hash
	password string // prepared; dropped after use
	nonce    string
	gs2      string
	cbData   []byte

	state       scramClientState
	clientFirst string // bare
	serverSig   []byte
}

func newSCRAMClient(h Hash, plus bool, username, password, authzid string, cb ChannelBinding, nonce func() string) (*scramClient, error) {
	if !utf8.ValidString(username) || strings.IndexByte(username, 0) >= 0 {
		return nil, errors.New("sasl: invalid username")
	}
	if !utf8.ValidString(authzid) || strings.IndexByte(authzid, 0) >= 0 {
		return nil, errors.New("sasl: invalid authzid")
	}
	c := &scramClient{h: h, password: password, nonce: nonce()}
	if !validNonce(c.nonce) {
		return nil, errors.New("sasl: invalid client nonce")
	}
	var flag string
	switch {
	case plus:
		if cb == nil || len(cb.Types()) == 0 {
			return nil, errors.New("sasl: -PLUS mechanism requires channel binding")
		}
		t := cb.Types()[0]
		if !validCBName(t) {
			return nil, fmt.Errorf("sasl: invalid channel binding type %q", t)
		}
		d, err := cb.Data(t)
		if err != nil {
			return nil, err
		}
		flag = "p=" + t
		c.cbData = d
	case cb != nil:
		flag = string(gs2NotOffer)
	default:
		flag = string(gs2None)
	}
	c.gs2 = flag + ","
	if authzid != "" {
		c.gs2 += "a=" + encodeSASLName(authzid)
	}
	c.gs2 += ","
	c.clientFirst = "n=" + encodeSASLName(username) + ",r=" + c.nonce
	return c, nil
}

func (c *scramClient) Step(in []byte) (out []byte, done bool, err error) {
	switch c.state {
	case csStart:
		if len(in) != 0 {
			err = errors.New("sasl: unexpected data before initial response")
			break
		}
		c.state = csSentFirst
		return []byte(c.gs2 + c.clientFirst), false, nil
	case csSentFirst:
		out, err = c.final(in)
		if err == nil {
			c.state = csSentFinal
			return out, false, nil
		}
	case csSentFinal:
		err = c.verify(in)
		if err == nil {
			c.state = csDone
			return nil, true, nil
		}
	case csDone:
		err = errors.New("sasl: authentication already complete")
	default:
		err = errors.New("sasl: authentication already failed")
	}
	c.state = csFailed
	c.password = ""
	return nil, false, err
}

// final handles server-first-message and returns client-final-message.
func (c *scramClient) final(in []byte) ([]byte, error) {
	if !utf8.Valid(in) {
		return nil, errors.New("sasl: server-first-message is not valid UTF-8")
	}
	msg := string(in)
	attrs := strings.Split(msg, ",")
	if strings.HasPrefix(attrs[0], "m=") {
		return nil, errors.New("sasl: server requires unsupported extension")
	}
	if len(attrs) < 3 || !strings.HasPrefix(attrs[0], "r=") || !strings.HasPrefix(attrs[1], "s=") ||
		!strings.HasPrefix(attrs[2], "i=") {
		return nil, errors.New("sasl: invalid server-first-message")
	}
	nonce := attrs[0][2:]
	if !validNonce(nonce) || len(nonce) <= len(c.nonce) || !strings.HasPrefix(nonce, c.nonce) {
		return nil, errors.New("sasl: invalid server nonce")
	}
	salt, err := base64.StdEncoding.DecodeString(attrs[1][2:])
	if err != nil || len(salt) == 0 {
		return nil, errors.New("sasl: invalid salt")
	}
	is := attrs[2][2:]
	iter, err := strconv.Atoi(is)
	if err != nil || iter < 1 || is[0] < '0' || is[0] > '9' {
		return nil, errors.New("sasl: invalid iteration count")
	}

	salted, err := pbkdf2Key(c.h, c.password, salt, iter)
	c.password = ""
	if err != nil {
		return nil, err
	}
	defer clear(salted)
	clientKey := hmacSum(c.h, salted, "Client Key")
	defer clear(clientKey)
	storedKey := hashSum(c.h, clientKey)
	serverKey := hmacSum(c.h, salted, "Server Key")

	cbind := base64.StdEncoding.EncodeToString(append([]byte(c.gs2), c.cbData...))
	withoutProof := "c=" + cbind + ",r=" + nonce
	authMessage := c.clientFirst + "," + msg + "," + withoutProof
	clientSig := hmacSum(c.h, storedKey, authMessage)
	proof := make([]byte, len(clientKey))
	for i := range proof {
		proof[i] = clientKey[i] ^ clientSig[i]
	}
	c.serverSig = hmacSum(c.h, serverKey, authMessage)
	return []byte(withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof)), nil
}

// verify checks server-final-message.
func (c *scramClient) verify(in []byte) error {
	msg := string(in)
	if e, ok := strings.CutPrefix(msg, "e="); ok {
		if i := strings.IndexByte(e, ','); i >= 0 {
			e = e[:i]
		}
		return fmt.Errorf("sasl: server error: %q", e)
	}
	v, ok := strings.CutPrefix(msg, "v=")
	if !ok {
		return errors.New("sasl: missing server signature")
	}
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	sig, err := base64.StdEncoding.DecodeString(v)
	if err != nil || !hmac.Equal(sig, c.serverSig) {
		return errors.New("sasl: server signature mismatch")
	}
	return nil
}
