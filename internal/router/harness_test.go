package router_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/client"
	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/stanza"
	"github.com/parleyim/parley/internal/xmlstream"
	"github.com/parleyim/parley/internal/xmpptest"
)

// The end-to-end tests of this package run a whole server (xmpptest) and
// talk to it over TCP, TLS and SCRAM. Nothing waits on a clock: every wait
// is a read with a deadline, and the absence of a stanza is proven by
// ordering. A session routes what its client sends one stanza at a time,
// and a delivery is a push onto the recipient's FIFO queue made before the
// router returns. So once the sender's session has handled a marker sent
// after the stanza under test, every delivery and bounce that stanza caused
// is already queued; each observer then reads up to its own marker, and
// what it read before is everything the stanza under test brought it.

// readTimeout bounds every wait.
const readTimeout = 10 * time.Second

var seq atomic.Int64

func nextID(prefix string) string { return prefix + strconv.FormatInt(seq.Add(1), 10) }

// env is a running server.
type env struct {
	srv    *xmpptest.Server
	domain string
}

func start(t *testing.T) *env {
	t.Helper()
	// The router's own rules, without the presence module, which would
	// process subscription stanzas and probes before them (RFC 6121 §3),
	// and without offline storage, which takes what the router would
	// bounce (§8.5.2.2.1).
	srv := xmpptest.Start(t, "modules:\n  presence: false\n  offline: false\n")
	return &env{srv: srv, domain: srv.Domain}
}

// peer is one logged-in client.
type peer struct {
	*client.Conn
	name string // for messages: user/resource
}

// available logs user/res in and sends initial presence with priority prio
// (RFC 6121 §4.2, §4.7.2.3). It returns once the session has applied it.
func (e *env) available(t *testing.T, user, res string, prio int) *peer {
	t.Helper()
	p := e.connected(t, user, res)
	pres := `<presence/>`
	if prio != 0 {
		pres = `<presence><priority>` + strconv.Itoa(prio) + `</priority></presence>`
	}
	p.send(t, pres)
	p.sync(t)
	return p
}

// connected logs user/res in without initial presence: a connected but
// not available resource (RFC 6121 §1.3, §4.2).
func (e *env) connected(t *testing.T, user, res string) *peer {
	t.Helper()
	if ok, err := e.srv.App.Accounts.Exists(context.Background(), e.domain, user); err != nil {
		t.Fatal(err)
	} else if !ok {
		e.srv.CreateUser(t, user)
	}
	cfg := e.srv.ClientConfig(user)
	cfg.Resource = res
	c := e.srv.Dial(t, cfg)
	return &peer{Conn: c, name: user + "/" + res}
}

// bare is user@domain.
func (e *env) bare(user string) string { return user + "@" + e.domain }

// full is the bound full JID of p.
func (p *peer) full() string { return p.JID().String() }

func (p *peer) send(t *testing.T, raw string) {
	t.Helper()
	if err := p.Send(xmpptest.Parse(t, raw)); err != nil {
		t.Fatalf("%s: send: %v", p.name, err)
	}
}

// sync returns once p's session has handled everything p sent before: a
// ping round trip through the same session.
func (p *peer) sync(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	iq := xmpptest.Parse(t, `<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>`)
	iq.SetAttr("id", nextID("sync"))
	if _, err := p.IQ(ctx, iq); err != nil {
		t.Fatalf("%s: sync ping: %v", p.name, err)
	}
}

// until reads from p until an element for which last is true and returns
// what came before it.
func (p *peer) until(t *testing.T, last func(*xmlstream.Element) bool) []*xmlstream.Element {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	var got []*xmlstream.Element
	for {
		el, err := p.Recv(ctx)
		if err != nil {
			t.Fatalf("%s: waiting for a marker after %d stanzas %s: %v", p.name, len(got), dump(got), err)
		}
		if last(el) {
			return got
		}
		got = append(got, el)
	}
}

// settle returns what each observer received since its last settle, once
// everything from has sent so far has been routed. from may be among the
// observers.
func settle(t *testing.T, from *peer, observers ...*peer) map[*peer][]*xmlstream.Element {
	t.Helper()
	// Markers go out first, all of them, so that the reads below only
	// wait for delivery.
	marks := make(map[*peer]string)
	for _, o := range observers {
		if _, dup := marks[o]; dup {
			continue
		}
		id := nextID("mark")
		marks[o] = id
		if o == from {
			// The server answers the ping after the stanza under test
			// and its bounces, on the same queue.
			from.send(t, `<iq type='get' id='`+id+`' to='`+o.JID().Domain()+`'><ping xmlns='urn:xmpp:ping'/></iq>`)
		} else {
			from.send(t, `<message type='chat' id='`+id+`' to='`+o.full()+`'/>`)
		}
	}
	got := make(map[*peer][]*xmlstream.Element)
	for o, id := range marks {
		got[o] = o.until(t, func(el *xmlstream.Element) bool { return el.Attr("id") == id })
	}
	return got
}

// expectSeq checks that got matches the patterns want one by one.
func expectSeq(t *testing.T, who string, got []*xmlstream.Element, want ...*xmlstream.Element) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = xmpptest.Match(want[i], got[i])
	}
	if !ok {
		t.Errorf("%s received %d stanzas %s\nwant %d %s", who, len(got), dump(got), len(want), dump(want))
	}
}

func dump(els []*xmlstream.Element) string {
	var b strings.Builder
	b.WriteString("[")
	for _, el := range els {
		b.WriteString("\n\t")
		b.WriteString(el.String())
	}
	b.WriteString("]")
	return b.String()
}

// withAttrs returns a copy of el with attributes set (value "") removed.
func withAttrs(el *xmlstream.Element, kv ...string) *xmlstream.Element {
	c := el.Copy()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			c.RemoveAttr(kv[i])
		} else {
			c.SetAttr(kv[i], kv[i+1])
		}
	}
	return c
}

// bounced is the error reply RFC 6120 §8.3.1 asks for: the same kind and
// id, type error, from and to swapped, the original payload kept (the
// server chooses to), and an <error/> with the type and condition of
// §8.3.3.
func bounced(sent *xmlstream.Element, from, to string, e *stanza.Error) *xmlstream.Element {
	r := withAttrs(sent, "type", "error", "from", from, "to", to)
	er := xmlstream.New(ns.Client, "error", "type", e.Type)
	er.AddChild(xmlstream.New(ns.Stanzas, e.Condition))
	r.AddChild(er)
	return r
}

// delivered is sent as its recipient gets it: 'from' stamped with the
// sender's full JID (RFC 6120 §8.1.2.1), the rest untouched. to is the
// 'to' expected, xmpptest.Any or "" for as sent.
func delivered(sent *xmlstream.Element, from, to string) *xmlstream.Element {
	d := withAttrs(sent, "from", from)
	if to != "" {
		d.SetAttr("to", to)
	}
	return d
}

// outcome is what a routing case expects.
type outcome struct {
	// bounce is the error the sender gets back, nil for none.
	bounce *stanza.Error
	// to are the peers that receive the stanza.
	to []*peer
	// rewritten is the 'to' attribute the receivers see when the server
	// may rewrite it ("": unchanged).
	rewritten string
	// reply is the pattern of the non-error answer the sender gets (its
	// id is the one sent), "" for none.
	reply string
}

// drop is the outcome "nobody receives it, nothing comes back".
var drop = outcome{}

func bounce(e *stanza.Error) outcome { return outcome{bounce: e} }

func to(ps ...*peer) outcome { return outcome{to: ps} }

func reply(pattern string) outcome { return outcome{reply: pattern} }

// routeCase is one row of a routing table: from sends el, and observers
// see exactly what want says.
type routeCase struct {
	name string
	el   string
	want outcome
}

// runRoute sends each case's stanza from 'from' (with a fresh id) and
// checks what every observer got. The bounce comes from the 'to' of the
// stanza, or from the sender's bare JID when it had none (RFC 6120 §10.3).
func runRoute(t *testing.T, from *peer, observers []*peer, cases []routeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sent := xmpptest.Parse(t, tc.el)
			sent.SetAttr("id", nextID("s"))
			if err := from.Send(sent); err != nil {
				t.Fatal(err)
			}
			all := append([]*peer{from}, observers...)
			got := settle(t, from, all...)
			for _, o := range uniq(all) {
				var want []*xmlstream.Element
				if o == from && tc.want.bounce != nil {
					bfrom := sent.Attr("to")
					if bfrom == "" {
						bfrom = from.JID().Bare().String()
					}
					want = append(want, bounced(sent, bfrom, from.full(), tc.want.bounce))
				}
				if o == from && tc.want.reply != "" {
					want = append(want, withAttrs(xmpptest.Parse(t, tc.want.reply), "id", sent.Attr("id")))
				}
				if slices.Contains(tc.want.to, o) {
					want = append(want, delivered(sent, from.full(), tc.want.rewritten))
				}
				expectSeq(t, o.name, got[o], want...)
			}
		})
	}
}

func uniq(ps []*peer) []*peer {
	var out []*peer
	for _, p := range ps {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// msg builds a message stanza of type typ ("" for none) to 'to' with a
// body, so that a delivery can be told from the markers.
func msg(typ, to string) string {
	s := `<message`
	if typ != "" {
		s += ` type='` + typ + `'`
	}
	if to != "" {
		s += ` to='` + to + `'`
	}
	return s + `><body>` + fmt.Sprintf("%s to %s", typ, to) + `</body></message>`
}

// errorMsg is a message of type error, as a client bouncing one sends it.
func errorMsg(to string) string {
	return `<message type='error' to='` + to + `'><body>x</body>` + errorEl + `</message>`
}

const errorEl = `<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`

// pres builds a presence stanza of type typ to 'to'.
func pres(typ, to string) string {
	s := `<presence to='` + to + `'`
	if typ != "" {
		s += ` type='` + typ + `'`
	}
	if typ == "error" {
		return s + `>` + errorEl + `</presence>`
	}
	return s + `/>`
}

// unknownNS is a namespace no module serves.
const unknownNS = "urn:example:nobody-serves-this"

// iq builds an IQ of type typ to 'to' ("" for none): get and set carry a
// payload in payloadNS, error carries an <error/>.
func iq(typ, to, payloadNS string) string {
	s := `<iq type='` + typ + `'`
	if to != "" {
		s += ` to='` + to + `'`
	}
	s += `>`
	switch typ {
	case "get", "set":
		local := "query"
		if payloadNS == ns.Ping {
			local = "ping"
		}
		s += `<` + local + ` xmlns='` + payloadNS + `'/>`
	case "error":
		s += errorEl
	}
	return s + `</iq>`
}

// withID returns raw with its id attribute set.
func withID(t *testing.T, raw, id string) string {
	t.Helper()
	return xmpptest.Parse(t, raw).SetAttr("id", id).String()
}

func parse(t *testing.T, raw string) *xmlstream.Element {
	t.Helper()
	return xmpptest.Parse(t, raw)
}
