// Package blocking implements XEP-0191: Blocking Command (version 1.3), a
// per-account list of JIDs the user does not want to hear from or talk
// to, kept on the server and enforced by it.
//
// A client reads the list with <blocklist/> (§3.2), adds JIDs with
// <block/> (§3.3) and removes them with <unblock/> (§3.4), or removes
// them all with an <unblock/> without child elements (§3.5), each an IQ
// with no 'to'. An <unblock/> whose children are none of them items
// gets bad-request; it does not unblock all. Every
// change is stored, then pushed as an IQ set from the user's bare JID to
// each of the user's interested resources — those that fetched the list
// in their session, as ejabberd and Prosody count them — and then
// answered. A command that changes nothing (blocking a JID already
// blocked, unblocking one that is not) is answered and not pushed.
// Commands and gets of one user are serialized, so pushes arrive in the
// order of the changes and never before the result of a get.
//
// Items are any JIDs, matched as §6 (and XEP-0016 §2.1) says: user@domain/
// resource only itself; user@domain with any resource; domain/resource
// only itself; domain every JID at the domain. A user's own account and
// own server are never blocked (§5: no blocking between one's own
// resources; the server must keep answering the user).
//
// Enforcement (§3.3), with the hook each rule runs in:
//
//   - Inbound: a stanza from a blocked JID is not delivered. Messages and
//     IQ gets and sets are answered with service-unavailable (the user
//     appears offline); presence — subscription requests and probes
//     included — IQ results and errors are dropped without an answer.
//     Stanzas from local users are refused in the sender's stanza.in, once
//     and before any module answers for the account or stores a message;
//     stanza.out catches every other path to a session, presence.in drops
//     presence for the account (online or not) before the presence
//     module processes it, and message.undelivered keeps such a message
//     out of offline storage (its Drop makes the router answer
//     service-unavailable).
//   - Outbound: a stanza the user sends to a blocked JID is not routed; the
//     user gets not-acceptable with <blocked xmlns='urn:xmpp:blocking:errors'/>
//     (stanza.in). IQ results and errors are dropped instead.
//   - Presence broadcast: the user's broadcast presence (no 'to') is not
//     refused, but must not reach blocked contacts. The presence module
//     routes it to each contact through the router, so the copies come
//     through stanza.out on the contact's side, where this module also
//     applies the sender's list when the sender is a local user. The same
//     check stops anything else a module routes from a user to a JID the
//     user blocked, errors excepted (they are the server's answers).
//   - On block, each available resource of the user sends unavailable
//     presence to each newly blocked contact that may receive the user's
//     presence (a roster subscription 'from' or 'both'); on unblock, each
//     sends its current presence (the last it broadcast) to each such
//     contact that no remaining item blocks.
//
// The list lives in the module's own table (store.go, sqlstore.go), read
// once and then cached (users.go): while the user has a session, and
// after that among the most recently used lists of users with none, up
// to a bound (32768 empty lists, fewer long ones). Each change made
// through the module is stored, then cached, so a check costs one read
// lock of a shard of the table and no store call once the list is
// cached. The module fails open: a list that cannot be read blocks
// nothing (the failure is logged and not cached), so that a database
// outage does not stop every stanza. user.removed deletes the list.
//
// Not implemented: privacy lists (XEP-0016) and their shared store (§5);
// presence to JIDs the user sent directed presence to, on block and
// unblock (only roster subscribers get it); cancelling subscriptions or
// notifying the blocked JID (§4 recommends "polite blocking", as here);
// filtering user directory searches (§4); XEP-0377 spam reporting inside
// <block/>, whose <report/> children are ignored. Enforcement covers what
// this node routes, with the lists as this node changed them: a clustered
// deployment will need the list on the node that delivers, and the
// changes made on other nodes.
package blocking
