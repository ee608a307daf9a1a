package admin

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parleyim/parley/internal/auth"
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/mod/offline"
	"github.com/parleyim/parley/internal/mod/private"
	"github.com/parleyim/parley/internal/mod/roster"
	"github.com/parleyim/parley/internal/mod/vcard"
	"github.com/parleyim/parley/internal/module"
	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/sasl"
	"github.com/parleyim/parley/internal/xmlstream"
)

// Portable import/export (XEP-0227): GET /v1/export writes every local
// account of every host as one <server-data/> document; POST /v1/import
// reads one. The data of each module is reached through the module's
// service (module.Lookup), so a disabled module's data is neither
// exported nor imported; the import says so in its notes.
//
// An import checks the whole document before it writes anything: a
// document that is not XML, has the wrong root, names a host this server
// does not serve or holds a malformed JID or credential is refused as a
// whole, with an error naming the element. An account that exists already
// is skipped and reported, never merged: ejabberd's import_piefxis stops
// at such an account, which leaves the accounts before it imported and
// those after it not; skipping makes an import that was cut short safe to
// run again, and never overwrites the data of a live account.

// Namespaces of XEP-0227.
const (
	NSPIE      = "urn:xmpp:pie:0"
	NSPIEScram = "urn:xmpp:pie:0#scram"
	nsXInclude = "http://www.w3.org/2001/XInclude"
	nsRoster   = "jabber:iq:roster"
)

// maxImportBytes bounds the document POST /v1/import reads.
const maxImportBytes = 1 << 30

// ParseDocument reads an XML document into an element tree. Comments and
// processing instructions are dropped; a DTD is refused.
func ParseDocument(r io.Reader) (*xmlstream.Element, error) {
	d := xml.NewDecoder(r)
	var stack []*xmlstream.Element
	var root *xmlstream.Element
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			if root == nil {
				return nil, errors.New("no root element")
			}
			return root, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root != nil && len(stack) == 0 {
				return nil, errors.New("more than one root element")
			}
			el := &xmlstream.Element{Name: xmlstream.Name{Space: t.Name.Space, Local: t.Name.Local}}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue
				}
				el.Attrs = append(el.Attrs, xmlstream.Attr{Name: xmlstream.Name{Space: a.Name.Space, Local: a.Name.Local}, Value: a.Value})
			}
			if len(stack) > 0 {
				stack[len(stack)-1].AddChild(el)
			} else {
				root = el
			}
			stack = append(stack, el)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].AddText(string(t))
			}
		case xml.Directive:
			return nil, errors.New("a DTD or other directive is not allowed")
		}
	}
}

// ReadPIEFile reads a XEP-0227 file and inlines the files its
// <xi:include href='...'/> elements name (relative to it), as ejabberd's
// export_piefxis writes one file per host and a main file including them.
func ReadPIEFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	root, err := ParseDocument(f)
	if err != nil {
		return nil, fmt.Errorf("%s: not an XML document: %w", path, err)
	}
	if !slices.ContainsFunc(root.Nodes, func(n xmlstream.Node) bool {
		return n.El != nil && n.El.Name.Space == nsXInclude
	}) {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		return io.ReadAll(f)
	}
	for i, n := range root.Nodes {
		if n.El == nil || n.El.Name != (xmlstream.Name{Space: nsXInclude, Local: "include"}) {
			continue
		}
		href := n.El.Attr("href")
		if href == "" || filepath.IsAbs(href) || strings.Contains(href, "..") {
			return nil, fmt.Errorf("%s: <xi:include href=%q/>: want a file name beside it", path, href)
		}
		inc := filepath.Join(filepath.Dir(path), href)
		g, err := os.Open(inc)
		if err != nil {
			return nil, fmt.Errorf("%s: <xi:include/>: %w", path, err)
		}
		el, err := ParseDocument(g)
		g.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: not an XML document: %w", inc, err)
		}
		root.Nodes[i].El = el
	}
	return append([]byte("<?xml version='1.0' encoding='UTF-8'?>\n"), root.Append(nil, "")...), nil
}

// export answers GET /v1/export.
func (p *api) export(w http.ResponseWriter, r *http.Request, log *slog.Logger) error {
	ctx := r.Context()
	buf := []byte("<?xml version='1.0' encoding='UTF-8'?>\n<server-data xmlns='" + NSPIE + "'>\n")
	users := 0
	for _, h := range p.app.Config().Hosts {
		names, err := p.app.Accounts.List(ctx, h)
		if err != nil {
			return fmt.Errorf("admin: export: %w", err)
		}
		hostEl := xmlstream.New(NSPIE, "host", "jid", h)
		for _, n := range names {
			j, err := jid.New(n, h, "")
			if err != nil {
				return fmt.Errorf("admin: export: stored user %q of %s: %w", n, h, err)
			}
			u, err := p.exportUser(r, j)
			if err != nil {
				return err
			}
			hostEl.AddChild(u)
			users++
		}
		buf = append(hostEl.Append(buf, NSPIE), '\n')
	}
	buf = append(buf, "</server-data>\n"...)
	log.Info("accounts exported", "users", users)
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(buf) // the client sees a short document if this fails
	return nil
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// exportUser builds the <user/> element of j.
func (p *api) exportUser(r *http.Request, j jid.JID) (*xmlstream.Element, error) {
	ctx := r.Context()
	u := xmlstream.New(NSPIE, "user", "name", j.Local())
	creds, err := p.app.Accounts.Credentials(ctx, j.Domain(), j.Local())
	if err != nil {
		return nil, fmt.Errorf("admin: export %s: %w", j, err)
	}
	for _, h := range sasl.Hashes {
		c, ok := creds[h]
		if !ok {
			continue
		}
		sc := xmlstream.New(NSPIEScram, "scram-credentials", "mechanism", "SCRAM-"+string(h))
		sc.AddChild(xmlstream.New(NSPIEScram, "iter-count").AddText(strconv.Itoa(c.Iterations)))
		sc.AddChild(xmlstream.New(NSPIEScram, "salt").AddText(b64(c.Salt)))
		sc.AddChild(xmlstream.New(NSPIEScram, "server-key").AddText(b64(c.ServerKey)))
		sc.AddChild(xmlstream.New(NSPIEScram, "stored-key").AddText(b64(c.StoredKey)))
		u.AddChild(sc)
	}
	if rs, ok := module.Lookup[roster.Service](p.app.Registry()); ok {
		items, err := rs.Items(ctx, j)
		if err != nil {
			return nil, fmt.Errorf("admin: export roster of %s: %w", j, err)
		}
		q := xmlstream.New(nsRoster, "query")
		for _, it := range items {
			sub := string(it.Subscription)
			if sub == "" {
				sub = string(roster.None)
			}
			item := xmlstream.New(nsRoster, "item", "jid", it.JID.String(), "subscription", sub)
			if it.Name != "" {
				item.SetAttr("name", it.Name)
			}
			if it.Ask {
				item.SetAttr("ask", "subscribe")
			}
			if it.Approved {
				item.SetAttr("approved", "true")
			}
			for _, g := range it.Groups {
				item.AddChild(xmlstream.New(nsRoster, "group").AddText(g))
			}
			q.AddChild(item)
		}
		u.AddChild(q)
		pend, err := rs.PendingIns(ctx, j)
		if err != nil {
			return nil, fmt.Errorf("admin: export pending requests of %s: %w", j, err)
		}
		for _, pi := range pend {
			el, err := xmlstream.ParseStored([]byte(pi.Stanza), ns.Client)
			if err != nil {
				el = xmlstream.New(ns.Client, "presence", "type", "subscribe")
			}
			el.SetAttr("from", pi.JID.String())
			el.SetAttr("to", j.String())
			u.AddChild(el)
		}
	}
	if off, ok := module.Lookup[offline.Service](p.app.Registry()); ok {
		ms, err := off.Messages(ctx, j)
		if err != nil {
			return nil, fmt.Errorf("admin: export %s: %w", j, err)
		}
		if len(ms) > 0 {
			om := xmlstream.New(NSPIE, "offline-messages")
			for _, m := range ms {
				el, err := xmlstream.ParseStored([]byte(m.Stanza), ns.Client)
				if err != nil {
					return nil, fmt.Errorf("admin: export offline message %d of %s: %w", m.ID, j, err)
				}
				om.AddChild(el)
			}
			u.AddChild(om)
		}
	}
	if vs, ok := module.Lookup[vcard.Service](p.app.Registry()); ok {
		v, err := vs.Get(ctx, j)
		if err != nil {
			return nil, fmt.Errorf("admin: export %s: %w", j, err)
		}
		if v != nil {
			u.AddChild(v)
		}
	}
	if ps, ok := module.Lookup[private.Service](p.app.Registry()); ok {
		els, err := ps.Elements(ctx, j)
		if err != nil {
			return nil, fmt.Errorf("admin: export %s: %w", j, err)
		}
		if len(els) > 0 {
			q := xmlstream.New(private.NS, "query")
			for _, e := range els {
				q.AddChild(e)
			}
			u.AddChild(q)
		}
	}
	return u, nil
}

// userData is one <user/> of an import, checked and converted.
type userData struct {
	j        jid.JID
	password string
	creds    map[sasl.Hash]sasl.Credentials
	items    []roster.Item
	pending  []roster.PendingIn
	offline  []offline.Message
	vcard    *xmlstream.Element
	private  []*xmlstream.Element
}

// importDoc answers POST /v1/import.
func (p *api) importDoc(w http.ResponseWriter, r *http.Request, log *slog.Logger) error {
	ctx := r.Context()
	root, err := ParseDocument(http.MaxBytesReader(w, r.Body, maxImportBytes))
	if err != nil {
		return badRequest("not an XML document: %v", err)
	}
	if root.Name != (xmlstream.Name{Space: NSPIE, Local: "server-data"}) {
		return badRequest("want a <server-data xmlns='%s'/> document (XEP-0227), got <%s xmlns='%s'/>", NSPIE, root.Name.Local, root.Name.Space)
	}
	var users []userData
	for _, h := range root.Elements() {
		if h.Name.Space != NSPIE || h.Name.Local != "host" {
			if h.Name.Space == nsXInclude {
				return badRequest("<xi:include href=%q/>: the included file must be inlined first (parley ctl import does it)", h.Attr("href"))
			}
			return badRequest("<%s xmlns='%s'/> in <server-data/>: want <host/>", h.Name.Local, h.Name.Space)
		}
		host, err := p.host(h.Attr("jid"))
		if err != nil {
			return badRequest("<host jid=%q/>: not a host this server serves", h.Attr("jid"))
		}
		for _, u := range h.Elements() {
			if u.Name.Space != NSPIE || u.Name.Local != "user" {
				return badRequest("<host jid=%q/>: unexpected <%s xmlns='%s'/>, want <user/>", host, u.Name.Local, u.Name.Space)
			}
			d, err := readUser(host, u)
			if err != nil {
				return badRequest("<host jid=%q/> <user name=%q/>: %v", host, u.Attr("name"), err)
			}
			users = append(users, d)
		}
	}
	res := ImportResult{Imported: []string{}, Skipped: []ImportSkip{}, Notes: []string{}}
	note := func(format string, args ...any) { res.Notes = append(res.Notes, fmt.Sprintf(format, args...)) }
	rs, hasRoster := module.Lookup[roster.Service](p.app.Registry())
	off, hasOffline := module.Lookup[offline.Service](p.app.Registry())
	vs, hasVCard := module.Lookup[vcard.Service](p.app.Registry())
	ps, hasPrivate := module.Lookup[private.Service](p.app.Registry())
	for _, d := range users {
		host, user := d.j.Domain(), d.j.Local()
		if d.password != "" {
			err = p.app.RegisterUser(ctx, host, user, d.password)
		} else {
			err = p.app.ImportUser(ctx, host, user, d.creds)
		}
		if errors.Is(err, auth.ErrUserExists) {
			res.Skipped = append(res.Skipped, ImportSkip{JID: d.j.String(), Reason: "the account exists already; nothing of it was imported"})
			continue
		}
		if err != nil {
			return p.importFailed(&res, d.j, fmt.Errorf("creating the account: %w", err))
		}
		fail := func(what string, err error) error {
			if rerr := p.app.RemoveUser(ctx, host, user); rerr != nil {
				log.Error("removing a half-imported account", "jid", d.j.String(), "err", rerr)
			}
			return p.importFailed(&res, d.j, fmt.Errorf("%s: %w", what, err))
		}
		switch {
		case hasRoster:
			for _, it := range d.items {
				if _, err := rs.Put(ctx, d.j, it); err != nil {
					return fail("roster item "+it.JID.String(), err)
				}
			}
			for _, pi := range d.pending {
				if err := rs.AddPendingIn(ctx, d.j, pi); err != nil {
					return fail("subscription request from "+pi.JID.String(), err)
				}
			}
		case len(d.items)+len(d.pending) > 0:
			note("%s: roster not imported: the roster module is not enabled", d.j)
		}
		switch {
		case hasOffline:
			if err := off.Import(ctx, d.j, d.offline); err != nil {
				return fail("offline messages", err)
			}
		case len(d.offline) > 0:
			note("%s: %d offline messages not imported: the offline module is not enabled", d.j, len(d.offline))
		}
		switch {
		case d.vcard == nil:
		case hasVCard:
			if err := vs.Set(ctx, d.j, d.vcard); err != nil {
				return fail("vCard", err)
			}
		default:
			note("%s: vCard not imported: the vcard module is not enabled", d.j)
		}
		switch {
		case hasPrivate:
			if err := ps.Import(ctx, d.j, d.private); err != nil {
				return fail("private XML", err)
			}
		case len(d.private) > 0:
			note("%s: private XML not imported: the private module is not enabled", d.j)
		}
		res.Imported = append(res.Imported, d.j.String())
		log.Info("account imported", "jid", d.j.String(), "roster_items", len(d.items), "offline_messages", len(d.offline))
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// importFailed is the error of an import that stopped at account j after
// the accounts in res were imported.
func (p *api) importFailed(res *ImportResult, j jid.JID, err error) error {
	msg := fmt.Sprintf("admin: import of %s failed (the account was not kept): %v", j, err)
	if len(res.Imported) > 0 {
		msg += fmt.Sprintf("; imported before it: %s", strings.Join(res.Imported, ", "))
	}
	return errors.New(msg)
}

// readUser checks and converts one <user/> element of host.
func readUser(host string, u *xmlstream.Element) (userData, error) {
	name := u.Attr("name")
	j, err := jid.New(name, host, "")
	if err != nil || name == "" {
		return userData{}, fmt.Errorf("malformed user name %q", name)
	}
	d := userData{j: j, password: u.Attr("password"), creds: map[sasl.Hash]sasl.Credentials{}}
	for _, c := range u.Elements() {
		switch {
		case c.Name.Space == NSPIEScram && c.Name.Local == "scram-credentials":
			h, cr, err := readScram(c)
			if err != nil {
				return userData{}, err
			}
			if h == "" {
				continue // a mechanism Parley does not offer
			}
			if _, dup := d.creds[h]; dup {
				return userData{}, fmt.Errorf("<scram-credentials mechanism=%q/> given twice", c.Attr("mechanism"))
			}
			d.creds[h] = cr
		case c.Name.Space == nsRoster && c.Name.Local == "query":
			for _, it := range c.Elements() {
				item, err := readItem(j, it)
				if err != nil {
					return userData{}, err
				}
				d.items = append(d.items, item)
			}
		case c.Name.Local == "presence" && (c.Name.Space == ns.Client || c.Name.Space == NSPIE):
			// Prosody 0.12 writes these without the jabber:client namespace.
			if c.Attr("type") != "subscribe" {
				continue
			}
			from, err := jid.Parse(c.Attr("from"))
			if err != nil {
				return userData{}, fmt.Errorf("<presence type='subscribe' from=%q/>: malformed JID", c.Attr("from"))
			}
			st := xmlstream.New(ns.Client, "presence", "from", from.Bare().String(), "to", j.String(), "type", "subscribe")
			if id := c.Attr("id"); id != "" {
				st.SetAttr("id", id)
			}
			for _, e := range c.Elements() {
				if e.Name.Space != NSPIE && e.Name.Space != ns.Client {
					st.AddChild(e)
				}
			}
			d.pending = append(d.pending, roster.PendingIn{JID: from.Bare(), Stanza: st.String()})
		case c.Name.Space == NSPIE && c.Name.Local == "offline-messages":
			for i, m := range c.Elements() {
				msg, err := readOffline(j, m)
				if err != nil {
					return userData{}, fmt.Errorf("<offline-messages/> message %d: %w", i+1, err)
				}
				d.offline = append(d.offline, msg)
			}
		case c.Name.Space == vcard.NS && c.Name.Local == "vCard":
			d.vcard = c
		case c.Name.Space == private.NS && c.Name.Local == "query":
			d.private = append(d.private, c.Elements()...)
		}
	}
	if d.password == "" && len(d.creds) == 0 {
		return userData{}, errors.New("neither a password nor SCRAM-SHA-1, -256 or -512 credentials")
	}
	return d, nil
}

// readScram reads a <scram-credentials/> element (XEP-0227 §2.3). A
// mechanism Parley does not offer gives an empty hash.
func readScram(c *xmlstream.Element) (sasl.Hash, sasl.Credentials, error) {
	mech := c.Attr("mechanism")
	where := fmt.Sprintf("<scram-credentials mechanism=%q/>", mech)
	var h sasl.Hash
	for _, x := range sasl.Hashes {
		if mech == "SCRAM-"+string(x) {
			h = x
		}
	}
	if h == "" {
		return "", sasl.Credentials{}, nil
	}
	text := func(local string) string { return strings.TrimSpace(c.ChildText(NSPIEScram, local)) }
	iter, err := strconv.Atoi(text("iter-count"))
	if err != nil || iter < 1 {
		return "", sasl.Credentials{}, fmt.Errorf("%s: <iter-count/> %q is not a positive integer", where, text("iter-count"))
	}
	fields := map[string][]byte{}
	for _, f := range []string{"salt", "server-key", "stored-key"} {
		b, err := base64.StdEncoding.DecodeString(text(f))
		if err != nil || len(b) == 0 {
			return "", sasl.Credentials{}, fmt.Errorf("%s: <%s/> is not base64", where, f)
		}
		fields[f] = b
	}
	cr := sasl.Credentials{Salt: fields["salt"], Iterations: iter, ServerKey: fields["server-key"], StoredKey: fields["stored-key"]}
	if err := cr.Check(h); err != nil {
		// ejabberd 23.01 base64-encodes the base64 text of each value a
		// second time; undo that when it makes the keys fit.
		again := func(b []byte) []byte {
			out, err := base64.StdEncoding.DecodeString(string(b))
			if err != nil {
				return nil
			}
			return out
		}
		twice := sasl.Credentials{Salt: again(cr.Salt), Iterations: iter, ServerKey: again(cr.ServerKey), StoredKey: again(cr.StoredKey)}
		if twice.Check(h) != nil {
			return "", sasl.Credentials{}, fmt.Errorf("%s: %v", where, err)
		}
		cr = twice
	}
	return h, cr, nil
}

// readItem reads a roster <item/> of user's roster.
func readItem(user jid.JID, it *xmlstream.Element) (roster.Item, error) {
	if it.Name.Local != "item" {
		return roster.Item{}, fmt.Errorf("<query xmlns='%s'/>: unexpected <%s/>", nsRoster, it.Name.Local)
	}
	c, err := jid.Parse(it.Attr("jid"))
	if err != nil || !c.IsBare() {
		return roster.Item{}, fmt.Errorf("roster <item jid=%q/>: malformed JID (want a bare JID)", it.Attr("jid"))
	}
	if c == user {
		return roster.Item{}, fmt.Errorf("roster <item jid=%q/>: the account's own JID", it.Attr("jid"))
	}
	sub := roster.Subscription(it.Attr("subscription"))
	if sub == "" {
		sub = roster.None
	}
	if !sub.Valid() || sub == "remove" {
		return roster.Item{}, fmt.Errorf("roster <item jid=%q subscription=%q/>: want none, to, from or both", c, sub)
	}
	item := roster.Item{
		JID:          c,
		Name:         it.Attr("name"),
		Subscription: sub,
		Ask:          it.Attr("ask") == "subscribe",
		Approved:     it.Attr("approved") == "true" || it.Attr("approved") == "1",
	}
	for _, g := range it.Elements() {
		if g.Name.Local == "group" {
			if t := g.Text(); t != "" && !slices.Contains(item.Groups, t) {
				item.Groups = append(item.Groups, t)
			}
		}
	}
	slices.Sort(item.Groups)
	if err := checkText("roster name", item.Name); err != nil {
		return roster.Item{}, fmt.Errorf("roster <item jid=%q/>: %v", c, err)
	}
	return item, nil
}

// readOffline converts an offline <message/> for user. Its stored time is
// the stamp of its delay from user's domain (XEP-0203), else now.
func readOffline(user jid.JID, m *xmlstream.Element) (offline.Message, error) {
	if m.Name.Local != "message" || (m.Name.Space != ns.Client && m.Name.Space != NSPIE) {
		return offline.Message{}, fmt.Errorf("<%s xmlns='%s'/>: want <message xmlns='jabber:client'/>", m.Name.Local, m.Name.Space)
	}
	m = m.ShallowCopy()
	m.Name.Space = ns.Client
	if m.Attr("to") == "" {
		m.SetAttr("to", user.String())
	}
	for _, a := range []string{"to", "from"} {
		if v := m.Attr(a); v != "" {
			if _, err := jid.Parse(v); err != nil {
				return offline.Message{}, fmt.Errorf("<message %s=%q/>: malformed JID", a, v)
			}
		}
	}
	stored := time.Now().UTC()
	for _, c := range m.Elements() {
		if c.Name.Space == ns.Delay && c.Name.Local == "delay" && c.Attr("from") == user.Domain() {
			t, err := time.Parse(time.RFC3339Nano, c.Attr("stamp"))
			if err != nil {
				return offline.Message{}, fmt.Errorf("<delay stamp=%q/>: not a XEP-0082 date and time", c.Attr("stamp"))
			}
			stored = t.UTC()
		}
	}
	return offline.Message{Stored: stored, Stanza: m.String()}, nil
}
