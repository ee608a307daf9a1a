package register

import (
	"context"
	"errors"
	"strings"

	"github.com/parleyim/parley/internal/auth"
	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/stanza"
	"github.com/parleyim/parley/internal/xmlstream"
)

// The stanza errors of this module, each with the rule that asks for it.
var (
	// XEP-0077 §3.1: a host without in-band registration MUST answer the
	// form request with service-unavailable.
	errUnavailable = stanza.ErrServiceUnavailable.WithText("in-band registration is closed on this server")
	// RFC 6120 §8.3.3.11: no entity may create an account in-band here.
	errClosed = stanza.ErrNotAllowed.WithText("in-band registration is closed on this server")
	// XEP-0077 §3.3 (not-authorized: the channel is not safe enough for a
	// password), applied to registration too (§11).
	errInsecure = stanza.ErrNotAuthorized.WithText("passwords are accepted only on encrypted streams")
	// XEP-0077 §3.1: missing or empty fields MUST get not-acceptable.
	errIncomplete = stanza.ErrNotAcceptable.WithText("a username and a non-empty password are required")
	// RFC 6120 §8.3.3.8: the username cannot be a JID localpart.
	errUsername = stanza.ErrJIDMalformed.WithText("the username is not a valid JID localpart")
	// The password failed the PRECIS OpaqueString rules or is too long.
	errPassword = stanza.ErrNotAcceptable.WithText("the password is too long or has characters that are not allowed")
	// XEP-0077 §3.1: the username is taken.
	errConflict = stanza.ErrConflict.WithText("the username is already taken")
	// RFC 6120 §8.3.3.18, type wait: come back later. (XEP-0077 §3.1.1's
	// not-acceptable is for repeated attempts on one stream, and is
	// already the answer for missing fields.)
	errTooMany = stanza.ErrResourceConstraint.WithText("too many registrations from your address; try again later")
	// XEP-0077 §3.2: a remove request from an entity that is not
	// registered (has not authenticated).
	errNotRegistered = stanza.ErrUnexpectedRequest.WithText("authenticate before removing an account")
	// XEP-0077 §3.2: the account does not exist (any more).
	errUnknownUser = stanza.ErrRegistrationRequired.WithText("the account does not exist")
	// XEP-0077 §3.2: <remove/> must be the only child of <query/>.
	errRemoveAlone = stanza.ErrBadRequest.WithText("remove must be the only child of query")
	// XEP-0077 §3.3: a password change must name the account.
	errNoUsername = stanza.ErrBadRequest.WithText("a password change needs username and password")
	// XEP-0077 §3.3: an empty password MUST NOT replace the current one.
	errEmptyPassword = stanza.ErrBadRequest.WithText("the password is empty; it was not changed")
	// XEP-0077 §3.1.1: an authenticated entity may not register another
	// identity; a username other than its own is that.
	errOtherUser = stanza.ErrNotAcceptable.WithText("the username is not the account of this session")
)

type registrar struct {
	h            *module.Host
	open         bool
	instructions string
	limit        *limiter
}

// form answers the registration form request before authentication
// (XEP-0077 §3.1).
func (r *registrar) form(_ context.Context, iq *stanza.Stanza) (*stanza.Stanza, error) {
	if !r.open {
		return fail(iq, errUnavailable)
	}
	q := xmlstream.New(NS, "query")
	if r.instructions != "" {
		q.AddChild(xmlstream.New(NS, "instructions").AddText(r.instructions))
	}
	q.AddChild(xmlstream.New(NS, "username"))
	q.AddChild(xmlstream.New(NS, "password"))
	return stanza.Result(iq, q), nil
}

// create registers an account before authentication (XEP-0077 §3.1).
func (r *registrar) create(ctx context.Context, iq *stanza.Stanza) (*stanza.Stanza, error) {
	o := module.OriginFrom(ctx)
	if o == nil {
		return nil, errors.New("register: pre-auth IQ without an origin")
	}
	q := iq.Payload()
	if q.Child(NS, "remove") != nil {
		return fail(iq, errNotRegistered)
	}
	if !r.open {
		return fail(iq, errClosed)
	}
	if !safe(o) {
		return fail(iq, errInsecure)
	}
	username, password := field(q, "username"), field(q, "password")
	if username == "" || password == "" {
		return fail(iq, errIncomplete)
	}
	host, user, err := auth.Normalize(o.Host, username)
	if err != nil {
		return fail(iq, errUsername)
	}
	release, ok := r.limit.reserve(o.Addr.Addr())
	if !ok {
		r.h.Log().Debug("registration refused: rate limit", "addr", o.Addr.Addr().String())
		return fail(iq, errTooMany)
	}
	// Deriving SCRAM keys is the costly part of Register; a name that is
	// taken is turned away before it.
	exists, err := r.h.Accounts().Exists(ctx, host, user)
	if err == nil && exists {
		err = auth.ErrUserExists
	}
	if err == nil {
		err = r.h.Accounts().Register(ctx, host, user, password)
	}
	if err != nil {
		release()
		return accountErr(iq, err)
	}
	hook.Run(ctx, r.h.Hooks(), hook.UserRegistered, &hook.UserEvent{Host: host, Username: user})
	r.h.Log().Info("account registered", "user", user, "host", host, "addr", o.Addr.Addr().String())
	return stanza.Result(iq, nil), nil
}

// registration tells an authenticated user that they are registered
// (XEP-0077 §3.1: <registered/> and the data on file; the password is not
// kept, so <password/> is empty, which the XEP allows).
func (r *registrar) registration(_ context.Context, iq *stanza.Stanza) (*stanza.Stanza, error) {
	user, _, serr := r.account(iq)
	if serr != nil {
		return fail(iq, serr)
	}
	q := xmlstream.New(NS, "query")
	q.AddChild(xmlstream.New(NS, "registered"))
	q.AddChild(xmlstream.New(NS, "instructions").AddText("This account is registered. Send your username and a new password to change the password, or <remove/> to delete the account."))
	q.AddChild(xmlstream.New(NS, "username").AddText(user))
	q.AddChild(xmlstream.New(NS, "password"))
	return stanza.Result(iq, q), nil
}

// change handles an authenticated set: account removal (XEP-0077 §3.2) or
// password change (§3.3).
func (r *registrar) change(ctx context.Context, iq *stanza.Stanza) (*stanza.Stanza, error) {
	user, host, serr := r.account(iq)
	if serr != nil {
		return fail(iq, serr)
	}
	q := iq.Payload()
	if q.Child(NS, "remove") != nil {
		return r.remove(ctx, iq, q, host, user)
	}
	return r.password(ctx, iq, q, host, user)
}

// remove deletes the account of the sender (XEP-0077 §3.2).
func (r *registrar) remove(ctx context.Context, iq *stanza.Stanza, q *xmlstream.Element, host, user string) (*stanza.Stanza, error) {
	if len(q.Elements()) != 1 {
		return fail(iq, errRemoveAlone)
	}
	if err := r.h.Accounts().Remove(ctx, host, user); err != nil {
		return accountErr(iq, err)
	}
	// The result goes out before the sessions end, so the client learns
	// the removal succeeded; both travel through the session's queue in
	// order.
	if err := r.h.Router().Route(ctx, stanza.Result(iq, nil)); err != nil {
		r.h.Log().Debug("removal result not delivered", "user", user, "host", host, "err", err)
	}
	hook.Run(ctx, r.h.Hooks(), hook.UserRemoved, &hook.UserEvent{Host: host, Username: user})
	// XEP-0077 §3.2: a not-authorized stream error to every session of the
	// account.
	if s := r.h.Sessions(); s != nil {
		s.Kick(iq.From.Bare(), "not-authorized", "account removed")
	}
	r.h.Log().Info("account removed", "user", user, "host", host)
	return nil, nil
}

// password changes the password of the sender (XEP-0077 §3.3).
func (r *registrar) password(ctx context.Context, iq *stanza.Stanza, q *xmlstream.Element, host, user string) (*stanza.Stanza, error) {
	if q.Child(NS, "username") == nil {
		return fail(iq, errNoUsername)
	}
	if !sameUser(field(q, "username"), host, user) {
		return fail(iq, errOtherUser)
	}
	password := field(q, "password")
	if password == "" {
		return fail(iq, errEmptyPassword)
	}
	if o := module.OriginFrom(ctx); o != nil && !safe(o) {
		return fail(iq, errInsecure)
	}
	if err := r.h.Accounts().SetPassword(ctx, host, user, password); err != nil {
		return accountErr(iq, err)
	}
	r.h.Log().Info("password changed", "user", user, "host", host)
	return stanza.Result(iq, nil), nil
}

// account returns the local account an authenticated IQ speaks for. Only
// a local user may use these handlers, for their own account, at their own
// server; anything else is a service this server does not offer.
func (r *registrar) account(iq *stanza.Stanza) (user, host string, _ *stanza.Error) {
	from := iq.From
	if from.Local() == "" || !r.h.Router().IsLocal(from.Domain()) {
		return "", "", stanza.ErrServiceUnavailable
	}
	if iq.To.Local() != "" {
		if iq.To.Bare() != from.Bare() {
			return "", "", stanza.ErrServiceUnavailable
		}
	} else if iq.To.Domain() != from.Domain() {
		return "", "", stanza.ErrServiceUnavailable
	}
	return from.Local(), from.Domain(), nil
}

// sameUser reports whether a <username/> names the account: as a
// localpart ("bill") or a bare JID ("bill@shakespeare.lit", as in the
// data form examples of XEP-0077 §3.3).
func sameUser(given, host, user string) bool {
	if strings.Contains(given, "@") {
		j, err := jid.Parse(given)
		return err == nil && j.Resource() == "" && j.Domain() == host && j.Local() == user
	}
	_, u, err := auth.Normalize(host, given)
	return err == nil && u == user
}

// safe reports whether a password may travel on the stream: it is
// encrypted, or it never leaves the machine.
func safe(o *module.Origin) bool {
	return o.Secure || o.Addr.Addr().IsLoopback()
}

// field returns the text of a registration field.
func field(q *xmlstream.Element, name string) string {
	return q.ChildText(NS, name)
}

// accountErr maps an error of the account service to the reply, in one
// place (STYLE.md §5.3). Unknown errors are internal: the registry logs
// them with an ID and answers internal-server-error.
func accountErr(iq *stanza.Stanza, err error) (*stanza.Stanza, error) {
	switch {
	case errors.Is(err, auth.ErrUserExists):
		return fail(iq, errConflict)
	case errors.Is(err, auth.ErrInvalidUsername):
		return fail(iq, errUsername)
	case errors.Is(err, auth.ErrInvalidPassword):
		return fail(iq, errPassword)
	case errors.Is(err, auth.ErrUnknownUser):
		return fail(iq, errUnknownUser)
	}
	return nil, err
}

// fail builds the error reply to iq. The original payload is replaced by an
// empty query: it may hold a password, which XEP-0077 §3.3 says not to
// send back, and nothing in it helps the client.
func fail(iq *stanza.Stanza, e *stanza.Error) (*stanza.Stanza, error) {
	el := iq.El.ShallowCopy()
	el.Nodes = []xmlstream.Node{{El: xmlstream.New(NS, "query")}}
	return stanza.ErrorReply(&stanza.Stanza{El: el, From: iq.From, To: iq.To}, e), nil
}
