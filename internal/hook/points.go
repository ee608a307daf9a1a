package hook

import (
	"net/netip"

	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/stanza"
)

// SessionEvent describes a client session.
type SessionEvent struct {
	JID    jid.JID        // full JID once bound
	Addr   netip.AddrPort // client address
	Reason string         // SessionClosed: the stream error condition, or "" for a clean close
}

// StanzaEvent carries a stanza through a filter. A listener that changes the
// stanza sets Stanza to a new value; it never mutates the one it was given.
type StanzaEvent struct {
	Stanza  *stanza.Stanza
	Session jid.JID // the local session's full JID the stanza comes from or goes to
}

// UserEvent names an account.
type UserEvent struct {
	Host     string
	Username string
}

// RosterEvent describes a change to one item of a user's roster (RFC 6121
// §2), after it was stored and pushed to the user's interested resources.
type RosterEvent struct {
	User    jid.JID // the roster's owner (bare)
	Contact jid.JID // the item's JID (bare)
	Version int64   // the roster version the change produced
	// Removed: the item was deleted (a roster set with
	// subscription='remove', or roster.Service.Delete).
	Removed bool
	// OldSubscription ("none", "to", "from", "both"; "" when the item is
	// new) and OldAsk (a subscription request was pending out) are the
	// item's state before the change: what a listener needs to cancel
	// subscriptions when a user removes a contact (RFC 6121 §2.5.2).
	OldSubscription string
	OldAsk          bool
	// Client is the full JID of the resource whose roster set made the
	// change; zero when a module made it through roster.Service.
	Client jid.JID
}

// The declared points. Each comment says who fires it, when, and on which
// goroutine.
var (
	// SessionBound (Notify) is fired by the c2s session on its reader
	// goroutine right after resource binding succeeded and the session
	// entered the router table.
	SessionBound = &Point[SessionEvent]{Name: "session.bound", Kind: Notify}
	// SessionClosed (Notify) is fired by the c2s session on its reader
	// goroutine after a bound session left the router table, whatever the
	// cause (clean close, stream error, dead TCP connection, replacement).
	SessionClosed = &Point[SessionEvent]{Name: "session.closed", Kind: Notify}
	// SessionAvailable (Notify) is fired by the c2s session on its
	// processor goroutine (the one that handles the client's stanzas in
	// order) when the client's initial presence (RFC 6121 §4.2: no 'to',
	// no type, while the session was not available) has been through the
	// stanza.in filters, so after the presence module broadcast it. The
	// offline module delivers stored messages here (XEP-0160: on the next
	// available presence). It fires again after the client sent unavailable
	// presence and then available presence once more.
	SessionAvailable = &Point[SessionEvent]{Name: "session.available", Kind: Notify}
	// SessionIdle (Notify) is fired by the c2s session, on its processor
	// goroutine, when nothing was read for the idle timeout; listeners may probe the client (XEP-0199
	// ping). If nothing arrives within the same timeout again, the session
	// closes with connection-timeout.
	SessionIdle = &Point[SessionEvent]{Name: "session.idle", Kind: Notify}
	// StanzaIn (Filter) is fired by the c2s session for every stanza from
	// its client, after stamping 'from' and before routing (ejabberd
	// user_send_packet). Handled means a listener dealt with it.
	StanzaIn = &Point[StanzaEvent]{Name: "stanza.in", Kind: Filter}
	// StanzaOut (Filter) is fired by the router before a stanza is queued
	// to a local session (ejabberd user_receive_packet). Drop discards it.
	StanzaOut = &Point[StanzaEvent]{Name: "stanza.out", Kind: Filter}
	// PresenceIn (Filter) is fired by the router for a presence stanza
	// addressed to the bare JID of a local account — which may not exist —
	// before the rules of RFC 6121 §8.5.1 and §8.5.2 run; subscription
	// stanzas and probes to a full JID arrive here readdressed to the bare
	// JID (§3.1.3, §4.3). It runs on
	// the routing goroutine (usually the sender's session reader). It is
	// the inbound side of RFC 6121 §3 and §4.3: the presence module
	// processes subscription requests, answers and probes here on the
	// recipient's behalf. Handled means a listener took care of the stanza
	// (delivered, stored or dropped it); Continue lets the router deliver
	// it; Drop discards it.
	PresenceIn = &Point[StanzaEvent]{Name: "presence.in", Kind: Filter}
	// MessageUndelivered (Filter) is fired by the router when RFC 6121
	// §8.5 says a message to an existing local user has no session to go to
	// and may be stored, and by a c2s session that ended with messages
	// still queued, with Session set to that session's full JID. Handled
	// means stored; otherwise the router bounces service-unavailable where
	// the RFC asks for it.
	MessageUndelivered = &Point[StanzaEvent]{Name: "message.undelivered", Kind: Filter}
	// UserRegistered (Notify) is fired after an account was created.
	UserRegistered = &Point[UserEvent]{Name: "user.registered", Kind: Notify}
	// UserRemoved (Notify) is fired after an account was deleted; every
	// module deletes its own data for the user. Listeners must be idempotent.
	UserRemoved = &Point[UserEvent]{Name: "user.removed", Kind: Notify}
	// RosterItemChanged (Notify) is fired by the roster module after an
	// item was added, updated or removed, stored and pushed, on the
	// goroutine that made the change (the session reader of a roster set,
	// or the caller of roster.Service), with no roster lock held. The
	// presence module listens to send the unsubscribe and unsubscribed
	// that RFC 6121 §2.5.2 asks for when a user removes a contact.
	RosterItemChanged = &Point[RosterEvent]{Name: "roster.item_changed", Kind: Notify}
)
