// Package version implements XEP-0092: Software Version, for the server
// itself (an IQ to the server's domain).
//
// The answer names the software ("Parley") and its version. The operating
// system is left out unless show_os is set: XEP-0092 §5 asks that an
// administrator can turn it off, and we choose off by default, as revealing
// it helps attackers more than it helps anyone else.
//
// Not implemented: answering on behalf of accounts. A version query to a
// bare JID is about a client, which the server cannot speak for, so it
// gets service-unavailable from the core.
package version
