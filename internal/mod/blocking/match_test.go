package blocking_test

import (
	"testing"

	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/mod/blocking"
)

// XEP-0191 §6 (the order of XEP-0016 §2.1): what each kind of item
// matches.
func TestMatching(t *testing.T) {
	const (
		full      = "romeo@montague.net/orchard"
		otherRes  = "romeo@montague.net/garden"
		bare      = "romeo@montague.net"
		otherUser = "benvolio@montague.net"
		domRes    = "montague.net/chat"
		domOther  = "montague.net/other"
		domain    = "montague.net"
		sub       = "conference.montague.net"
		subUser   = "room@conference.montague.net"
		elsewhere = "romeo@capulet.com/orchard"
		sameRes   = "capulet.com/orchard"
		sameLocal = "romeo@capulet.com"
	)
	cases := []struct {
		name  string
		items []string
		x     string
		want  bool
	}{
		{"full matches itself", []string{full}, full, true},
		{"full not another resource", []string{full}, otherRes, false},
		{"full not the bare JID", []string{full}, bare, false},
		{"full not the domain", []string{full}, domain, false},
		{"bare matches itself", []string{bare}, bare, true},
		{"bare matches any resource", []string{bare}, full, true},
		{"bare matches another resource", []string{bare}, otherRes, true},
		{"bare not another user", []string{bare}, otherUser, false},
		{"bare not the domain", []string{bare}, domain, false},
		{"bare not the same local part elsewhere", []string{bare}, elsewhere, false},
		{"domain/resource matches itself", []string{domRes}, domRes, true},
		{"domain/resource not another resource", []string{domRes}, domOther, false},
		{"domain/resource not the domain", []string{domRes}, domain, false},
		{"domain/resource not a user with that resource", []string{domRes}, "romeo@montague.net/chat", false},
		{"domain matches itself", []string{domain}, domain, true},
		{"domain matches a user", []string{domain}, bare, true},
		{"domain matches a user's resource", []string{domain}, full, true},
		{"domain matches domain/resource", []string{domain}, domRes, true},
		{"domain not a subdomain", []string{domain}, sub, false},
		{"domain not a user of a subdomain", []string{domain}, subUser, false},
		{"domain not another domain", []string{domain}, sameLocal, false},
		{"empty list", nil, full, false},
		{"several items", []string{sameRes, domain}, full, true},
		{"several items, none matching", []string{sameRes, otherUser}, full, false},
		{"resource elsewhere", []string{sameRes}, elsewhere, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var items []jid.JID
			for _, s := range tc.items {
				items = append(items, jid.MustParse(s))
			}
			if got := blocking.Blocks(items, jid.MustParse(tc.x)); got != tc.want {
				t.Fatalf("list %v blocks %s = %v, want %v", tc.items, tc.x, got, tc.want)
			}
		})
	}
}

// XEP-0191 §5: one's own resources are never blocked; nor is one's own
// server.
func TestExempt(t *testing.T) {
	user := jid.MustParse("juliet@capulet.com")
	cases := []struct {
		other string
		want  bool
	}{
		{"juliet@capulet.com", true},
		{"juliet@capulet.com/balcony", true},
		{"capulet.com", true},
		{"capulet.com/admin", false},
		{"nurse@capulet.com", false},
		{"juliet@montague.net", false},
	}
	for _, tc := range cases {
		t.Run(tc.other, func(t *testing.T) {
			if got := blocking.Exempt(user, jid.MustParse(tc.other)); got != tc.want {
				t.Fatalf("Exempt(%s, %s) = %v, want %v", user, tc.other, got, tc.want)
			}
		})
	}
}
