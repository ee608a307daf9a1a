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
// priority to zero or more — the stored messages are taken out of the
// store in the order they were stored and routed to that resource's full
// JID, their 'to' attribute unchanged. Taking is one transaction per batch
// that deletes exactly the rows it returns, so two resources that become
// available at once never both get a message, and a message stored
// meanwhile stays for later. A message taken but still in the session's
// queue when the session ends comes back through message.undelivered and
// is stored again, its first stamp kept. Messages live in the database, so
// they survive a restart. user.removed deletes them.
//
// Not implemented: XEP-0013 flexible offline message retrieval; a quota in
// bytes (max_messages bounds the count only); storing XEP-0079 error
// messages; expiry of old messages. A resource gets at most
// DeliverPerPresence messages per available presence (so that a large
// store cannot overflow its session's queue); the rest wait for its next
// initial presence or another resource's.
package offline
