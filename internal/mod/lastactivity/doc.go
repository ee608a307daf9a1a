// Package lastactivity implements XEP-0012: Last Activity, the
// jabber:iq:last namespace.
//
// An IQ get to the server (XEP-0012 §5) is answered with the seconds
// since the server started.
//
// An IQ get to a user's bare JID (§3) is answered by the server on the
// user's behalf. The user may always ask about their own account; anyone
// else only if allowed to see the user's presence: the user's roster has
// them with subscription 'from' or 'both' (RFC 6121 §3), read through
// roster.Service. Others get forbidden. The answer is:
//
//   - seconds='0' while the user has an available resource (§3: "at
//     least one connected or available resource"; Parley counts the
//     available ones, since a connected session that sent unavailable
//     presence is offline for its contacts, and saying otherwise would
//     reveal it);
//   - otherwise the seconds since the user was last available — the
//     moment their last available session sent unavailable presence or
//     ended — with the <status/> text of that unavailable presence, if it
//     had one, as the query's character data;
//   - item-not-found when the server has recorded no such moment (the
//     account never went offline while this module ran).
//
// An IQ get to a user's full JID goes to that resource (§4), but only from
// a sender allowed to see the user's presence: the server answers others
// with forbidden and does not deliver it. This is checked for senders on
// this server, in stanza.in.
//
// The logout times and statuses are stored in the module's generic KV and
// deleted on user.removed; which sessions are available is kept in
// memory.
//
// Not implemented: last activity of remote users (no s2s yet), a check of
// full-JID queries from remote senders, and sharing availability between
// the nodes of a cluster.
package lastactivity
