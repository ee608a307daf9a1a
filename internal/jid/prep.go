package jid

import (
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
	"golang.org/x/text/secure/precis"
	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"
)

// localProhibited lists the ASCII characters RFC 7622 §3.3.1 forbids in a
// localpart on top of what the UsernameCaseMapped profile forbids.
const localProhibited = `"&'/:<>@`

// prepLocal prepares and enforces a localpart. s must be non-empty to denote
// a localpart at all; the empty string is rejected.
func prepLocal(s string) (string, error) {
	if s == "" {
		return "", errEmptyLocal
	}
	if len(s) > maxRawPartLen {
		return "", errLocalTooLong
	}
	if out, ok := fastLocal(s); ok {
		if len(out) > maxPartLen {
			return "", errLocalTooLong
		}
		return out, nil
	}
	return slowLocal(s)
}

// fastLocal handles localparts made only of printable ASCII other than the
// RFC 7622 prohibited characters. For those, UsernameCaseMapped amounts to
// ASCII lower-casing: width folding, NFC and the Bidi Rule are no-ops and
// every such byte is PVALID in the IdentifierClass. The result is a
// substring of s (no allocation) unless s contains upper-case letters.
// ok is false if s needs the full treatment.
func fastLocal(s string) (out string, ok bool) {
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case 'A' <= c && c <= 'Z':
			upper = true
		case c < 0x21 || c > 0x7e:
			return "", false
		case strings.IndexByte(localProhibited, c) >= 0:
			return "", false
		}
	}
	if upper {
		return asciiLower(s), true
	}
	return s, true
}

func slowLocal(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", errLocalNotUTF8
	}
	out, err := precis.UsernameCaseMapped.String(s)
	if err != nil {
		return "", malformed("invalid localpart (" + err.Error() + ")")
	}
	switch {
	case out == "":
		return "", errEmptyLocal
	case len(out) > maxPartLen:
		return "", errLocalTooLong
	case strings.ContainsAny(out, localProhibited):
		return "", errLocalProhibited
	}
	return out, nil
}

// prepResource prepares and enforces a resourcepart. The empty string is
// rejected.
func prepResource(s string) (string, error) {
	if s == "" {
		return "", errEmptyResource
	}
	if len(s) > maxRawPartLen {
		return "", errResourceTooLong
	}
	if out, ok := fastResource(s); ok {
		if len(out) > maxPartLen {
			return "", errResourceTooLong
		}
		return out, nil
	}
	return slowResource(s)
}

// fastResource handles resourceparts made only of printable ASCII and the
// space character, which OpaqueString leaves unchanged: all of them are
// allowed in the FreeformClass, the space mapping maps U+0020 to itself and
// NFC is a no-op. ok is false if s needs the full treatment.
func fastResource(s string) (out string, ok bool) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return "", false
		}
	}
	return s, true
}

func slowResource(s string) (string, error) {
	// OpaqueString would silently turn invalid bytes into U+FFFD.
	if !utf8.ValidString(s) {
		return "", errResourceNotUTF8
	}
	out, err := precis.OpaqueString.String(s)
	if err != nil {
		return "", malformed("invalid resourcepart (" + err.Error() + ")")
	}
	switch {
	case out == "":
		return "", errEmptyResource
	case len(out) > maxPartLen:
		return "", errResourceTooLong
	}
	return out, nil
}

// prepDomain prepares and enforces a domainpart.
//
// RFC 7622 §3.2 asks for IDNA2008 (RFC 5890 ff.), which golang.org/x/text
// does not implement. Instead the mapping of RFC 5895 is approximated (width
// folding, lower-casing, NFC, mapping of the ideographic full stops to '.')
// and each label is checked to consist of Unicode letters, decimal digits and
// combining marks, with hyphens allowed inside the label only and no leading
// combining mark. IPv6 literals in brackets are accepted and written in their
// canonical form; dotted IPv4 addresses pass as ordinary labels.
func prepDomain(s string) (string, error) {
	// RFC 7622 §3.2: one trailing label separator is stripped before any
	// other canonicalisation step.
	s = strings.TrimSuffix(s, ".")
	if s == "" {
		return "", errEmptyDomain
	}
	if len(s) > maxRawPartLen {
		return "", errDomainTooLong
	}
	if out, ok := fastDomain(s); ok {
		if len(out) > maxPartLen {
			return "", errDomainTooLong
		}
		return out, nil
	}
	return slowDomain(s)
}

// fastDomain handles well-formed LDH host names (ASCII letters, digits,
// hyphens inside labels, no empty labels), lower-casing them. The result is
// a substring of s unless s contains upper-case letters. ok is false if s
// needs the full treatment (which also produces the precise error).
func fastDomain(s string) (out string, ok bool) {
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case 'A' <= c && c <= 'Z':
			upper = true
		case c == '.':
			if i == 0 || s[i-1] == '.' || i == len(s)-1 {
				return "", false
			}
		case c == '-':
			if i == 0 || s[i-1] == '.' || i == len(s)-1 || s[i+1] == '.' {
				return "", false
			}
		default:
			return "", false
		}
	}
	if upper {
		return asciiLower(s), true
	}
	return s, true
}

// domainLower is the case mapping for domainparts. Like PRECIS it maps final
// sigma to σ so that the mapping is context-free. A Caser is not safe for
// concurrent use, hence one is created per call.
func domainLower(s string) string {
	return cases.Lower(language.Und, cases.HandleFinalSigma(false)).String(s)
}

// slowDomain maps and validates a domainpart that has already had a trailing
// dot removed and is non-empty.
func slowDomain(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", errDomainNotUTF8
	}
	s = width.Fold.String(s)
	s = domainLower(s)
	s = norm.NFC.String(s)
	s = strings.Map(mapDot, s)

	if s[0] == '[' {
		return prepIPLiteral(s)
	}
	if len(s) > maxPartLen {
		return "", errDomainTooLong
	}
	for label := range strings.SplitSeq(s, ".") {
		if err := checkLabel(label); err != nil {
			return "", err
		}
	}
	return s, nil
}

// mapDot maps the label separators listed in RFC 5895 §2 step 4 to '.'.
func mapDot(r rune) rune {
	switch r {
	case '\u3002', '\uff0e', '\uff61':
		return '.'
	}
	return r
}

// checkLabel validates one label of a mapped domainpart.
func checkLabel(label string) error {
	if label == "" {
		return errDomainEmptyLabel
	}
	if label[0] == '-' || label[len(label)-1] == '-' {
		return errDomainHyphen
	}
	for i, r := range label {
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9', r == '-':
			continue
		case r < utf8.RuneSelf:
			return errDomainInvalidChar
		case unicode.IsMark(r):
			// RFC 5891 §4.2.3.2: a label must not begin with a
			// combining mark.
			if i == 0 {
				return errDomainInvalidChar
			}
		case unicode.IsLetter(r):
			// Letters that survive lower-casing as upper or title
			// case (e.g. U+03D2) are not stable under case mapping
			// and are disallowed by IDNA2008.
			if unicode.IsUpper(r) || unicode.IsTitle(r) {
				return errDomainInvalidChar
			}
		case unicode.IsDigit(r):
		default:
			return errDomainInvalidChar
		}
	}
	return nil
}

// prepIPLiteral validates an IPv6 literal of the form "[addr]" (RFC 3986
// IP-literal, without zones or IPvFuture) and returns it in canonical form.
func prepIPLiteral(s string) (string, error) {
	if len(s) < 2 || s[len(s)-1] != ']' {
		return "", errDomainIPLiteral
	}
	addr, err := netip.ParseAddr(s[1 : len(s)-1])
	if err != nil || !addr.Is6() || addr.Zone() != "" {
		return "", errDomainIPLiteral
	}
	return "[" + addr.String() + "]", nil
}

// asciiLower returns s with ASCII upper-case letters mapped to lower case;
// s must be ASCII (strings.ToLower then allocates exactly once).
func asciiLower(s string) string { return strings.ToLower(s) }
