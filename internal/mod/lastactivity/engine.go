package lastactivity

import (
	"net/netip"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/parleyim/parley/internal/jid"
)

// availability records which sessions of each user are available: they
// sent initial presence (session.available) and have not since sent
// unavailable presence or ended. Each is known by its full JID and client
// address, so a session replaced by a newer one with the same full JID
// (RFC 6120 §7.7.2.2), which ends after its successor started, does not
// take the successor's availability with it.
type availability struct {
	mu    sync.Mutex
	users map[jid.JID][]availableSession // bare JID → its available sessions (a few; a map each would cost more)
}

type availableSession struct {
	resource string
	addr     netip.AddrPort
}

func newAvailability() *availability {
	return &availability{users: make(map[jid.JID][]availableSession)}
}

// set marks the session full at addr available.
func (a *availability) set(full jid.JID, addr netip.AddrPort) {
	a.mu.Lock()
	defer a.mu.Unlock()
	bare := full.Bare()
	ss := a.users[bare]
	for i := range ss {
		if ss[i].resource == full.Resource() {
			ss[i].addr = addr
			return
		}
	}
	a.users[bare] = append(ss, availableSession{full.Resource(), addr})
}

// unset marks the session full unavailable and reports whether it was
// available. With a valid addr, only the session at that address is
// unmarked.
func (a *availability) unset(full jid.JID, addr netip.AddrPort) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	bare := full.Bare()
	ss := a.users[bare]
	for i := range ss {
		if ss[i].resource != full.Resource() {
			continue
		}
		if addr.IsValid() && ss[i].addr != addr {
			return false
		}
		if len(ss) == 1 {
			delete(a.users, bare)
		} else {
			a.users[bare] = append(ss[:i:i], ss[i+1:]...)
		}
		return true
	}
	return false
}

// any reports whether the user has an available session.
func (a *availability) any(bare jid.JID) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.users[bare]) > 0
}

// maxStatus bounds the status text kept per user, in bytes. RFC 6121 sets
// no limit; a status is a short human sentence.
const maxStatus = 1024

// clip shortens s to at most maxStatus bytes without splitting a
// character.
func clip(s string) string {
	if len(s) <= maxStatus {
		return s
	}
	s = s[:maxStatus]
	for len(s) > 0 {
		r, size := utf8.DecodeLastRuneInString(s)
		if r != utf8.RuneError || size > 1 {
			break
		}
		s = s[:len(s)-1]
	}
	return s
}

// seconds returns the whole seconds from t to now, never negative (the
// clock may have been set back).
func seconds(t, now time.Time) int64 {
	return max(int64(now.Sub(t)/time.Second), 0)
}
