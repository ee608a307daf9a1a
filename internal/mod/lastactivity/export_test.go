package lastactivity

import "time"

// SetClock makes the module read the time from now until the test calls
// the function returned.
func SetClock(now func() time.Time) (restore func()) {
	old := clock
	clock = now
	return func() { clock = old }
}

// Clip exposes clip.
var Clip = clip

// MaxStatus exposes maxStatus.
const MaxStatus = maxStatus
