// Package register implements XEP-0077: In-Band Registration, for accounts
// on this server.
//
// Before authentication a client may ask for the registration form and
// create an account with a username and a password, when the top-level
// setting registration is open. The stream feature
// <register xmlns='http://jabber.org/features/iq-register'/> (XEP-0077 §6)
// is offered only then. Successful registrations are limited per client
// address (limits.registrations_per_ip; IPv6 addresses count per /64),
// in the manner of ejabberd's registration_timeout and Prosody's
// min_seconds_between_registrations: failed attempts are not counted.
//
// Once authenticated, a user may read their registration (<registered/>),
// change their password and remove their account, whether registration is
// open or closed. Removal answers the IQ first, then ends every session of
// the account with a not-authorized stream error (XEP-0077 §3.2).
//
// Passwords travel in clear inside the stream, so they are accepted only on
// encrypted streams or from a loopback address (XEP-0077 §11; the same
// rule as PLAIN in DESIGN.md "Defaults that protect users"). Passwords are
// never logged and never echoed in error replies (§3.3).
//
// Not implemented: XEP-0004 data forms in the registration form, fields
// other than username and password, XEP-0066 redirection, and the obsolete
// <key/> element.
package register
