package router

import (
	"context"
	"errors"
	"slices"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/stanza"
	"github.com/parleyim/parley/internal/storage"
)

// failure is the error a sender gets when routing failed on err: a
// temporary internal-server-error when the database is unavailable (the
// sender may retry, RFC 6120 §8.3.2), else internal-server-error.
func failure(err error) *stanza.Error {
	if errors.Is(err, storage.ErrUnavailable) {
		return stanza.ErrTemporaryFailure
	}
	return stanza.ErrInternalServerError
}

// Route delivers st by its 'to' address. The sender's session has stamped
// 'from'; a stanza without 'to' has already been addressed by the session
// (RFC 6120 §10.3). Errors owed to the sender are routed back as error
// stanzas here; Route returns an error only for the caller's information.
func (r *Router) Route(ctx context.Context, st *stanza.Stanza) error {
	to := st.To
	if !r.hosts[to.Domain()] {
		// RFC 6120 §10.4: a domain we do not serve.
		if r.remote != nil {
			return r.remote.RouteRemote(ctx, st)
		}
		r.Bounce(ctx, st, stanza.ErrRemoteServerNotFound)
		return ErrRemoteNotFound
	}
	switch {
	case to.Local() == "" && to.Resource() == "":
		return r.toServer(ctx, st)
	case to.Local() == "":
		// A resource of the server itself: nothing lives there.
		r.Bounce(ctx, st, stanza.ErrServiceUnavailable)
		return nil
	case to.Resource() == "":
		return r.toBare(ctx, st)
	default:
		return r.toFull(ctx, st)
	}
}

// toServer handles stanzas addressed to the domain (RFC 6120 §10.5.1).
func (r *Router) toServer(ctx context.Context, st *stanza.Stanza) error {
	if st.IsIQ() {
		return r.dispatchIQ(ctx, st, false)
	}
	// Messages and presence to the server are for modules that hook them;
	// with none, the server has nothing to do with them and ignores them.
	return nil
}

func (r *Router) dispatchIQ(ctx context.Context, st *stanza.Stanza, account bool) error {
	if r.dispatch != nil && r.dispatch.DispatchIQ(ctx, st, account) {
		return nil
	}
	// RFC 6120 §8.2.3 and §8.4: a request nobody handles gets
	// service-unavailable; results and errors are dropped.
	if st.IsRequest() {
		r.Bounce(ctx, st, stanza.ErrServiceUnavailable)
	}
	return nil
}

func (r *Router) userExists(ctx context.Context, j jid.JID) (bool, error) {
	if len(r.Sessions(j)) > 0 {
		return true, nil
	}
	if r.users == nil {
		return false, nil
	}
	return r.users.UserExists(ctx, j.Domain(), j.Local())
}

// toBare applies RFC 6121 §8.5.1 and §8.5.2.
func (r *Router) toBare(ctx context.Context, st *stanza.Stanza) error {
	if st.IsIQ() {
		// RFC 6121 §8.5.2.1.3 / §8.5.2.2.3: the server answers on the
		// user's behalf. An IQ to a user who does not exist gets
		// service-unavailable too (§8.5.1).
		ok, err := r.userExists(ctx, st.To)
		if err != nil {
			r.Bounce(ctx, st, failure(err))
			return err
		}
		if !ok {
			if st.IsRequest() {
				r.Bounce(ctx, st, stanza.ErrServiceUnavailable)
			}
			return ErrNoSuchUser
		}
		return r.dispatchIQ(ctx, st, true)
	}
	if st.IsPresence() {
		// RFC 6121 §3 and §4.3: subscription stanzas and probes are
		// processed on the recipient's behalf by the presence module.
		ev := &hook.StanzaEvent{Stanza: st}
		if hook.Run(ctx, r.hooks, hook.PresenceIn, ev) != hook.Continue {
			return nil
		}
		st = ev.Stanza
	}
	sessions := r.Sessions(st.To)
	if len(sessions) == 0 {
		ok, err := r.userExists(ctx, st.To)
		if err != nil {
			if st.IsMessage() {
				r.Bounce(ctx, st, failure(err))
			}
			return err
		}
		if !ok {
			// RFC 6121 §8.5.1: no such account. Messages get
			// service-unavailable, presence is ignored.
			if st.IsMessage() {
				r.Bounce(ctx, st, stanza.ErrServiceUnavailable)
			}
			return ErrNoSuchUser
		}
	}
	if st.IsPresence() {
		if st.Type() == "probe" {
			// RFC 6121 §4.3.2: the server answers a probe for the user; a
			// client never sees one. No module did, so it is ignored.
			return nil
		}
		// RFC 6121 §8.5.2.1.2 / §8.5.2.2.2: presence goes to every
		// available resource (subscription handling belongs to the presence
		// module, which sees it before the router).
		for _, s := range sessions {
			if s.Available() {
				r.deliver(ctx, s, st.WithTo(s.JID()))
			}
		}
		return nil
	}
	return r.messageToBare(ctx, st, sessions)
}

// messageToBare applies RFC 6121 §8.5.2 to a message for an existing
// account: sessions are the account's resources that may take it.
func (r *Router) messageToBare(ctx context.Context, st *stanza.Stanza, sessions []Session) error {
	switch st.Type() {
	case "error":
		// §8.5.2.1.1 and §8.5.2.2.1: an error message to a bare JID is
		// silently ignored, whatever resources are online.
		return nil
	case "groupchat":
		// §8.5.2.1.1 and §8.5.2.2.1: there is no user-level groupchat; the
		// server returns an error and delivers to no resource.
		r.Bounce(ctx, st, stanza.ErrServiceUnavailable)
		return nil
	case "headline":
		// §8.5.2.1.1: to every resource with non-negative priority;
		// §8.5.2.2.1: with none, silently ignored.
		r.deliverPriority(ctx, st, sessions, true)
		return nil
	default: // normal, chat, and unknown types treated as normal (RFC 6121 §5.2.2)
		// §8.5.2.1.1: to the "most available" resources. Parley takes
		// those sharing the highest non-negative priority, as ejabberd and
		// Prosody do; the RFC lets the server choose.
		if r.deliverPriority(ctx, st, sessions, false) {
			return nil
		}
		// §8.5.2.1.1 (negative priorities only) and §8.5.2.2.1: no
		// resource may take it — store it offline or bounce.
		return r.undeliverable(ctx, st)
	}
}

func (r *Router) undeliverable(ctx context.Context, st *stanza.Stanza) error {
	ev := &hook.StanzaEvent{Stanza: st}
	if hook.Run(ctx, r.hooks, hook.MessageUndelivered, ev) == hook.Handled {
		return nil
	}
	r.Bounce(ctx, st, stanza.ErrServiceUnavailable)
	return nil
}

// deliverPriority delivers st to the available resources with
// non-negative priority (RFC 6121 §8.5.2.1.1: never to a negative one):
// to all of them if all is set, else to those sharing the highest
// priority. A resource that refuses the stanza (its session is closing)
// counts as gone: if every resource of the highest priority refused it,
// the next priority down gets it. It reports whether some resource took
// st.
func (r *Router) deliverPriority(ctx context.Context, st *stanza.Stanza, sessions []Session, all bool) bool {
	var refused []Session
	for {
		best := -1
		for _, s := range sessions {
			if s.Available() && s.Priority() >= 0 && s.Priority() > best && !slices.Contains(refused, s) {
				best = s.Priority()
			}
		}
		if best < 0 {
			return false
		}
		took := false
		for _, s := range sessions {
			if !s.Available() || s.Priority() < 0 || slices.Contains(refused, s) {
				continue
			}
			if !all && s.Priority() != best {
				continue
			}
			if r.deliver(ctx, s, st) {
				took = true
			} else {
				refused = append(refused, s)
			}
		}
		if took || all {
			return took
		}
	}
}

// toFull applies RFC 6121 §8.5.3.
func (r *Router) toFull(ctx context.Context, st *stanza.Stanza) error {
	if st.IsPresence() {
		switch st.Type() {
		case "subscribe", "subscribed", "unsubscribe", "unsubscribed", "probe":
			// RFC 6121 §3.1.3 (and the other subscription sections) and
			// §4.3: the server handles these for the account, whatever
			// resource they name, as if sent to the bare JID.
			return r.toBare(ctx, st.WithTo(st.To.Bare()))
		}
	}
	s := r.Session(st.To)
	if s != nil && r.deliver(ctx, s, st) {
		// §8.5.3.1: an available or connected resource matches; deliver
		// whatever it is.
		return nil
	}
	// §8.5.3.2: no resource matches — or the one that does is closing and
	// refused the stanza, which comes to the same.
	switch {
	case st.IsIQ():
		// §8.5.3.2.3 (and §8.5.1 for an account that does not exist).
		if st.IsRequest() {
			r.Bounce(ctx, st, stanza.ErrServiceUnavailable)
		}
		return ErrResourceGone
	case st.IsPresence():
		// §8.5.3.2.2: available and unavailable presence to a resource
		// that is not online is ignored (subscription stanzas and probes
		// went to the bare JID above).
		return ErrResourceGone
	}
	switch st.Type() {
	case "chat":
		// §8.5.3.2.1: a chat message is handled as if addressed to the
		// bare JID (most available resources, else offline storage or
		// service-unavailable). The 'to' attribute keeps the full JID, as
		// the client addressed it.
		ok, err := r.userExists(ctx, st.To)
		if err != nil {
			r.Bounce(ctx, st, failure(err))
			return err
		}
		if !ok {
			// §8.5.1: no such account.
			r.Bounce(ctx, st, stanza.ErrServiceUnavailable)
			return ErrNoSuchUser
		}
		sessions := r.Sessions(st.To)
		if s != nil {
			sessions = slices.DeleteFunc(slices.Clone(sessions), func(o Session) bool { return o == s })
		}
		return r.messageToBare(ctx, st, sessions)
	case "headline", "error":
		// §8.5.3.2.1: a headline is ignored or bounced (Parley ignores
		// it, as for a bare JID in §8.5.2.2.1); an error is ignored.
		return ErrResourceGone
	default:
		// §8.5.3.2.1: normal (and unknown types, RFC 6121 §5.2.2) and
		// groupchat are ignored or bounced; Parley bounces, so that the
		// sender learns the resource is gone. Unlike chat, they are not
		// redirected to the bare JID.
		r.Bounce(ctx, st, stanza.ErrServiceUnavailable)
		return ErrResourceGone
	}
}

// Deliver hands st to the local session bound to st.To (a full JID)
// through the stanza.out filters, without the delivery rules of RFC 6121
// §8.5: modules use it for what the server delivers on a user's behalf to
// one session. It returns ErrResourceGone when no such session takes st.
func (r *Router) Deliver(ctx context.Context, st *stanza.Stanza) error {
	s := r.Session(st.To)
	if s == nil || !r.deliver(ctx, s, st) {
		return ErrResourceGone
	}
	return nil
}

// deliver hands st to a local session through the stanza.out filter. It
// reports false only when the session refused st (it is closing, or its
// queue is full); a stanza a filter dropped or handled counts as
// delivered, the filter having decided its fate.
func (r *Router) deliver(ctx context.Context, s Session, st *stanza.Stanza) bool {
	ev := &hook.StanzaEvent{Stanza: st, Session: s.JID()}
	if hook.Run(ctx, r.hooks, hook.StanzaOut, ev) != hook.Continue {
		return true
	}
	if !s.Deliver(ev.Stanza) {
		r.log.Debug("delivery to closing session failed", "to", s.JID().String())
		return false
	}
	return true
}

// Bounce routes the error reply for st back to its sender, unless st is
// itself an error or an IQ result (RFC 6120 §8.3.1: never answer an error
// with an error).
func (r *Router) Bounce(ctx context.Context, st *stanza.Stanza, e *stanza.Error) {
	t := st.Type()
	if t == "error" || (st.IsIQ() && t == "result") || st.From.IsZero() {
		return
	}
	reply := stanza.ErrorReply(st, e)
	if err := r.Route(ctx, reply); err != nil {
		r.log.Debug("bounce not delivered", "to", reply.To.String(), "err", err)
	}
}
