package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/parleyim/parley/internal/app"
	"github.com/parleyim/parley/internal/auth"
	"github.com/parleyim/parley/internal/jid"
)

// api holds the handlers; one value serves every listener.
type api struct {
	app *app.App
	log *slog.Logger
}

func newAPI(a *app.App, log *slog.Logger) *api { return &api{app: a, log: log} }

// handlerFunc is a handler that returns its failure, which fail maps to
// a status in one place. log is tagged with the listener the request came
// through ("unix", "http"), so that the audit lines of changes tell which
// door was used.
type handlerFunc func(w http.ResponseWriter, r *http.Request, log *slog.Logger) error

// handler returns the routes for the listener named via.
func (p *api) handler(via string) http.Handler {
	log := p.log.With("via", via)
	mux := http.NewServeMux()
	route := func(pattern string, h handlerFunc) {
		mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := h(w, r, log); err != nil {
				p.fail(w, r, log, err)
			}
		}))
	}
	route("GET /v1/status", p.status)
	route("GET /v1/users", p.users)
	route("POST /v1/users", p.register)
	route("DELETE /v1/users/{jid}", p.unregister)
	route("PUT /v1/users/{jid}/password", p.passwd)
	route("GET /v1/sessions", p.sessions)
	route("POST /v1/sessions/kick", p.kick)
	route("POST /v1/sessions/announce", p.announce)
	route("GET /v1/users/{jid}/roster", p.rosterList)
	route("PUT /v1/users/{jid}/roster/{contact}", p.rosterPut)
	route("DELETE /v1/users/{jid}/roster/{contact}", p.rosterDelete)
	route("POST /v1/messages", p.send)
	route("GET /v1/export", p.export)
	route("POST /v1/import", p.importDoc)
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, Error{Message: fmt.Sprintf("no endpoint %s %s", r.Method, r.URL.Path)})
	}))
	return mux
}

func (p *api) status(w http.ResponseWriter, r *http.Request, _ *slog.Logger) error {
	cfg := p.app.Config()
	up := p.app.Uptime()
	st := Status{
		Version:       app.Version,
		Started:       time.Now().Add(-up).UTC().Truncate(time.Second),
		UptimeSeconds: int64(up / time.Second),
		Modules:       p.app.LoadedModules(),
	}
	perHost := map[string]int{}
	for _, s := range p.app.Sessions() {
		perHost[s.JID.Domain()]++
		st.Sessions++
	}
	for _, h := range cfg.Hosts {
		n, err := p.app.Accounts.Count(r.Context(), h)
		if err != nil {
			return fmt.Errorf("admin: count users of %s: %w", h, err)
		}
		st.Hosts = append(st.Hosts, HostStatus{Host: h, Users: n, Sessions: perHost[h]})
	}
	if st.Modules == nil {
		st.Modules = []string{}
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (p *api) users(w http.ResponseWriter, r *http.Request, _ *slog.Logger) error {
	hosts := p.app.Config().Hosts
	if h := r.URL.Query().Get("host"); h != "" {
		d, err := p.host(h)
		if err != nil {
			return err
		}
		hosts = []string{d}
	}
	list := UserList{Users: []User{}}
	for _, h := range hosts {
		names, err := p.app.Accounts.List(r.Context(), h)
		if err != nil {
			return fmt.Errorf("admin: list users of %s: %w", h, err)
		}
		slices.Sort(names)
		for _, n := range names {
			list.Users = append(list.Users, User{User: n, Host: h})
		}
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (p *api) register(w http.ResponseWriter, r *http.Request, log *slog.Logger) error {
	var req RegisterRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	j, err := p.account(req.JID)
	if err != nil {
		return err
	}
	if req.Password == "" {
		return badRequest("the password is empty")
	}
	if err := p.app.RegisterUser(r.Context(), j.Domain(), j.Local(), req.Password); err != nil {
		return accountError(err, j)
	}
	log.Info("account registered", "jid", j.String())
	writeJSON(w, http.StatusCreated, AccountResult{JID: j.String()})
	return nil
}

func (p *api) unregister(w http.ResponseWriter, r *http.Request, log *slog.Logger) error {
	j, err := p.account(r.PathValue("jid"))
	if err != nil {
		return err
	}
	if err := p.app.RemoveUser(r.Context(), j.Domain(), j.Local()); err != nil {
		return accountError(err, j)
	}
	log.Info("account removed", "jid", j.String())
	writeJSON(w, http.StatusOK, AccountResult{JID: j.String()})
	return nil
}

func (p *api) passwd(w http.ResponseWriter, r *http.Request, log *slog.Logger) error {
	j, err := p.account(r.PathValue("jid"))
	if err != nil {
		return err
	}
	var req PasswordRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	if req.Password == "" {
		return badRequest("the password is empty")
	}
	if err := p.app.Accounts.SetPassword(r.Context(), j.Domain(), j.Local(), req.Password); err != nil {
		return accountError(err, j)
	}
	log.Info("account password changed", "jid", j.String())
	writeJSON(w, http.StatusOK, AccountResult{JID: j.String()})
	return nil
}

func (p *api) sessions(w http.ResponseWriter, r *http.Request, _ *slog.Logger) error {
	list := SessionList{Sessions: []Session{}}
	for _, s := range p.app.Sessions() {
		out := Session{
			JID:       s.JID.String(),
			Since:     s.Since.UTC(),
			Secure:    s.Secure,
			Available: s.Avail,
			Priority:  s.Priority,
		}
		if s.Addr.IsValid() {
			out.Address = s.Addr.String()
		}
		list.Sessions = append(list.Sessions, out)
	}
	slices.SortFunc(list.Sessions, func(a, b Session) int { return strings.Compare(a.JID, b.JID) })
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (p *api) kick(w http.ResponseWriter, r *http.Request, log *slog.Logger) error {
	var req KickRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	j, err := jid.Parse(req.JID)
	if err != nil || j.Local() == "" {
		return badRequest("want a JID like user@host or user@host/resource, got %q", req.JID)
	}
	if _, err := p.host(j.Domain()); err != nil {
		return err
	}
	n := p.app.Kick(j, req.Reason)
	if n == 0 {
		return &Error{Status: http.StatusNotFound, Message: fmt.Sprintf("%s has no session", j)}
	}
	log.Info("sessions kicked", "jid", j.String(), "sessions", n, "reason", req.Reason)
	writeJSON(w, http.StatusOK, KickResult{JID: j.String(), Kicked: n})
	return nil
}

// account parses a bare user@host JID of a served host.
func (p *api) account(s string) (jid.JID, error) {
	j, err := jid.Parse(s)
	if err != nil || j.Local() == "" || !j.IsBare() {
		return jid.JID{}, badRequest("want an account like user@host, got %q", s)
	}
	if _, err := p.host(j.Domain()); err != nil {
		return jid.JID{}, err
	}
	return j, nil
}

// registered parses a bare user@host JID of a registered account of a
// served host.
func (p *api) registered(ctx context.Context, s string) (jid.JID, error) {
	j, err := p.account(s)
	if err != nil {
		return jid.JID{}, err
	}
	ok, err := p.app.Accounts.Exists(ctx, j.Domain(), j.Local())
	if err != nil {
		return jid.JID{}, fmt.Errorf("admin: %s: %w", j, err)
	}
	if !ok {
		return jid.JID{}, accountError(auth.ErrUnknownUser, j)
	}
	return j, nil
}

// host returns the prepared form of a served domain.
func (p *api) host(h string) (string, error) {
	d, err := jid.New("", h, "")
	if err == nil && slices.Contains(p.app.Config().Hosts, d.Domain()) {
		return d.Domain(), nil
	}
	return "", &Error{Status: http.StatusNotFound, Message: fmt.Sprintf("%s is not a host of this server (hosts: %s)", h, strings.Join(p.app.Config().Hosts, ", "))}
}

// accountError maps the auth sentinels to statuses; anything else stays
// an internal error.
func accountError(err error, j jid.JID) error {
	switch {
	case errors.Is(err, auth.ErrUserExists):
		return &Error{Status: http.StatusConflict, Message: fmt.Sprintf("%s is already registered", j)}
	case errors.Is(err, auth.ErrUnknownUser):
		return &Error{Status: http.StatusNotFound, Message: fmt.Sprintf("%s is not registered", j)}
	case errors.Is(err, auth.ErrUnknownHost):
		return &Error{Status: http.StatusNotFound, Message: fmt.Sprintf("%s is not a host of this server", j.Domain())}
	case errors.Is(err, auth.ErrInvalidUsername), errors.Is(err, auth.ErrInvalidPassword):
		// "auth: invalid password: longer than 1024 bytes"; the auth
		// errors never contain the password itself.
		return badRequest("%s", strings.TrimPrefix(err.Error(), "auth: "))
	}
	return fmt.Errorf("admin: %s: %w", j, err)
}

func badRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

// fail writes err as the response. Internal errors are logged once, here,
// with an ID that the response carries too (STYLE.md §5.2), and their text
// does not leave the server.
func (p *api) fail(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var ae *Error
	if errors.As(err, &ae) {
		log.Debug("admin request refused", "method", r.Method, "path", r.URL.Path, "status", ae.Status, "err", ae.Message)
		writeJSON(w, ae.Status, ae)
		return
	}
	id := errorID()
	log.Error("admin request failed", "id", id, "method", r.Method, "path", r.URL.Path, "err", err)
	writeJSON(w, http.StatusInternalServerError, Error{Message: "internal error " + id + " (see the server log)"})
}

func errorID() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// readJSON decodes a small JSON body strictly: unknown fields and
// trailing data are errors. The body is never logged (it may hold a
// password).
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &Error{Status: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf("request body over %d bytes", mbe.Limit)}
		}
		return badRequest("invalid JSON body: %v", err)
	}
	if dec.More() {
		return badRequest("invalid JSON body: more than one value")
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away; nothing to do
}

// checkBearer reports whether the Authorization header carries the token
// whose SHA-256 is want. The scheme name is case-insensitive (RFC 6750
// §2.1, RFC 7235 §2.1). A header without the scheme is still hashed and
// compared, so it costs the same as a wrong token.
func checkBearer(header string, want [sha256.Size]byte) bool {
	scheme, tok, found := strings.Cut(header, " ")
	bearer := found && strings.EqualFold(scheme, "Bearer")
	got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1 && bearer
}
