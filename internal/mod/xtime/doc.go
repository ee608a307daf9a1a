// Package xtime implements XEP-0202: Entity Time, for the server itself
// (an IQ to the server's domain). It is named xtime so as not to clash
// with the standard library's time.
//
// The answer gives the server's UTC offset as a numeric TZD ("+00:00",
// "-06:00"; XEP-0082 §3) and the current UTC time as an XEP-0082 DateTime
// with millisecond precision ("2006-12-19T17:58:35.123Z"). XEP-0082 allows
// the fraction; it lets a client estimate clock skew better than whole
// seconds would.
//
// Not implemented: XEP-0090 (legacy jabber:iq:time, obsolete), and
// answering on behalf of accounts (a time query to a bare JID is about a
// client, which the server cannot speak for).
package xtime
