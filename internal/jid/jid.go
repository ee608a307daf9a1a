// Package jid implements XMPP addresses (JIDs) as specified in RFC 7622.
//
// A JID has the form [localpart "@"] domainpart ["/" resourcepart]. Parse and
// New prepare and enforce every part, so two JID values that denote the same
// address compare equal with ==:
//
//   - the localpart is enforced with the PRECIS UsernameCaseMapped profile
//     (RFC 8265) and may additionally not contain any of " & ' / : < > @
//     (RFC 7622 §3.3.1);
//   - the domainpart is mapped along the lines of RFC 5895 (width folding,
//     lower-casing, NFC, ideographic full stops to '.'), has one trailing dot
//     stripped, and must then be an IPv6 literal in brackets or a sequence of
//     non-empty labels made of Unicode letters, digits, combining marks and
//     inner hyphens (this covers host names, dotted IPv4 and U-labels);
//   - the resourcepart is enforced with the PRECIS OpaqueString profile and may
//     contain anything that profile allows, including '@' and '/'.
//
// Each part must be between 1 and 1023 bytes long after preparation.
//
// Preparing with PRECIS is comparatively expensive, so parts that consist of
// plain ASCII in the commonly used ranges take a fast path that yields exactly
// the result the full preparation would, without allocating.
package jid

import (
	"errors"
	"strings"
)

// ErrMalformed is wrapped by every error returned when a JID or one of its
// parts is invalid; test for it with errors.Is.
var ErrMalformed = errors.New("jid: malformed")

// malformedError carries a detail message and unwraps to ErrMalformed.
type malformedError struct{ detail string }

func (e *malformedError) Error() string { return "jid: " + e.detail + ": malformed" }
func (e *malformedError) Unwrap() error { return ErrMalformed }

func malformed(detail string) error { return &malformedError{detail: detail} }

// Errors that do not depend on the input are allocated once.
var (
	errEmptyLocal        = malformed("empty localpart")
	errLocalTooLong      = malformed("localpart too long")
	errLocalNotUTF8      = malformed("localpart is not valid UTF-8")
	errResourceNotUTF8   = malformed("resourcepart is not valid UTF-8")
	errLocalProhibited   = malformed("localpart contains a prohibited character")
	errEmptyDomain       = malformed("empty domainpart")
	errDomainTooLong     = malformed("domainpart too long")
	errDomainEmptyLabel  = malformed("empty label in domainpart")
	errDomainHyphen      = malformed("domainpart label starts or ends with a hyphen")
	errDomainInvalidChar = malformed("domainpart contains an invalid character")
	errDomainIPLiteral   = malformed("invalid IP literal in domainpart")
	errDomainNotUTF8     = malformed("domainpart is not valid UTF-8")
	errEmptyResource     = malformed("empty resourcepart")
	errResourceTooLong   = malformed("resourcepart too long")
	errNoDomainForRes    = malformed("resourcepart on JID without domainpart")
)

// maxPartLen is the maximum length in bytes of each prepared part
// (RFC 7622 §3.1).
const maxPartLen = 1023

// maxRawPartLen bounds the length of a part before preparation so that huge
// inputs are rejected without running them through PRECIS. None of the
// mappings applied shrinks a code point by more than a factor of three (e.g.
// a fullwidth letter or U+3000 to one ASCII byte), so anything longer than
// this cannot fit into maxPartLen bytes once prepared.
const maxRawPartLen = 4 * maxPartLen

// JID is an XMPP address. Values are immutable and comparable with ==; the
// zero value is the empty JID, which is not a valid address.
type JID struct {
	local    string
	domain   string
	resource string
}

// Parse splits s into its parts as described in RFC 7622 §3.1 (the
// resourcepart follows the first '/', the localpart precedes the first '@'
// before that) and prepares and enforces each of them.
func Parse(s string) (JID, error) {
	var local, domain, resource string
	hasResource := false
	if i := strings.IndexByte(s, '/'); i >= 0 {
		resource = s[i+1:]
		s = s[:i]
		hasResource = true
	}
	hasLocal := false
	if i := strings.IndexByte(s, '@'); i >= 0 {
		local = s[:i]
		s = s[i+1:]
		hasLocal = true
	}
	domain = s

	var (
		j   JID
		err error
	)
	if hasLocal {
		if j.local, err = prepLocal(local); err != nil {
			return JID{}, err
		}
	}
	if j.domain, err = prepDomain(domain); err != nil {
		return JID{}, err
	}
	if hasResource {
		if j.resource, err = prepResource(resource); err != nil {
			return JID{}, err
		}
	}
	return j, nil
}

// New builds a JID from its parts, preparing and enforcing each of them. An
// empty local or resource means the JID has no such part; the domain is
// required.
func New(local, domain, resource string) (JID, error) {
	var (
		j   JID
		err error
	)
	if local != "" {
		if j.local, err = prepLocal(local); err != nil {
			return JID{}, err
		}
	}
	if j.domain, err = prepDomain(domain); err != nil {
		return JID{}, err
	}
	if resource != "" {
		if j.resource, err = prepResource(resource); err != nil {
			return JID{}, err
		}
	}
	return j, nil
}

// MustParse is like Parse but panics if s is not a valid JID. It is meant for
// tests and constants.
func MustParse(s string) JID {
	j, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return j
}

// Local returns the prepared localpart, or "" if there is none.
func (j JID) Local() string { return j.local }

// Domain returns the prepared domainpart ("" only for the zero JID).
func (j JID) Domain() string { return j.domain }

// Resource returns the prepared resourcepart, or "" if there is none.
func (j JID) Resource() string { return j.resource }

// Bare returns j without its resourcepart.
func (j JID) Bare() JID { return JID{local: j.local, domain: j.domain} }

// DomainJID returns the JID consisting of j's domainpart only.
func (j JID) DomainJID() JID { return JID{domain: j.domain} }

// WithResource returns a copy of j with its resourcepart replaced by r, which
// is prepared and enforced first. As with New, an empty r yields the bare
// JID. It fails on the zero JID.
func (j JID) WithResource(r string) (JID, error) {
	if j.domain == "" {
		return JID{}, errNoDomainForRes
	}
	if r == "" {
		return j.Bare(), nil
	}
	res, err := prepResource(r)
	if err != nil {
		return JID{}, err
	}
	j.resource = res
	return j, nil
}

// IsZero reports whether j is the zero (empty) JID.
func (j JID) IsZero() bool { return j == JID{} }

// IsBare reports whether j is a non-zero JID without a resourcepart.
func (j JID) IsBare() bool { return j.domain != "" && j.resource == "" }

// IsDomain reports whether j consists of a domainpart only.
func (j JID) IsDomain() bool { return j.domain != "" && j.local == "" && j.resource == "" }

// Equal reports whether j and o are the same address; it is the same as ==.
func (j JID) Equal(o JID) bool { return j == o }

// String returns the JID as local@domain/resource, leaving out absent parts.
// It does not allocate for domain-only JIDs.
func (j JID) String() string {
	if j.local == "" && j.resource == "" {
		return j.domain
	}
	n := len(j.domain)
	if j.local != "" {
		n += len(j.local) + 1
	}
	if j.resource != "" {
		n += len(j.resource) + 1
	}
	var b strings.Builder
	b.Grow(n)
	if j.local != "" {
		b.WriteString(j.local)
		b.WriteByte('@')
	}
	b.WriteString(j.domain)
	if j.resource != "" {
		b.WriteByte('/')
		b.WriteString(j.resource)
	}
	return b.String()
}

// BareString returns the string form of j.Bare(). It does not allocate for
// JIDs without a localpart.
func (j JID) BareString() string {
	if j.local == "" {
		return j.domain
	}
	return j.local + "@" + j.domain
}
