package stanza_test

import (
	"errors"
	"testing"

	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/stanza"
	"github.com/parleyim/parley/internal/xmlstream"
	"github.com/parleyim/parley/internal/xmpptest"
)

// TestConditionTypes pins the error type each defined condition carries,
// as in the examples of RFC 6120 §8.3.3.
func TestConditionTypes(t *testing.T) {
	cases := []struct {
		err  *stanza.Error
		cond string
		typ  string
	}{
		{stanza.ErrBadRequest, "bad-request", stanza.Modify},                        // §8.3.3.1
		{stanza.ErrConflict, "conflict", stanza.Cancel},                             // §8.3.3.2
		{stanza.ErrFeatureNotImplemented, "feature-not-implemented", stanza.Cancel}, // §8.3.3.3
		{stanza.ErrForbidden, "forbidden", stanza.Auth},                             // §8.3.3.4
		{stanza.ErrGone, "gone", stanza.Cancel},                                     // §8.3.3.5
		{stanza.ErrInternalServerError, "internal-server-error", stanza.Cancel},     // §8.3.3.6
		{stanza.ErrItemNotFound, "item-not-found", stanza.Cancel},                   // §8.3.3.7
		{stanza.ErrJIDMalformed, "jid-malformed", stanza.Modify},                    // §8.3.3.8
		{stanza.ErrNotAcceptable, "not-acceptable", stanza.Modify},                  // §8.3.3.9
		{stanza.ErrNotAllowed, "not-allowed", stanza.Cancel},                        // §8.3.3.10
		{stanza.ErrNotAuthorized, "not-authorized", stanza.Auth},                    // §8.3.3.11
		{stanza.ErrPolicyViolation, "policy-violation", stanza.Modify},              // §8.3.3.12
		{stanza.ErrRecipientUnavailable, "recipient-unavailable", stanza.Wait},      // §8.3.3.13
		{stanza.ErrRedirect, "redirect", stanza.Modify},                             // §8.3.3.14
		{stanza.ErrRegistrationRequired, "registration-required", stanza.Auth},      // §8.3.3.15
		{stanza.ErrRemoteServerNotFound, "remote-server-not-found", stanza.Cancel},  // §8.3.3.16
		{stanza.ErrRemoteServerTimeout, "remote-server-timeout", stanza.Wait},       // §8.3.3.17
		{stanza.ErrResourceConstraint, "resource-constraint", stanza.Wait},          // §8.3.3.18
		{stanza.ErrServiceUnavailable, "service-unavailable", stanza.Cancel},        // §8.3.3.19
		{stanza.ErrSubscriptionRequired, "subscription-required", stanza.Auth},      // §8.3.3.20
		{stanza.ErrUnexpectedRequest, "unexpected-request", stanza.Wait},            // §8.3.3.22
	}
	for _, tc := range cases {
		if tc.err.Condition != tc.cond || tc.err.Type != tc.typ {
			t.Errorf("%s: condition %q type %q, want %q %q", tc.cond, tc.err.Condition, tc.err.Type, tc.cond, tc.typ)
		}
		if !errors.Is(tc.err.WithText("why"), tc.err) {
			t.Errorf("%s: errors.Is does not match by condition", tc.cond)
		}
	}
}

// TestErrorReply checks the error reply of RFC 6120 §8.3.1: same kind and
// id, type error, 'from' and 'to' swapped, the original payload kept
// (minus any error it carried), the error element last; and the original
// stanza left untouched (it may be shared by a fan-out).
func TestErrorReply(t *testing.T) {
	alice := jid.MustParse("alice@example.com/a")
	bob := jid.MustParse("bob@example.com")
	cases := []struct {
		name string
		in   string
		err  *stanza.Error
		want string
	}{
		{"message",
			`<message type='chat' id='m1' xml:lang='fr'><body>salut</body></message>`,
			stanza.ErrServiceUnavailable,
			`<message type='error' id='m1' from='bob@example.com' to='alice@example.com/a' xml:lang='fr'><body>salut</body>
			  <error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`},
		{"message without id",
			`<message><body>x</body></message>`,
			stanza.ErrServiceUnavailable,
			`<message type='error' from='bob@example.com' to='alice@example.com/a'><body>x</body>
			  <error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`},
		{"iq with text",
			`<iq type='get' id='q1'><query xmlns='urn:example'/></iq>`,
			stanza.ErrItemNotFound.WithText("nothing here"),
			`<iq type='error' id='q1' from='bob@example.com' to='alice@example.com/a'><query xmlns='urn:example'/>
			  <error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>
			  <text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>nothing here</text></error></iq>`},
		{"presence carrying an old error",
			`<presence type='subscribe' id='p1'><status>hi</status>` +
				`<error type='wait'><resource-constraint xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>`,
			stanza.ErrRemoteServerNotFound,
			`<presence type='error' id='p1' from='bob@example.com' to='alice@example.com/a'><status>hi</status>
			  <error type='cancel'><remote-server-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := stanza.New(xmpptest.Parse(t, tc.in), alice, bob)
			before := in.El.String()
			got := stanza.ErrorReply(in, tc.err)
			if !xmpptest.Match(xmpptest.Parse(t, tc.want), got.El) {
				t.Errorf("got  %s\nwant %s", got.El, xmpptest.Parse(t, tc.want))
			}
			if got.From != bob || got.To != alice {
				t.Errorf("addresses from %v to %v, want %v → %v", got.From, got.To, bob, alice)
			}
			if after := in.El.String(); after != before {
				t.Errorf("original changed:\n%s\n%s", before, after)
			}
			pe := stanza.ParseError(got.El)
			if pe == nil || pe.Type != tc.err.Type || pe.Condition != tc.err.Condition || pe.Text != tc.err.Text {
				t.Errorf("ParseError = %+v, want %+v", pe, tc.err)
			}
		})
	}
}

// TestWithTo checks that readdressing copies: the original keeps its 'to'.
func TestWithTo(t *testing.T) {
	el := xmlstream.New("jabber:client", "presence")
	st := stanza.New(el, jid.MustParse("alice@example.com/a"), jid.MustParse("bob@example.com"))
	c := st.WithTo(jid.MustParse("bob@example.com/desk"))
	if st.El.Attr("to") != "bob@example.com" || c.El.Attr("to") != "bob@example.com/desk" || c.To.Resource() != "desk" {
		t.Errorf("original to %q, copy to %q (%v)", st.El.Attr("to"), c.El.Attr("to"), c.To)
	}
}
