package vcard

import (
	"context"
	"fmt"
	"strings"

	"github.com/parleyim/parley/internal/config"
	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/stanza"
	"github.com/parleyim/parley/internal/xmlstream"
)

type vcards struct {
	h       *module.Host
	store   store
	maxSize int
}

// own reports whether an IQ to an account comes from that account: no
// 'to' (the session addressed it to the bare JID) or the own bare JID.
func (v *vcards) own(iq *stanza.Stanza) bool {
	from := iq.From
	return from.Local() != "" && v.h.Router().IsLocal(from.Domain()) && iq.To.Bare() == from.Bare()
}

// get answers a vCard retrieval: the user's own (XEP-0054 §3.1) or
// another user's (§3.3).
func (v *vcards) get(ctx context.Context, iq *stanza.Stanza) (*stanza.Stanza, error) {
	user := iq.To.Bare()
	card, err := v.store.get(ctx, user)
	if err != nil {
		return nil, err
	}
	if card == nil {
		if !v.own(iq) {
			// §3.3: no vCard and no such user get the same error, and
			// since version 1.3 it is service-unavailable (the router
			// answers for accounts that do not exist).
			return nil, stanza.ErrServiceUnavailable
		}
		// §3.1: an empty vCard (the XEP's other choice is item-not-found).
		card = xmlstream.New(NS, "vCard")
	}
	return stanza.Result(iq, card), nil
}

// set replaces the user's own vCard (XEP-0054 §3.2).
func (v *vcards) set(ctx context.Context, iq *stanza.Stanza) (*stanza.Stanza, error) {
	if !v.own(iq) {
		// §3.2: "SHOULD be forbidden or not-allowed"; the example has
		// forbidden of type auth.
		return nil, stanza.ErrForbidden
	}
	user := iq.From.Bare()
	card := iq.Payload()
	if len(card.Elements()) == 0 && strings.TrimSpace(card.Text()) == "" {
		// Nothing to keep: an empty vCard is no vCard.
		if err := v.store.remove(ctx, user); err != nil {
			return nil, err
		}
		return stanza.Result(iq, nil), nil
	}
	b := encode(card)
	if len(b) > v.maxSize {
		// The XEP sets no limit; RFC 6120 §8.3.3.9: the request does not
		// meet the server's criteria.
		return nil, stanza.ErrNotAcceptable.WithText(fmt.Sprintf("vCard larger than %s", config.Size(v.maxSize)))
	}
	if err := v.store.put(ctx, user, b); err != nil {
		return nil, err
	}
	return stanza.Result(iq, nil), nil
}
