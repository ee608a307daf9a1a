package admin

import "time"

// The JSON documents of the API. The client in this package and the
// server share them, so the two cannot drift apart.

// Error is the body of every error response.
type Error struct {
	Message string `json:"error"`
	// Status is the HTTP status of the response; it is not part of the body.
	Status int `json:"-"`
}

func (e *Error) Error() string { return e.Message }

// Status answers GET /v1/status.
type Status struct {
	Version       string       `json:"version"`
	Started       time.Time    `json:"started"`
	UptimeSeconds int64        `json:"uptime_seconds"`
	Sessions      int          `json:"sessions"` // bound client sessions on all hosts
	Hosts         []HostStatus `json:"hosts"`
	Modules       []string     `json:"modules"` // running modules in start order
}

// HostStatus is the part of Status about one served domain.
type HostStatus struct {
	Host     string `json:"host"`
	Users    int    `json:"users"` // registered accounts
	Sessions int    `json:"sessions"`
}

// User is one registered account.
type User struct {
	User string `json:"user"`
	Host string `json:"host"`
}

// UserList answers GET /v1/users, sorted by host then user.
type UserList struct {
	Users []User `json:"users"`
}

// RegisterRequest is the body of POST /v1/users.
type RegisterRequest struct {
	JID      string `json:"jid"` // user@host
	Password string `json:"password"`
}

// PasswordRequest is the body of PUT /v1/users/{jid}/password.
type PasswordRequest struct {
	Password string `json:"password"`
}

// AccountResult answers the account changes with the prepared JID
// ("Alice@LocalHost" becomes "alice@localhost").
type AccountResult struct {
	JID string `json:"jid"`
}

// Session is one bound client session.
type Session struct {
	JID       string    `json:"jid"`     // full JID
	Address   string    `json:"address"` // client IP:port, "" if unknown
	Since     time.Time `json:"since"`   // when the connection was accepted
	Secure    bool      `json:"secure"`  // the stream is encrypted with TLS
	Available bool      `json:"available"`
	Priority  int       `json:"priority"`
}

// SessionList answers GET /v1/sessions, sorted by JID.
type SessionList struct {
	Sessions []Session `json:"sessions"`
}

// KickRequest is the body of POST /v1/sessions/kick. A bare JID closes
// every resource of the account, a full JID that one session.
type KickRequest struct {
	JID    string `json:"jid"`
	Reason string `json:"reason,omitempty"` // text of the stream error
}

// KickResult answers a kick with the number of sessions closed (at least
// one: kicking a JID without sessions is a 404).
type KickResult struct {
	JID    string `json:"jid"`
	Kicked int    `json:"kicked"`
}

// RosterItem is one contact of an account's roster (RFC 6121 §2.1.2).
type RosterItem struct {
	JID          string `json:"jid"`          // the contact's bare JID
	Name         string `json:"name"`         // "" for none
	Subscription string `json:"subscription"` // none, to, from or both
	// Ask is "subscribe" while the account's request to see the
	// contact's presence is unanswered (RFC 6121 §2.1.2.2), else "".
	Ask string `json:"ask"`
	// Approved is a subscription pre-approval (RFC 6121 §3.4).
	Approved bool     `json:"approved"`
	Groups   []string `json:"groups"` // sorted
}

// RosterList answers GET /v1/users/{jid}/roster, sorted by contact JID.
type RosterList struct {
	JID   string       `json:"jid"` // the account
	Items []RosterItem `json:"items"`
}

// RosterItemRequest is the body of PUT /v1/users/{jid}/roster/{contact}:
// the name and groups the item gets, replacing those it had, as a
// client's roster set does (RFC 6121 §2.4). The subscription state is the
// server's: a new item has subscription none; an existing one keeps its
// state.
type RosterItemRequest struct {
	Name   string   `json:"name,omitempty"`
	Groups []string `json:"groups,omitempty"`
}

// Roster changes, as RosterResult.Change reports them.
const (
	RosterAdded     = "added"
	RosterUpdated   = "updated"
	RosterUnchanged = "unchanged" // the item already had that name and those groups
	RosterRemoved   = "removed"
)

// RosterResult answers a roster change. Every change but "unchanged" was
// pushed to the account's interested resources (RFC 6121 §2.1.6).
type RosterResult struct {
	JID    string     `json:"jid"`    // the account
	Item   RosterItem `json:"item"`   // as stored; after a removal only its JID
	Change string     `json:"change"` // RosterAdded, RosterUpdated, RosterUnchanged or RosterRemoved
}

// The message types the server sends (MessageRequest.Type).
const (
	MessageNormal   = "normal"
	MessageHeadline = "headline"
)

// MessageRequest is the body of POST /v1/messages: a message from the
// server (its domain JID) to an account or one of its sessions.
type MessageRequest struct {
	To      string `json:"to"` // user@host, or user@host/resource for one session
	Body    string `json:"body"`
	Subject string `json:"subject,omitempty"`
	Type    string `json:"type,omitempty"` // MessageNormal (the default) or MessageHeadline
}

// What became of a message (MessageResult.Outcome).
const (
	// Delivered: to the recipient's session (a full JID), or to its
	// resources that take messages (a bare JID: available with a
	// non-negative priority, RFC 6121 §8.5.2.1.1).
	OutcomeDelivered = "delivered"
	// Offline: no resource could take a normal message, and it was
	// handed to offline storage (the offline module), which keeps it for
	// the account's next login if it can. Whether it did is not known
	// here: a full store or a failed write is answered with an error to
	// the sender, the server's own JID, which drops it. So this says
	// "offline, if the store accepted it", not "stored".
	OutcomeOffline = "offline"
	// Dropped: no resource could take it, and the message is not kept:
	// a headline (RFC 6121 §8.5.2.2.1), or a normal message while the
	// offline module is off.
	OutcomeDropped = "dropped"
)

// MessageResult answers POST /v1/messages.
type MessageResult struct {
	To      string `json:"to"` // prepared
	Type    string `json:"type"`
	ID      string `json:"id"` // the stanza's id
	Outcome string `json:"outcome"`
	// Resources is the number of sessions the message went to when it was
	// routed: the session of a full JID, or the resources of a bare JID
	// that take it (for a normal message those that share the highest
	// priority, RFC 6121 §8.5.2.1.1).
	Resources int `json:"resources"`
}

// AnnounceRequest is the body of POST /v1/sessions/announce: a message
// from the server to every bound session, each from its own host's
// domain JID.
type AnnounceRequest struct {
	Body    string `json:"body"`
	Subject string `json:"subject,omitempty"`
	Type    string `json:"type,omitempty"` // MessageNormal (the default) or MessageHeadline
}

// AnnounceResult answers an announcement with the number of sessions
// that took it (zero when nobody is connected).
type AnnounceResult struct {
	Type     string `json:"type"`
	Sessions int    `json:"sessions"`
}

// ImportResult answers POST /v1/import (a XEP-0227 document).
type ImportResult struct {
	Imported []string     `json:"imported"` // the accounts created, in document order
	Skipped  []ImportSkip `json:"skipped"`  // accounts left out, with why
	// Notes say what was not imported of an imported account (the data
	// of a module that is not enabled).
	Notes []string `json:"notes"`
}

// ImportSkip is an account an import left out.
type ImportSkip struct {
	JID    string `json:"jid"`
	Reason string `json:"reason"`
}
