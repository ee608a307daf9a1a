// Package presence implements presence for local accounts (RFC 6121 §3
// and §4): subscriptions, the broadcast of a resource's presence to its
// subscribers and to the user's own resources, probes, and directed
// presence.
//
// Subscriptions follow the state tables of RFC 6121 Appendix A, kept as
// pure functions in engine.go (Outbound for what the user sends, Inbound
// for what a contact sends) and applied to the roster through
// roster.Service, which stores and pushes every change. A request the
// user has not answered ("Pending In") is stored with the roster and
// delivered again whenever a resource of the user becomes available, until
// it is answered (§3.1.3). Pre-approval (§3.4) is supported and announced
// with the urn:xmpp:features:pre-approval stream feature. Outbound
// subscription stanzas are stamped with the user's bare JID. Removing a
// contact from the roster cancels both directions and denies a pending
// request (§2.5.2), and so does deleting the account.
//
// Broadcast: available presence without 'to' goes to every contact with
// a subscription 'from' or 'both' and to each of the user's available
// resources, the sender included (§4.2.2, §4.4.2). Initial presence also
// probes the contacts the user is subscribed to, from the user's bare JID
// (§4.2.1), brings the presence of the user's other resources, and
// delivers pending subscription requests. Unavailable presence, sent by
// the client or made by the server when a session ends without it, also
// reaches everyone the resource sent directed presence to (§4.5.2,
// §4.6.3).
//
// Inbound stanzas arrive through the presence.in hook, on the recipient's
// behalf: subscription stanzas are processed (§3.1.3, §3.1.6, §3.2.3,
// §3.3.3) before the router delivers them to the user's available
// resources; probes are answered by the server with the last presence of
// each available resource, unavailable presence when there is none, and
// 'unsubscribed' to an entity without a subscription or for an account
// that does not exist (§4.3.2).
//
// Each session's last presence and directed presence recipients are kept
// in memory by this module (state.go), fed by the session's own reader
// goroutine through stanza.in and cleared at session.closed. Other modules
// read the available resources, with their last presence and their entity
// capabilities (XEP-0115 <c/>), through Service.
//
// Not implemented: remembering the last unavailable presence of an
// offline user for probes (the answer is a bare unavailable presence);
// stopping the broadcast to a contact that answered with a presence error
// (§4.4.2); presence errors to the sender of a directed presence that
// could not be delivered. Blocking (XEP-0191) is its own module.
package presence
