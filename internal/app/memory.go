package app

import (
	"context"
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// MemoryRelease sets when ReleaseIdleMemory hands memory back to the
// operating system.
type MemoryRelease struct {
	// Every is how often the allocation rate is sampled.
	Every time.Duration
	// Quiet is the most the process may allocate per sample for the
	// sample to count as quiet.
	Quiet uint64
	// QuietSamples is how many quiet samples in a row make the process
	// quiet.
	QuietSamples int
	// Churn is how much must have been allocated since the last release
	// for another to be worth a collection.
	Churn uint64
}

// DefaultMemoryRelease suits parley serve: a release about three seconds
// after the allocation rate fell below 1 MiB/s, once at least 32 MiB
// have been allocated since the last one.
func DefaultMemoryRelease() MemoryRelease {
	return MemoryRelease{Every: time.Second, Quiet: 1 << 20, QuietSamples: 3, Churn: 32 << 20}
}

// ReleaseIdleMemory returns the heap's free memory to the operating
// system when the process goes quiet after a busy spell, until ctx ends.
// It reports each release through released, if not nil.
//
// Go's collector lets the heap grow by GOGC percent over what is live
// before it collects, and its scavenger keeps that much resident. For a
// messaging server the live heap is mostly idle sessions, so after a
// burst of logins or messages the process stays at its peak: the garbage
// of the burst is never collected while nothing allocates (the runtime
// forces a collection only every two minutes) and, once collected, its
// pages stay resident up to the heap goal. A collection and a scavenge
// when the burst is over (debug.FreeOSMemory) take the process back to
// what it holds: at 5,000 idle TLS sessions, a few KiB a session. It
// costs one collection per quiet spell, and the pages come back with a
// page fault each when the load returns. The same policy as the JVM's
// periodic collection of an idle heap (G1PeriodicGCInterval, JEP 346).
func ReleaseIdleMemory(ctx context.Context, p MemoryRelease, log *slog.Logger, released func()) {
	sample := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return sample[0].Value.Uint64()
	}
	t := time.NewTicker(p.Every)
	defer t.Stop()
	last := read()
	base := last // allocation count at the last release
	quiet := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := read()
		if now-last <= p.Quiet {
			quiet++
		} else {
			quiet = 0
		}
		last = now
		if quiet < p.QuietSamples || now-base < p.Churn {
			continue
		}
		start := time.Now()
		debug.FreeOSMemory()
		log.Debug("returned idle memory to the system", "allocated_since_last_mib", (now-base)>>20, "took", time.Since(start).Round(time.Millisecond).String())
		base = read()
		last = base
		quiet = 0
		if released != nil {
			released()
		}
	}
}
