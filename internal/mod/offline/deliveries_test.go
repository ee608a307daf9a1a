package offline

import (
	"testing"

	"github.com/parleyim/parley/internal/jid"
)

// One delivery per user at a time: a second caller leaves its session to
// the running delivery, which delivers to it next; the user's slot is
// free again once nothing asked.
func TestDeliveries(t *testing.T) {
	d := newDeliveries()
	bob := jid.MustParse("bob@localhost")
	phone, laptop := jid.MustParse("bob@localhost/phone"), jid.MustParse("bob@localhost/laptop")
	if !d.start(bob, phone) {
		t.Fatal("first delivery refused")
	}
	if d.start(bob, laptop) || d.start(bob, laptop) {
		t.Fatal("second delivery ran beside the first")
	}
	if !d.start(jid.MustParse("carol@localhost"), jid.MustParse("carol@localhost/x")) {
		t.Fatal("another user's delivery refused")
	}
	if next, ok := d.next(bob); !ok || next != laptop {
		t.Fatalf("next = %v, %v; want the laptop", next, ok)
	}
	if next, ok := d.next(bob); ok {
		t.Fatalf("next = %v after nothing asked", next)
	}
	if !d.start(bob, phone) {
		t.Fatal("delivery refused after the last one ended")
	}
}
