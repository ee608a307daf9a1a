package admin

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/router"
	"github.com/parleyim/parley/internal/stanza"
	"github.com/parleyim/parley/internal/xmlstream"
)

// Messages from the server come from its domain JID and are routed like
// any stanza (RFC 6121 §8.5), so the router's rules decide who gets them:
// a normal message to an account without a resource that takes messages
// goes to offline storage, a headline is dropped (§8.5.2.2.1).
//
// The default type is normal, not chat: a server notice is a standalone
// message outside any conversation (RFC 6121 §5.2.2), and clients show a
// chat message as a conversation with the domain that nobody answers.
// Normal, not headline, because every client shows a normal message and
// offline storage keeps it, while some clients hide headlines. Headline
// (--headline) is what the announcement commands of ejabberd
// (mod_announce) and Prosody (mod_announce) send: a notice for whoever is
// online now, never stored. ejabberdctl send_message takes the type as a
// required argument.

// messageType checks the requested type; "" is normal.
func messageType(t string) (string, error) {
	switch t {
	case "", MessageNormal:
		return MessageNormal, nil
	case MessageHeadline:
		return MessageHeadline, nil
	}
	return "", badRequest("want the message type %s or %s, got %q", MessageNormal, MessageHeadline, t)
}

// checkText refuses text that an XML stream cannot carry (RFC 6120
// §11.1: XML 1.0 characters only); what names it in the error.
func checkText(what, s string) error {
	if !utf8.ValidString(s) {
		return badRequest("the %s is not valid UTF-8", what)
	}
	for _, r := range s {
		if !isXMLChar(r) {
			return badRequest("the %s holds the character U+%04X, which XML cannot carry", what, r)
		}
	}
	return nil
}

// isXMLChar is the Char production of XML 1.0.
func isXMLChar(r rune) bool {
	switch {
	case r < 0x20:
		return r == '\t' || r == '\n' || r == '\r'
	case r <= 0xD7FF:
		return true
	case r < 0xE000:
		return false
	case r <= 0xFFFD:
		return true
	default:
		return r >= 0x10000 && r <= utf8.MaxRune
	}
}

// checkMessage validates what every server message carries and returns
// the message type.
func checkMessage(typ, subject, body string) (string, error) {
	t, err := messageType(typ)
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(body) == "" {
		return "", badRequest("the message text is empty")
	}
	if err := checkText("message text", body); err != nil {
		return "", err
	}
	if err := checkText("subject", subject); err != nil {
		return "", err
	}
	return t, nil
}

// newMessage builds a message from the domain of to's host.
func newMessage(to jid.JID, typ, subject, body string) (*stanza.Stanza, error) {
	from, err := jid.New("", to.Domain(), "")
	if err != nil {
		return nil, err
	}
	el := xmlstream.New(ns.Client, stanza.Message, "type", typ, "id", messageID())
	if subject != "" {
		el.AddChild(xmlstream.New(ns.Client, "subject").AddText(subject))
	}
	el.AddChild(xmlstream.New(ns.Client, "body").AddText(body))
	return stanza.New(el, from, to), nil
}

func messageID() string {
	var b [8]byte
	rand.Read(b[:])
	return "admin-" + hex.EncodeToString(b[:])
}

// checkSize refuses a stanza larger than the server accepts from clients
// (limits.max_stanza_size): a client may not take more.
func (p *api) checkSize(st *stanza.Stanza) error {
	max := int(p.app.Config().Limits.MaxStanzaSize)
	if n := len(st.El.String()); max > 0 && n > max {
		return badRequest("the message is %d bytes, over limits.max_stanza_size (%d)", n, max)
	}
	return nil
}

func (p *api) send(w http.ResponseWriter, r *http.Request, log *slog.Logger) error {
	var req MessageRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	typ, err := checkMessage(req.Type, req.Subject, req.Body)
	if err != nil {
		return err
	}
	to, err := jid.Parse(req.To)
	if err != nil || to.Local() == "" {
		return badRequest("want a JID like user@host or user@host/resource, got %q", req.To)
	}
	if _, err := p.registered(r.Context(), to.Bare().String()); err != nil {
		return err
	}
	st, err := newMessage(to, typ, req.Subject, req.Body)
	if err != nil {
		return fmt.Errorf("admin: message to %s: %w", to, err)
	}
	if err := p.checkSize(st); err != nil {
		return err
	}
	n := p.takers(to, typ)
	switch err := p.app.Route(r.Context(), st); {
	case errors.Is(err, router.ErrResourceGone):
		return &Error{Status: http.StatusNotFound, Message: fmt.Sprintf("%s has no session", to)}
	case errors.Is(err, router.ErrNoSuchUser):
		return &Error{Status: http.StatusNotFound, Message: fmt.Sprintf("%s is not registered", to.Bare())}
	case err != nil:
		return fmt.Errorf("admin: message to %s: %w", to, err)
	}
	res := MessageResult{To: to.String(), Type: typ, ID: st.ID(), Outcome: OutcomeDelivered, Resources: n}
	if n == 0 {
		res.Outcome = OutcomeDropped
		// The offline module is the listener of message.undelivered that
		// keeps normal messages. Whether it kept this one cannot be told
		// from here: Route returns nil either way, and a refusal (a full
		// store, a failed write) is an error stanza to the server's own
		// JID, which drops it. OutcomeOffline says so.
		if typ == MessageNormal && slices.Contains(p.app.LoadedModules(), "offline") {
			res.Outcome = OutcomeOffline
		}
	}
	// The text is the users' business, not the log's.
	log.Info("message sent", "to", res.To, "type", typ, "id", res.ID, "outcome", res.Outcome, "resources", n)
	writeJSON(w, http.StatusOK, res)
	return nil
}

// takers returns how many sessions the router gives a message of type
// typ to (RFC 6121 §8.5): the session of a full JID (Route says if it is
// gone); for a bare JID the available resources with a non-negative
// priority, all of them for a headline and those sharing the highest
// priority for a normal message, as the router chooses them.
func (p *api) takers(to jid.JID, typ string) int {
	if !to.IsBare() {
		return 1
	}
	best, n := -1, 0
	for _, s := range p.app.Sessions() {
		if s.JID.Bare() != to || !s.Avail || s.Priority < 0 {
			continue
		}
		switch {
		case typ == MessageHeadline:
			n++
		case s.Priority > best:
			best, n = s.Priority, 1
		case s.Priority == best:
			n++
		}
	}
	return n
}

func (p *api) announce(w http.ResponseWriter, r *http.Request, log *slog.Logger) error {
	var req AnnounceRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	typ, err := checkMessage(req.Type, req.Subject, req.Body)
	if err != nil {
		return err
	}
	// Every message is built and checked before the first is sent, so a
	// refused announcement reaches nobody.
	var msgs []*stanza.Stanza
	for _, s := range p.app.Sessions() {
		st, err := newMessage(s.JID, typ, req.Subject, req.Body)
		if err != nil {
			return fmt.Errorf("admin: announcement to %s: %w", s.JID, err)
		}
		if err := p.checkSize(st); err != nil {
			return err
		}
		msgs = append(msgs, st)
	}
	res := AnnounceResult{Type: typ}
	for _, st := range msgs {
		// A full JID: delivered to its session whatever its presence
		// (RFC 6121 §8.5.3.1), or gone since the list was taken.
		switch err := p.app.Route(r.Context(), st); {
		case err == nil:
			res.Sessions++
		case !errors.Is(err, router.ErrResourceGone):
			log.Warn("announcement not routed", "to", st.To.String(), "err", err)
		}
	}
	log.Info("announcement sent", "type", typ, "sessions", res.Sessions)
	writeJSON(w, http.StatusOK, res)
	return nil
}
