package offline

import (
	"time"

	"github.com/parleyim/parley/internal/xmlstream"
)

// Decisions, as the tests name them.
const (
	Keep    = "keep"
	Refuse  = "refuse"
	Discard = "discard"
)

// Decide exposes decide to the tests.
func Decide(el *xmlstream.Element) string {
	return [...]string{keep: Keep, refuse: Refuse, discard: Discard}[decide(el)]
}

// Stamp exposes stamp to the tests.
func Stamp(el *xmlstream.Element, domain string, t time.Time) *xmlstream.Element {
	return stamp(el, domain, t)
}

// ModuleWithClock is the module stamping with the time from now.
var ModuleWithClock = define
