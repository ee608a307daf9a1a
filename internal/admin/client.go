package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
)

// ErrNoServer is wrapped by Client errors when nothing accepts connections
// on the socket: the file is missing or left by a server that is gone.
var ErrNoServer = errors.New("admin: no server answering")

// Client calls the admin API over the unix socket; `parley ctl` is built
// on it. API failures are *Error values carrying the HTTP status.
type Client struct {
	socket string
	hc     *http.Client
}

// NewClient returns a client for the admin socket at path.
func NewClient(socket string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		DisableKeepAlives: true, // one command, one or two requests
	}
	return &Client{
		socket: socket,
		hc: &http.Client{
			Transport: tr,
			// The API never redirects; following one would change the method.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// Socket returns the socket path the client talks to.
func (c *Client) Socket() string { return c.socket }

// Status returns the server's status.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var st Status
	if err := c.do(ctx, http.MethodGet, "/v1/status", nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// Users lists the accounts of host, or of every host when host is "".
func (c *Client) Users(ctx context.Context, host string) ([]User, error) {
	p := "/v1/users"
	if host != "" {
		p += "?" + url.Values{"host": {host}}.Encode()
	}
	var l UserList
	err := c.do(ctx, http.MethodGet, p, nil, &l)
	return l.Users, err
}

// Register creates the account user@host and returns its prepared JID.
func (c *Client) Register(ctx context.Context, account, password string) (string, error) {
	var res AccountResult
	err := c.do(ctx, http.MethodPost, "/v1/users", RegisterRequest{JID: account, Password: password}, &res)
	return res.JID, err
}

// Unregister deletes the account user@host, which also closes its sessions.
func (c *Client) Unregister(ctx context.Context, account string) (string, error) {
	p, err := accountPath(account)
	if err != nil {
		return "", err
	}
	var res AccountResult
	err = c.do(ctx, http.MethodDelete, p, nil, &res)
	return res.JID, err
}

// SetPassword sets the password of the account user@host.
func (c *Client) SetPassword(ctx context.Context, account, password string) (string, error) {
	p, err := accountPath(account)
	if err != nil {
		return "", err
	}
	var res AccountResult
	err = c.do(ctx, http.MethodPut, p+"/password", PasswordRequest{Password: password}, &res)
	return res.JID, err
}

// Sessions lists the bound client sessions.
func (c *Client) Sessions(ctx context.Context) ([]Session, error) {
	var l SessionList
	err := c.do(ctx, http.MethodGet, "/v1/sessions", nil, &l)
	return l.Sessions, err
}

// Kick closes the sessions of a bare or full JID with a policy-violation
// stream error whose text is reason ("" for the server's default).
func (c *Client) Kick(ctx context.Context, j, reason string) (KickResult, error) {
	var res KickResult
	err := c.do(ctx, http.MethodPost, "/v1/sessions/kick", KickRequest{JID: j, Reason: reason}, &res)
	return res, err
}

// Roster returns the roster of the account user@host.
func (c *Client) Roster(ctx context.Context, account string) (RosterList, error) {
	p, err := accountPath(account)
	if err != nil {
		return RosterList{}, err
	}
	var l RosterList
	err = c.do(ctx, http.MethodGet, p+"/roster", nil, &l)
	return l, err
}

// RosterPut adds contact to the roster of the account user@host, or
// replaces the name and groups of its item.
func (c *Client) RosterPut(ctx context.Context, account, contact string, item RosterItemRequest) (RosterResult, error) {
	p, err := rosterItemPath(account, contact)
	if err != nil {
		return RosterResult{}, err
	}
	var res RosterResult
	err = c.do(ctx, http.MethodPut, p, item, &res)
	return res, err
}

// RosterDelete removes contact from the roster of the account user@host.
func (c *Client) RosterDelete(ctx context.Context, account, contact string) (RosterResult, error) {
	p, err := rosterItemPath(account, contact)
	if err != nil {
		return RosterResult{}, err
	}
	var res RosterResult
	err = c.do(ctx, http.MethodDelete, p, nil, &res)
	return res, err
}

// Send sends a message from the server to an account or one session.
func (c *Client) Send(ctx context.Context, m MessageRequest) (MessageResult, error) {
	var res MessageResult
	err := c.do(ctx, http.MethodPost, "/v1/messages", m, &res)
	return res, err
}

// Announce sends a message from the server to every bound session.
func (c *Client) Announce(ctx context.Context, m AnnounceRequest) (AnnounceResult, error) {
	var res AnnounceResult
	err := c.do(ctx, http.MethodPost, "/v1/sessions/announce", m, &res)
	return res, err
}

// rosterItemPath is /v1/users/{account}/roster/{contact}. A contact of
// "", "." or ".." cannot be a path segment (and is no JID); it is refused
// here with the message the server would give.
func rosterItemPath(account, contact string) (string, error) {
	p, err := accountPath(account)
	if err != nil {
		return "", err
	}
	if contact == "" || contact == "." || contact == ".." {
		return "", &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf("want a contact like user@host (a bare JID), got %q", contact)}
	}
	return p + "/roster/" + url.PathEscape(contact), nil
}

// accountPath is /v1/users/{account}. Without an '@' the argument could be
// "." or "..", which a URL path cannot carry as a segment, so it is
// refused here with the message the server would give.
func accountPath(account string) (string, error) {
	if !strings.Contains(account, "@") {
		return "", &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf("want an account like user@host, got %q", account)}
	}
	return "/v1/users/" + url.PathEscape(account), nil
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://parley"+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Errorf("%w on %s: %w", ErrNoServer, c.socket, err)
		}
		return fmt.Errorf("admin: %s: %w", c.socket, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("admin: reading the response: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		e := &Error{Status: resp.StatusCode}
		if json.Unmarshal(data, e) != nil || e.Message == "" {
			e.Message = fmt.Sprintf("unexpected response %s from %s", resp.Status, c.socket)
		}
		return e
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("admin: decoding the response of %s %s: %w", method, path, err)
		}
	}
	return nil
}

// Export writes every local account of every host as a XEP-0227 document
// to w.
func (c *Client) Export(ctx context.Context, w io.Writer) error {
	return c.raw(ctx, http.MethodGet, "/v1/export", nil, func(r io.Reader) error {
		_, err := io.Copy(w, r)
		return err
	})
}

// Import sends a XEP-0227 document (with its xi:includes inlined, see
// ReadPIEFile) to the server, which creates the accounts in it.
func (c *Client) Import(ctx context.Context, doc []byte) (ImportResult, error) {
	var res ImportResult
	err := c.raw(ctx, http.MethodPost, "/v1/import", doc, func(r io.Reader) error {
		return json.NewDecoder(r).Decode(&res)
	})
	return res, err
}

// raw is do for a body that is not JSON: in is sent as XML, the
// response's body is handed to read.
func (c *Client) raw(ctx context.Context, method, path string, in []byte, read func(io.Reader) error) error {
	var body io.Reader
	if in != nil {
		body = bytes.NewReader(in)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://parley"+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/xml")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Errorf("%w on %s: %w", ErrNoServer, c.socket, err)
		}
		return fmt.Errorf("admin: %s: %w", c.socket, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		e := &Error{Status: resp.StatusCode}
		if json.Unmarshal(data, e) != nil || e.Message == "" {
			e.Message = fmt.Sprintf("unexpected response %s from %s", resp.Status, c.socket)
		}
		return e
	}
	if err := read(resp.Body); err != nil {
		return fmt.Errorf("admin: reading the response of %s %s: %w", method, path, err)
	}
	return nil
}
