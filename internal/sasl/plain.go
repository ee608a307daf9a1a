package sasl

import (
	"context"
	"crypto/hmac"
	"errors"
	"strings"
	"unicode/utf8"
)

// plainHashes is the order in which PLAIN looks up stored credentials.
var plainHashes = []Hash{SHA256, SHA1, SHA512}

type plainServer struct {
	cfg           ServerConfig
	state         int // 0 start, 1 awaiting message, 2 done/failed
	authzid       string
	authenticated string
}

func (s *plainServer) Username() string { return s.authenticated }
func (s *plainServer) Authzid() string  { return s.authzid }

func (s *plainServer) Step(ctx context.Context, in []byte) ([]byte, bool, error) {
	switch s.state {
	case 0:
		if len(in) == 0 {
			s.state = 1
			return []byte{}, false, nil
		}
	case 1:
	default:
		return nil, false, fail(condMalformed, "authentication already finished")
	}
	s.state = 2
	if err := s.verify(ctx, in); err != nil {
		return nil, false, err
	}
	return nil, true, nil
}

// verify checks message = [authzid] UTF8NUL authcid UTF8NUL passwd.
func (s *plainServer) verify(ctx context.Context, in []byte) error {
	if !utf8.Valid(in) {
		return fail(condMalformed, "message is not valid UTF-8")
	}
	parts := strings.Split(string(in), "\x00")
	if len(parts) != 3 || parts[1] == "" || parts[2] == "" {
		return fail(condMalformed, "invalid PLAIN message")
	}
	authzid, authcid, password := parts[0], parts[1], parts[2]
	s.authzid = authzid

	user, err := prepareUsername(authcid)
	if err != nil {
		return denied("invalid username")
	}
	prepped, err := preparePassword(password)
	if err != nil {
		return denied("")
	}

	for _, h := range plainHashes {
		creds, err := s.cfg.Lookup(ctx, user, h)
		if errors.Is(err, ErrUnknownUser) {
			continue
		}
		if err != nil {
			return lookupFailure(err)
		}
		if !creds.valid(h) {
			return &Failure{Condition: condTemporary, err: errors.New("sasl: invalid stored credentials")}
		}
		got, err := deriveCredentials(h, prepped, creds.Salt, creds.Iterations)
		if err != nil {
			return &Failure{Condition: condTemporary, err: err}
		}
		if !hmac.Equal(got.StoredKey, creds.StoredKey) {
			return denied("")
		}
		s.authenticated = user
		return nil
	}
	// Unknown user: spend the same effort as a real check.
	fake := fakeCredentials(SHA256, user)
	deriveCredentials(SHA256, prepped, fake.Salt, fake.Iterations)
	return denied("")
}

type plainClient struct {
	msg   []byte
	state int // 0 start, 1 sent, 2 done/failed
}

func (c *plainClient) Step(in []byte) ([]byte, bool, error) {
	switch c.state {
	case 0:
		if len(in) != 0 {
			c.state = 2
			return nil, false, errors.New("sasl: unexpected data before initial response")
		}
		c.state = 1
		out := c.msg
		c.msg = nil
		return out, false, nil
	case 1:
		c.state = 2
		if len(in) != 0 {
			return nil, false, errors.New("sasl: unexpected PLAIN success data")
		}
		return nil, true, nil
	}
	return nil, false, errors.New("sasl: authentication already finished")
}
