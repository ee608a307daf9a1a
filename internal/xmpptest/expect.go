package xmpptest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/client"
	"github.com/parleyim/parley/internal/xmlstream"
)

// Any is the wildcard for Match patterns: an attribute value or text of
// exactly "{any}" matches any value, and a child element named any
// matches any one element.
const Any = "{any}"

// Parse parses one element in the jabber:client namespace.
func Parse(t testing.TB, s string) *xmlstream.Element {
	t.Helper()
	e, err := xmlstream.ParseFrame([]byte(s), "jabber:client", xmlstream.Limits{})
	if err != nil {
		t.Fatalf("xmpptest: parse %q: %v", s, err)
	}
	return e
}

// Match reports whether got matches the pattern want: same name, every
// attribute of want present in got with the same value (or Any), and the
// child elements of want matching got's child elements in order.
// Attributes of got that want does not name are ignored, so patterns only
// pin what the RFC requires. Whitespace-only text is ignored.
func Match(want, got *xmlstream.Element) bool {
	if want.Name != got.Name {
		return false
	}
	for _, a := range want.Attrs {
		v, ok := attr(got, a.Name)
		if !ok || (a.Value != Any && a.Value != v) {
			return false
		}
	}
	wt := strings.TrimSpace(want.Text())
	if wt != "" && wt != Any && wt != strings.TrimSpace(got.Text()) {
		return false
	}
	we, ge := want.Elements(), got.Elements()
	if len(we) != len(ge) {
		return false
	}
	for i := range we {
		if !Match(we[i], ge[i]) {
			return false
		}
	}
	return true
}

func attr(e *xmlstream.Element, n xmlstream.Name) (string, bool) {
	for _, a := range e.Attrs {
		if a.Name == n {
			return a.Value, true
		}
	}
	return "", false
}

// Expect receives the next element on c within 5 seconds and fails the
// test unless it matches the pattern want.
func Expect(t testing.TB, c *client.Conn, want string) *xmlstream.Element {
	t.Helper()
	return ExpectWithin(t, c, 5*time.Second, want)
}

// ExpectWithin is Expect with a deadline.
func ExpectWithin(t testing.TB, c *client.Conn, d time.Duration, want string) *xmlstream.Element {
	t.Helper()
	w := Parse(t, want)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	got, err := c.Recv(ctx)
	if err != nil {
		t.Fatalf("xmpptest: waiting for %s: %v", want, err)
	}
	if !Match(w, got) {
		t.Fatalf("xmpptest: got  %s\nwant %s", got.String(), w.String())
	}
	return got
}

// ExpectNothing checks that nothing arrives on c within d.
func ExpectNothing(t testing.TB, c *client.Conn, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	got, err := c.Recv(ctx)
	if err == nil {
		t.Fatalf("xmpptest: expected nothing, got %s", got.String())
	}
}
