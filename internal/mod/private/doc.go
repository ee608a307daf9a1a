// Package private implements XEP-0049: Private XML Storage, the
// jabber:iq:private namespace, where a client keeps arbitrary XML on its
// server (preferences, XEP-0048 bookmarks, roster notes).
//
// An IQ set stores each child of <query xmlns='jabber:iq:private'/>,
// keyed by its qualified name (namespace and element name), replacing
// what was stored under that name; a set may carry several children, and
// of several with one name the last is stored. An IQ get returns the
// stored element for each name its children give, once per name, or the
// empty element when nothing is stored. A set with an empty element (no
// attributes, children or text) deletes what was stored under its name.
//
// Only the account itself may use its storage (XEP-0049 §2.3 and
// Security Considerations): an IQ get or set to another user's JID gets
// forbidden, which the XEP prefers to service-unavailable. A set without
// a child gets not-acceptable (§2.3: at least one child "MUST be
// included; otherwise the server MUST respond with a 'Not Acceptable'
// error"); a get without one gets bad-request (the "Bad Format" the XEP
// and its error table ask for there, which RFC 6120 stanza errors call
// bad-request). A child in no
// namespace of its own — which XML puts in jabber:iq:private — or in
// jabber:client or jabber:server gets not-acceptable (§2.3: "a proper
// namespace"); other reserved namespaces ('jabber:', 'http://jabber.org/',
// 'vcard-temp'), which the XEP lets a server refuse, are accepted, since
// old clients keep data there.
//
// Limits: a query (get or set) with more than max_elements children,
// same-named ones counted each, gets policy-violation before anything is
// read, so one IQ costs a bounded amount of work; a child larger than
// max_size once serialized gets not-acceptable; a set that would make the
// user store more than max_elements names gets policy-violation. Every
// child of a set is checked before any is written, so a refused set
// changes nothing, and an accepted set is written in one transaction
// (storage.KV.Apply); a get reads all its names in one query. The count
// of stored names is read before that transaction: two sets racing may
// together go past max_elements.
//
// The module advertises jabber:iq:private on the server and deletes a
// removed account's data (user.removed).
//
// Not implemented: XEP-0223 (private storage over PEP) and XEP-0402
// (bookmarks over PEP), including the XEP-0411 bookmarks conversion.
package private
