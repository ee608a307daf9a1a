// Package private implements XEP-0049: Private XML Storage, the
// jabber:iq:private namespace, where a client keeps arbitrary XML on its
// server (preferences, XEP-0048 bookmarks, roster notes).
//
// An IQ set stores each child of <query xmlns='jabber:iq:private'/>,
// keyed by its qualified name (namespace and element name), replacing
// what was stored under that name; a set may carry several children. An
// IQ get returns the stored element for each child it names, or the empty
// element when nothing is stored. A set with an empty element (no
// attributes, children or text) deletes what was stored under its name.
//
// Only the account itself may use its storage (XEP-0049 §2.3 and
// Security Considerations): an IQ get or set to another user's JID gets
// forbidden, which the XEP prefers to service-unavailable. A query
// without a child gets bad-request (the XEP's error table asks for "Bad
// Format", which RFC 6120 stanza errors call bad-request). A child in no
// namespace of its own — which XML puts in jabber:iq:private — or in
// jabber:client or jabber:server gets not-acceptable (§2.3: "a proper
// namespace"); other reserved namespaces ('jabber:', 'http://jabber.org/',
// 'vcard-temp'), which the XEP lets a server refuse, are accepted, since
// old clients keep data there.
//
// Limits: a child larger than max_size once serialized gets
// not-acceptable; a set that would make the user store more than
// max_elements names gets policy-violation. Every child of a set is
// checked before any is written, so a refused set changes nothing; the
// writes of an accepted set are not one transaction.
//
// The module advertises jabber:iq:private on the server and deletes a
// removed account's data (user.removed).
//
// Not implemented: XEP-0223 (private storage over PEP) and XEP-0402
// (bookmarks over PEP), including the XEP-0411 bookmarks conversion.
package private
