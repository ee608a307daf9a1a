package admin

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"

	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/mod/roster"
	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/stanza"
)

// The roster endpoints change rosters through the roster module's
// Service, never its tables: a change is then stored with the next roster
// version, pushed to the account's interested resources and announced on
// roster.item_changed exactly as a client's roster set is, so a removal
// cancels the subscriptions both ways (the presence module, RFC 6121
// §2.5.2).

// rosterService returns the running roster module's service.
func (p *api) rosterService() (roster.Service, error) {
	rs, ok := module.Lookup[roster.Service](p.app.Registry())
	if !ok {
		return nil, &Error{Status: http.StatusNotImplemented, Message: "the roster module is not enabled (modules.roster)"}
	}
	return rs, nil
}

// contact parses a roster item's JID: a bare JID, local or remote.
func contact(s string) (jid.JID, error) {
	j, err := jid.Parse(s)
	if err != nil || !j.IsBare() {
		return jid.JID{}, badRequest("want a contact like user@host (a bare JID), got %q", s)
	}
	return j, nil
}

func (p *api) rosterList(w http.ResponseWriter, r *http.Request, _ *slog.Logger) error {
	rs, err := p.rosterService()
	if err != nil {
		return err
	}
	user, err := p.registered(r.Context(), r.PathValue("jid"))
	if err != nil {
		return err
	}
	items, err := rs.Items(r.Context(), user)
	if err != nil {
		return fmt.Errorf("admin: roster of %s: %w", user, err)
	}
	list := RosterList{JID: user.String(), Items: []RosterItem{}}
	for _, it := range items {
		list.Items = append(list.Items, rosterItem(it))
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (p *api) rosterPut(w http.ResponseWriter, r *http.Request, log *slog.Logger) error {
	rs, err := p.rosterService()
	if err != nil {
		return err
	}
	user, err := p.registered(r.Context(), r.PathValue("jid"))
	if err != nil {
		return err
	}
	c, err := contact(r.PathValue("contact"))
	if err != nil {
		return err
	}
	var req RosterItemRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	// The name and groups are pushed to the account's clients: text an
	// XML stream cannot carry would break their streams (the roster
	// module refuses it too; this names the character).
	if err := checkText("roster name", req.Name); err != nil {
		return err
	}
	for _, g := range req.Groups {
		if err := checkText("group name", g); err != nil {
			return err
		}
	}
	groups := slices.Clone(req.Groups)
	slices.Sort(groups)
	change := RosterAdded
	it, _, err := rs.Update(r.Context(), user, c, func(it *roster.Item, exists bool) bool {
		if exists {
			if it.Name == req.Name && slices.Equal(it.Groups, groups) {
				change = RosterUnchanged
				return false
			}
			change = RosterUpdated
		}
		// RFC 6121 §2.4: name and groups are replaced; the subscription
		// state stays the server's.
		it.Name, it.Groups = req.Name, req.Groups
		return true
	})
	if err != nil {
		return rosterError(err, user, c)
	}
	log.Info("roster item changed", "jid", user.String(), "contact", c.String(), "change", change)
	writeJSON(w, http.StatusOK, RosterResult{JID: user.String(), Item: rosterItem(it), Change: change})
	return nil
}

func (p *api) rosterDelete(w http.ResponseWriter, r *http.Request, log *slog.Logger) error {
	rs, err := p.rosterService()
	if err != nil {
		return err
	}
	user, err := p.registered(r.Context(), r.PathValue("jid"))
	if err != nil {
		return err
	}
	c, err := contact(r.PathValue("contact"))
	if err != nil {
		return err
	}
	if _, err := rs.Delete(r.Context(), user, c); err != nil {
		return rosterError(err, user, c)
	}
	log.Info("roster item changed", "jid", user.String(), "contact", c.String(), "change", RosterRemoved)
	writeJSON(w, http.StatusOK, RosterResult{JID: user.String(), Item: RosterItem{JID: c.String(), Groups: []string{}}, Change: RosterRemoved})
	return nil
}

// rosterError maps the roster module's failures to statuses: its item
// checks are the stanza errors a client's roster set would get (RFC 6121
// §2.3.3), whose text says what is wrong.
func rosterError(err error, user, c jid.JID) error {
	var se *stanza.Error
	switch {
	case errors.Is(err, roster.ErrNoItem):
		return &Error{Status: http.StatusNotFound, Message: fmt.Sprintf("%s is not in the roster of %s", c, user)}
	case errors.Is(err, roster.ErrFull):
		return &Error{Status: http.StatusConflict, Message: fmt.Sprintf("the roster of %s is full (modules.roster.max_items)", user)}
	case errors.As(err, &se):
		if se.Text != "" {
			return badRequest("%s", se.Text)
		}
		return badRequest("%s", se.Condition)
	}
	return fmt.Errorf("admin: roster of %s, item %s: %w", user, c, err)
}

func rosterItem(it roster.Item) RosterItem {
	out := RosterItem{
		JID:          it.JID.String(),
		Name:         it.Name,
		Subscription: string(it.Subscription),
		Approved:     it.Approved,
		Groups:       slices.Clone(it.Groups),
	}
	if out.Subscription == "" {
		out.Subscription = string(roster.None)
	}
	if it.Ask {
		out.Ask = "subscribe"
	}
	if out.Groups == nil {
		out.Groups = []string{}
	}
	return out
}
