package xmlstream

import "errors"

// ErrStreamEnd is returned by Decoder.Next when the stream root has been
// closed by the peer (</stream:stream>).
var ErrStreamEnd = errors.New("xmlstream: end of stream")

// errNotStarted is returned by Next before ReadStreamStart succeeded.
var errNotStarted = errors.New("xmlstream: Next called before ReadStreamStart")

// Stream error conditions (RFC 6120 §4.9.3) reported in SyntaxError.Cond.
const (
	condNotWellFormed       = "not-well-formed"
	condRestrictedXML       = "restricted-xml"
	condPolicyViolation     = "policy-violation"
	condBadFormat           = "bad-format"
	condUnsupportedEncoding = "unsupported-encoding"
)

// SyntaxError reports input the decoder rejects. Cond is the RFC 6120
// §4.9.3 stream error condition the server must send before closing the
// stream: "not-well-formed", "restricted-xml", "policy-violation" (a limit
// was exceeded), "bad-format" or "unsupported-encoding".
type SyntaxError struct {
	Cond string
	Msg  string
}

func (e *SyntaxError) Error() string {
	return "xmlstream: " + e.Cond + ": " + e.Msg
}
