// Package ping implements XEP-0199: XMPP Ping.
//
// The server answers pings addressed to itself and, on their behalf, to the
// bare JIDs of its accounts (XEP-0199 §4.2, §4.4). It also pings idle
// clients (§4.1): the c2s session fires hook.SessionIdle after
// limits.idle_timeout without a byte from the client, this module sends
// <iq type='get'><ping/></iq> from the server's domain to the session's
// full JID, and whatever the client sends back — the pong or anything
// else — resets the session's idle timer. A client that stays silent for
// one more idle_timeout is closed by the session with connection-timeout.
//
// The pong needs no bookkeeping here: an IQ result to the server that no
// module claims is dropped by the core (RFC 6120 §8.4), and the error a
// client without ping support returns (§4.1: service-unavailable) is
// swallowed by this module, since it proves the connection alive as well.
//
// Not implemented: server-to-server pings (no s2s yet) and pings sent by
// the server on a timer of its own; the idle timeout is the session's.
package ping
