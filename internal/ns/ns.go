// Package ns holds the XML namespace names that more than one tier of
// Parley uses. A namespace that only one module needs lives in that module.
package ns

// Core namespaces of RFC 6120 and RFC 6121.
const (
	Client   = "jabber:client"
	Server   = "jabber:server"
	Stream   = "http://etherx.jabber.org/streams"
	Streams  = "urn:ietf:params:xml:ns:xmpp-streams"
	Stanzas  = "urn:ietf:params:xml:ns:xmpp-stanzas"
	TLS      = "urn:ietf:params:xml:ns:xmpp-tls"
	SASL     = "urn:ietf:params:xml:ns:xmpp-sasl"
	Bind     = "urn:ietf:params:xml:ns:xmpp-bind"
	Session  = "urn:ietf:params:xml:ns:xmpp-session"
	Roster   = "jabber:iq:roster"
	SASLCB   = "urn:xmpp:sasl-cb:0" // XEP-0440 channel binding types
	Ping     = "urn:xmpp:ping"
	Register = "jabber:iq:register"
	// RegisterFeature is the stream feature of XEP-0077.
	RegisterFeature = "http://jabber.org/features/iq-register"
	DiscoInfo       = "http://jabber.org/protocol/disco#info"
	DiscoItems      = "http://jabber.org/protocol/disco#items"
	Delay           = "urn:xmpp:delay"
)
