// Package roster implements the roster of RFC 6121 §2: a user's contact
// list, stored on the server, with roster versioning (RFC 6121 §2.6,
// formerly XEP-0237).
//
// A client reads its roster with a roster get (§2.1.3) and adds, updates
// and removes items with roster sets (§2.1.5, §2.3–§2.5), each item with
// an optional name and any number of groups. Every change is pushed
// (§2.1.6) to each of the user's interested resources — the sessions that
// requested the roster — from the user's bare JID, and then answered with
// an IQ result. Roster sets and pushes for one user are serialized, so
// pushes arrive in the order of the changes.
//
// Versions: the stream feature <ver xmlns='urn:xmpp:features:rosterver'/>
// is offered after authentication, every roster result and push carries
// 'ver', and a roster get with the 'ver' of a cached roster is answered
// with an empty result followed by one push per item changed since — or
// with the whole roster when that is shorter, or when the cached version
// predates a deletion (deletions leave nothing to push). Versions grow by
// one with each change; the opaque string also carries a random epoch, so
// an account removed and registered again never reuses its old versions.
//
// Each item also holds its subscription state (none, to, from, both), the
// "Pending Out" sub-state (ask='subscribe') and pre-approval (approved);
// "Pending In" requests are kept apart, because they are not part of the
// roster a client sees. This module never changes them on a client's
// request: §2.1.5 makes the server ignore 'subscription' (other than
// "remove"), 'ask' and 'approved' in roster sets. They are driven by the
// presence module through Service (module.Use[roster.Service]), whose
// changes are pushed like any other.
//
// Not implemented here: presence subscriptions themselves (RFC 6121 §3,
// the presence module's), including the unsubscribe and unsubscribed
// that §2.5.2 sends when a user removes a contact (hook.RosterItemChanged
// tells the presence module); roster items with a full JID (refused with
// jid-malformed); an item for the user's own bare JID (refused with
// not-allowed, as Prosody does: a user's resources share presence without
// one); shared or server-defined groups; XEP-0321 remote roster
// management; XEP-0144 roster item exchange.
package roster
