// Package offline implements offline message storage as XEP-0160 (Best
// Practices for Handling Offline Messages, 1.0.1) describes it, with
// XEP-0203 (Delayed Delivery, 2.0) stamps and the storage hints of
// XEP-0334 (Message Processing Hints, 1.0.0).
//
// Storing: when RFC 6121 §8.5 leaves a message to an existing local user
// with no resource to go to, the router fires hook.MessageUndelivered; so
// does a c2s session that ends with messages still queued. The module
// stores the message — committed to the database before the hook returns
// Handled, so the router does not bounce it — with a
// <delay xmlns='urn:xmpp:delay' from='<domain>' stamp='…'>Offline
// Storage</delay> appended (XEP-0160 §2, XEP-0203), the stanza otherwise
// as it arrived. What is stored follows XEP-0160 §3 and XEP-0334:
//
//   - a message with a <no-store/> hint is never stored: the router
//     bounces it with service-unavailable, as for a server without offline
//     storage;
//   - a message with a <store/> hint is stored whatever its type, unless it
//     is an error;
//   - otherwise normal and chat messages (and unknown types, which RFC 6121
//     §5.2.2 treats as normal) are stored; headline, groupchat and error
//     messages are not (the router has already ignored or bounced them);
//   - a message with nothing to keep — only XEP-0085 chat states, a thread,
//     delay stamps or hints — is not stored (XEP-0160 §3, XEP-0085 §5.8:
//     servers SHOULD NOT store standalone notifications, and MAY refuse
//     to deliver them) and is dropped without an error. A receipt, a
//     marker, an encrypted payload or any other element is kept, body or
//     not, as ejabberd's default (store_empty_body: unless_chat_state)
//     does.
//
// Each user's store holds at most modules.offline.max_messages messages.
// One more is not stored and its sender gets service-unavailable with the
// text "offline storage is full" — the condition XEP-0160 §2 names for a
// full queue (ejabberd answers resource-constraint instead).
//
// Delivery: when a resource sends available presence with a non-negative
// priority (XEP-0160 §2) — its initial presence (hook.SessionAvailable,
// after the presence broadcast), or a presence that raises a negative
// priority to zero or more — all its stored messages are taken out of the
// store, DeliverBatch at a time in the order they were stored, and handed
// to that resource's session with Router.Deliver, their 'to' attribute
// unchanged. Deliver reaches that one session and applies none of the
// rules of RFC 6121 §8.5.3.2, which are for stanzas a sender addresses: a
// message the server accepted long ago is never bounced to its sender,
// re-stored or dropped on the way out. Taking is one transaction per
// batch that deletes exactly the rows it returns, and one delivery runs
// per user at a time (a second one asked meanwhile is done by the first,
// next), so no message goes out twice or out of order. A message the
// router stored after the user became available (it looked for a resource
// just before) is delivered at once to the user's best available
// resource: storing looks at the router's table after the commit, and a
// session is marked available before its own delivery starts, so no such
// message waits for the next login. A message that comes back from a
// session that ended with it queued waits for the next available presence
// instead: the user's other resources may have had it already.
// When nothing is stored, the available presence costs one read of the
// user's count row, no write transaction.
//
// A session refuses what it is handed once it is closing or its queue is
// full (a client that reads too slowly is then disconnected). The module
// cannot wait for a busy queue to drain, so it delivers batch after batch
// until the store is empty or the session refuses one: the refused message
// and the rest of its batch are put back as they were (Store.Restore: same
// ids, so the same order, ahead of anything stored since, and the same
// stamps), and the next available presence brings them. A message the
// session took but still had queued when it ended comes back through
// message.undelivered and is stored again, at the end of the store, its
// first stamp kept. Messages live in the database, so they survive a
// restart. user.removed deletes them.
//
// Stamps: only this server writes a delay from one of its own domains. The
// module's stanza.in listener removes, from every message a local client
// sends, the urn:xmpp:delay children whose 'from' is a domain this server
// hosts (or a resource of one): a client cannot make its recipient believe
// the server held the message since a time of its choosing, nor keep the
// real stamp off a stored message. So a delay from the recipient's domain
// in a message reaching message.undelivered was written by this module, and
// a message stored again keeps it.
//
// Not implemented: XEP-0013 flexible offline message retrieval; a quota in
// bytes (max_messages bounds the count only); storing XEP-0079 error
// messages; expiry of old messages. Legacy XEP-0091 delays (jabber:x:delay)
// a client sends are left alone: the module never writes one.
package offline
