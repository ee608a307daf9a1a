// Package xmlstream implements the XML layer of XMPP streams (RFC 6120 §4
// and §11): a streaming decoder that turns the bytes of a stream into
// namespace-resolved elements, one top-level child (stanza or nonza) at a
// time, the same parser for RFC 7395 WebSocket frames (ParseFrame), and the
// Element tree with its serializer.
//
// The decoder is written by hand because encoding/xml is too slow and
// allocation-heavy for a server that parses every stanza of every
// connection (it allocates per token, per name and per attribute), has no
// limits on the size of tokens, attribute counts or nesting depth, so a
// peer can make it buffer unbounded input, and it accepts the XML features
// that RFC 6120 §11.1 forbids (comments, processing instructions, DTDs)
// instead of reporting them as stream errors.
//
// The decoder implements "restricted XML": comments, processing
// instructions other than the initial XML declaration, document type
// declarations and entity references other than the five predefined ones
// are rejected with the stream error condition restricted-xml. CDATA
// sections are accepted as character data. Every limit in Limits is
// enforced on the bytes read, before anything is allocated for them, and
// reported as policy-violation. Errors carry the RFC 6120 §4.9.3 condition
// in SyntaxError.Cond.
//
// Names follow the XML 1.0 fifth-edition NameStartChar/NameChar rules and
// Namespaces in XML 1.0: undeclared prefixes, names with more than one
// colon, rebinding the xml or xmlns prefixes and undeclaring a prefix are
// not-well-formed.
//
// A decoded stanza is built with a handful of allocations regardless of
// its size: all character data, attribute values and uncommon names of a
// stanza share one string, the elements, attributes and child nodes live
// in one slice each, and common names and namespaces are interned. The
// slices handed out are capped, so appending to an element's Attrs or
// Nodes never writes into another element's.
package xmlstream
