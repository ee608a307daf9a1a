package presence_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/mod/presence"
	"github.com/parleyim/parley/internal/mod/roster"
)

// The nine states of RFC 6121 Appendix A.1, written as the RFC writes
// them.
var states = []string{"None", "None+PO", "None+PI", "None+PO+PI", "To", "To+PI", "From", "From+PO", "Both"}

func parseState(t *testing.T, s string) presence.State {
	t.Helper()
	parts := strings.Split(s, "+")
	var st presence.State
	switch parts[0] {
	case "None":
		st.Sub = roster.None
	case "To":
		st.Sub = roster.To
	case "From":
		st.Sub = roster.From
	case "Both":
		st.Sub = roster.Both
	default:
		t.Fatalf("bad state %q", s)
	}
	for _, p := range parts[1:] {
		switch p {
		case "PO":
			st.Out = true
		case "PI":
			st.In = true
		case "AP":
			st.Approved = true
		default:
			t.Fatalf("bad state %q", s)
		}
	}
	return st
}

func formatState(s presence.State) string {
	sub := string(s.Sub)
	if sub == "" {
		sub = "none"
	}
	out := strings.ToUpper(sub[:1]) + sub[1:]
	if s.Out {
		out += "+PO"
	}
	if s.In {
		out += "+PI"
	}
	if s.Approved {
		out += "+AP"
	}
	return out
}

// TestOutbound walks RFC 6121 Appendix A.2: every state against each
// subscription stanza the user sends, with the state after and whether the
// user's server routes the stanza to the contact.
func TestOutbound(t *testing.T) {
	// state → "next, route?" for each type.
	want := map[string]map[string]string{
		// A.2.1: routed in every state.
		"subscribe": {
			"None": "None+PO route", "None+PO": "None+PO route", "None+PI": "None+PO+PI route",
			"None+PO+PI": "None+PO+PI route", "To": "To route", "To+PI": "To+PI route",
			"From": "From+PO route", "From+PO": "From+PO route", "Both": "Both route",
		},
		// A.2.2: routed in every state.
		"unsubscribe": {
			"None": "None route", "None+PO": "None route", "None+PI": "None+PI route",
			"None+PO+PI": "None+PI route", "To": "None route", "To+PI": "None+PI route",
			"From": "From route", "From+PO": "From route", "Both": "From route",
		},
		// A.2.3: routed only when it approves a pending request; without
		// one it is kept as a pre-approval (§3.4) where the contact is not
		// subscribed yet.
		"subscribed": {
			"None": "None+AP", "None+PO": "None+PO+AP", "None+PI": "From route",
			"None+PO+PI": "From+PO route", "To": "To+AP", "To+PI": "Both route",
			"From": "From", "From+PO": "From+PO", "Both": "Both",
		},
		// A.2.4: routed when there is a subscription or a request to undo.
		"unsubscribed": {
			"None": "None", "None+PO": "None+PO", "None+PI": "None route",
			"None+PO+PI": "None+PO route", "To": "To", "To+PI": "To route",
			"From": "None route", "From+PO": "None+PO route", "Both": "To route",
		},
	}
	for typ, table := range want {
		for _, from := range states {
			t.Run(typ+"/"+from, func(t *testing.T) {
				next, route := presence.Outbound(typ, parseState(t, from))
				got := formatState(next)
				if route {
					got += " route"
				}
				if got != table[from] {
					t.Errorf("user sends %s in %s: got %q, want %q", typ, from, got, table[from])
				}
			})
		}
	}
}

// TestInbound walks RFC 6121 Appendix A.3: every state against each
// subscription stanza the contact sends, with the state after and what
// the user's server does with the stanza.
func TestInbound(t *testing.T) {
	want := map[string]map[string]string{
		// A.3.1: delivered and Pending In, unless the contact is already
		// subscribed (then the server answers 'subscribed' itself) or the
		// request is already pending (then nothing happens).
		"subscribe": {
			"None": "None+PI deliver", "None+PO": "None+PO+PI deliver", "None+PI": "None+PI ignore",
			"None+PO+PI": "None+PO+PI ignore", "To": "To+PI deliver", "To+PI": "To+PI ignore",
			"From": "From auto-reply", "From+PO": "From+PO auto-reply", "Both": "Both auto-reply",
		},
		// A.3.2.
		"unsubscribe": {
			"None": "None ignore", "None+PO": "None+PO ignore", "None+PI": "None deliver",
			"None+PO+PI": "None+PO deliver", "To": "To ignore", "To+PI": "To deliver",
			"From": "None deliver", "From+PO": "None+PO deliver", "Both": "To deliver",
		},
		// A.3.3: only an answer to the user's own request counts.
		"subscribed": {
			"None": "None ignore", "None+PO": "To deliver", "None+PI": "None+PI ignore",
			"None+PO+PI": "To+PI deliver", "To": "To ignore", "To+PI": "To+PI ignore",
			"From": "From ignore", "From+PO": "Both deliver", "Both": "Both ignore",
		},
		// A.3.4.
		"unsubscribed": {
			"None": "None ignore", "None+PO": "None deliver", "None+PI": "None+PI ignore",
			"None+PO+PI": "None+PI deliver", "To": "None deliver", "To+PI": "None+PI deliver",
			"From": "From ignore", "From+PO": "From deliver", "Both": "From deliver",
		},
	}
	for typ, table := range want {
		for _, from := range states {
			t.Run(typ+"/"+from, func(t *testing.T) {
				next, act := presence.Inbound(typ, parseState(t, from))
				got := formatState(next) + " " + actName(act)
				if got != table[from] {
					t.Errorf("contact sends %s in %s: got %q, want %q", typ, from, got, table[from])
				}
			})
		}
	}
}

// TestPreApproval covers RFC 6121 §3.4: a pre-approved contact's request
// is answered by the server and makes the contact a subscriber; the user's
// 'unsubscribed' withdraws a pre-approval.
func TestPreApproval(t *testing.T) {
	cases := []struct{ typ, dir, from, want string }{
		{"subscribe", "in", "None+AP", "From auto-reply"},
		{"subscribe", "in", "None+PO+AP", "From+PO auto-reply"},
		{"subscribe", "in", "To+AP", "Both auto-reply"},
		// §3.2.2 item 2: a withdrawn pre-approval is not routed.
		{"unsubscribed", "out", "None+AP", "None"},
		{"unsubscribed", "out", "To+AP", "To"},
		{"subscribed", "out", "None+AP", "None+AP"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s %s %s", tc.dir, tc.typ, tc.from), func(t *testing.T) {
			var got string
			if tc.dir == "in" {
				next, act := presence.Inbound(tc.typ, parseState(t, tc.from))
				got = formatState(next) + " " + actName(act)
			} else {
				next, route := presence.Outbound(tc.typ, parseState(t, tc.from))
				got = formatState(next)
				if route {
					got += " route"
				}
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func actName(a presence.InboundAction) string {
	switch a {
	case presence.Deliver:
		return "deliver"
	case presence.AutoReply:
		return "auto-reply"
	}
	return "ignore"
}
