// Package disco implements XEP-0030: Service Discovery, for the server
// itself and, on their behalf, for its accounts.
//
// Every answer is derived from what the loaded modules declared through
// their Host (h.Feature, h.Identity), read at the time of the request, so
// the advertised features cannot drift from the handlers that run
// (STYLE.md §3.4). The module declares disco#info and disco#items itself,
// like any other feature.
//
// Access to an account's information follows XEP-0030 §8: only the account
// itself is told anything; everyone else gets service-unavailable for
// disco#info and an empty disco#items. Once a roster module can say who is
// subscribed to an account's presence, those contacts should be let in too.
//
// Not implemented: items (the server lists none until components such as
// MUC exist; accounts list none), nodes (a query with a node is answered
// item-not-found) and XEP-0128 extended information.
package disco
