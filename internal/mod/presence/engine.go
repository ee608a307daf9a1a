package presence

import "github.com/parleyim/parley/internal/mod/roster"

// State is the subscription state of one contact in a user's account, as
// RFC 6121 Appendix A names them: the subscription of the roster item, its
// "Pending Out" (ask) and "Pending In" sub-states, and a pre-approval
// (§3.4). The zero value is "None" with no roster item.
type State struct {
	Sub      roster.Subscription // "" or None, To, From, Both
	Out      bool                // Pending Out: the user asked to subscribe
	In       bool                // Pending In: the contact asked to subscribe
	Approved bool                // the user pre-approved the contact's request
}

func (s State) sub() roster.Subscription {
	if s.Sub == "" {
		return roster.None
	}
	return s.Sub
}

// hasTo and hasFrom report the two directions of a subscription.
func (s State) hasTo() bool   { return s.sub() == roster.To || s.sub() == roster.Both }
func (s State) hasFrom() bool { return s.sub() == roster.From || s.sub() == roster.Both }

func with(to, from bool) roster.Subscription {
	switch {
	case to && from:
		return roster.Both
	case to:
		return roster.To
	case from:
		return roster.From
	}
	return roster.None
}

// Outbound applies a subscription stanza the user sends to the contact
// (RFC 6121 Appendix A.2; §3.1.2, §3.2.2, §3.3.2 and §3.4) and reports
// whether the user's server routes it on. typ is subscribe, subscribed,
// unsubscribe or unsubscribed.
func Outbound(typ string, s State) (next State, route bool) {
	next = s
	next.Sub = s.sub()
	switch typ {
	case "subscribe":
		// A.2.1: the request is routed in every state; without a
		// subscription to the contact it becomes Pending Out.
		if !s.hasTo() {
			next.Out = true
		}
		return next, true
	case "unsubscribe":
		// A.2.2: routed in every state; the subscription to the contact
		// and any request for it end.
		next.Out = false
		next.Sub = with(false, s.hasFrom())
		return next, true
	case "subscribed":
		// A.2.3: approving a pending request makes the contact a
		// subscriber and is routed; with no request pending it is a
		// pre-approval (§3.4), kept here and not routed; a contact who is
		// already subscribed changes nothing.
		if s.In {
			next.In = false
			next.Approved = false
			next.Sub = with(s.hasTo(), true)
			return next, true
		}
		if !s.hasFrom() {
			next.Approved = true
		}
		return next, false
	case "unsubscribed":
		// A.2.4: cancels the contact's subscription or denies its
		// request, routed when one of those was there to undo; §3.2.2
		// item 2: withdrawing a pre-approval is kept here, not routed.
		route = s.In || s.hasFrom()
		next.In = false
		next.Approved = false
		next.Sub = with(s.hasTo(), false)
		return next, route
	}
	return s, false
}

// InboundAction is what the user's server does with a subscription
// stanza from the contact.
type InboundAction int

const (
	// Ignore: the stanza is dropped and the user's state stays as it was.
	Ignore InboundAction = iota
	// Deliver: the stanza goes to the user's available resources.
	Deliver
	// AutoReply: the server answers 'subscribed' for the user, who
	// already approved (an existing subscription or a pre-approval),
	// and delivers nothing.
	AutoReply
)

// Inbound applies a subscription stanza the contact sends to the user
// (RFC 6121 Appendix A.3; §3.1.3, §3.1.6, §3.2.3, §3.3.3).
func Inbound(typ string, s State) (next State, act InboundAction) {
	next = s
	next.Sub = s.sub()
	switch typ {
	case "subscribe":
		// A.3.1: a contact already subscribed, or pre-approved (§3.4),
		// gets 'subscribed' from the server; otherwise the request is
		// Pending In and delivered.
		if s.hasFrom() {
			return next, AutoReply
		}
		if s.Approved {
			next.Approved = false
			next.In = false
			next.Sub = with(s.hasTo(), true)
			return next, AutoReply
		}
		if s.In {
			// A request already pending is not delivered again (it is,
			// from storage, at the user's next login, §3.1.3).
			return next, Ignore
		}
		next.In = true
		return next, Deliver
	case "unsubscribe":
		// A.3.2: the contact ends its subscription to the user, or
		// withdraws its request.
		if !s.hasFrom() && !s.In {
			return next, Ignore
		}
		next.In = false
		next.Sub = with(s.hasTo(), false)
		return next, Deliver
	case "subscribed":
		// A.3.3: only an answer to the user's own pending request counts.
		if !s.Out {
			return next, Ignore
		}
		next.Out = false
		next.Sub = with(true, s.hasFrom())
		return next, Deliver
	case "unsubscribed":
		// A.3.4: the contact cancels the user's subscription or denies
		// the user's request.
		if !s.hasTo() && !s.Out {
			return next, Ignore
		}
		next.Out = false
		next.Sub = with(false, s.hasFrom())
		return next, Deliver
	}
	return s, Ignore
}

// itemState is the part of State kept in the roster item.
func (s State) itemState() (roster.Subscription, bool, bool) {
	return s.sub(), s.Out, s.Approved
}

// empty reports whether s needs no roster item: none, nothing pending out,
// no pre-approval. (Pending In is kept outside the roster.)
func (s State) empty() bool {
	return s.sub() == roster.None && !s.Out && !s.Approved
}
