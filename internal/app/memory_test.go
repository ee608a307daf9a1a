package app_test

import (
	"context"
	"io"
	"log/slog"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/app"
)

// sink keeps the test's allocations from being optimised away.
var sink []byte

func forcedCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/forced:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestReleaseIdleMemory checks that a busy spell followed by quiet brings
// one release, and that a busy process gets none.
func TestReleaseIdleMemory(t *testing.T) {
	p := app.MemoryRelease{Every: 20 * time.Millisecond, Quiet: 256 << 10, QuietSamples: 3, Churn: 8 << 20}
	ctx, cancel := context.WithCancel(context.Background())
	released := make(chan struct{}, 10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		app.ReleaseIdleMemory(ctx, p, slog.New(slog.NewTextHandler(io.Discard, nil)), func() { released <- struct{}{} })
	}()
	defer func() { cancel(); <-done }()

	// Busy: allocate about 2 MiB every 10 ms for half a second. No
	// sample is quiet, so nothing may be released meanwhile.
	busyUntil := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(busyUntil) {
		for range 32 {
			sink = make([]byte, 64<<10)
		}
		time.Sleep(10 * time.Millisecond)
		select {
		case <-released:
			t.Fatal("memory released while the process was busy")
		default:
		}
	}
	before := forcedCycles()
	// Quiet: one release comes within a few samples.
	select {
	case <-released:
	case <-time.After(2 * time.Second):
		t.Fatal("no release after the process went quiet")
	}
	if got := forcedCycles(); got <= before {
		t.Errorf("forced GC cycles %d, before %d: want a forced collection", got, before)
	}
	// Still quiet, with nothing allocated since: no second release.
	select {
	case <-released:
		t.Fatal("a second release with nothing allocated since the first")
	case <-time.After(300 * time.Millisecond):
	}
}
