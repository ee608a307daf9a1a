// Package vcard implements XEP-0054: vcard-temp, the vCard each account
// publishes through its server.
//
// A user reads and replaces their own vCard with an IQ get or set carrying
// <vCard xmlns='vcard-temp'/>, with no 'to' or to their own bare JID
// (XEP-0054 §3.1, §3.2). A set replaces the whole vCard: the XEP has no
// partial update. Without a stored vCard, the user's own get is answered
// with an empty <vCard/> (§3.1 allows that or item-not-found; clients
// handle the empty result best). A set with an empty <vCard/> deletes it.
//
// Anyone may read another user's vCard with an IQ get to that user's bare
// JID, which the server answers on the user's behalf (§3.3; the XEP's
// Security Considerations: vCards are world-readable, as in ejabberd and
// Prosody). A user without a vCard and an account that does not exist get
// the same service-unavailable (§3.3 since version 1.3, against directory
// harvesting). A set to another user's JID gets forbidden (§3.2).
//
// A vCard larger than max_size once serialized is refused with
// not-acceptable: the XEP sets no limit, and RFC 6120 §8.3.3.9 describes
// a request that does not meet the server's criteria. The module
// advertises the feature vcard-temp on the server (§4) and deletes the
// vCard of a removed account (user.removed).
//
// Not implemented: the server's own vCard (an IQ to the domain gets
// service-unavailable); checking the vCard's contents against the DTD;
// XEP-0153 avatar hashes in presence (the clients' job) and XEP-0398
// (PEP avatar conversion); XEP-0292 vCard4 over PEP.
package vcard
