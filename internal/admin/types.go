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
