package bench_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/bench"
	"github.com/parleyim/parley/internal/xmpptest"
)

// TestProfileServer profiles an in-process Parley under a bench run, since
// the server has no pprof endpoint yet. It is skipped unless
// PARLEY_BENCH_PROFILE names a directory; it then writes cpu.pprof (the
// whole run) and heap.pprof (in-use memory with every session online) there.
// The load generator runs in the same process: read the profiles by
// package (go tool pprof -focus 'session|router|xmlstream|crypto/tls').
// PARLEY_BENCH_PROFILE_ARGS adds parley bench flags, for example
// "--clients 5000 --tls starttls --duration 0".
func TestProfileServer(t *testing.T) {
	dir := os.Getenv("PARLEY_BENCH_PROFILE")
	if dir == "" {
		t.Skip("set PARLEY_BENCH_PROFILE=DIR to profile an in-process server")
	}
	srv := xmpptest.Start(t, "tls: { required: false }")
	host, port, _ := strings.Cut(srv.Addr, ":")
	args := []string{"--host", host, "--port", port, "--domain", srv.Domain, "--progress", "0",
		"--clients", "2000", "--tls", "none", "--mech", "SCRAM-SHA-1", "--duration", "5s", "--hold", "2s"}
	args = append(args, strings.Fields(os.Getenv("PARLEY_BENCH_PROFILE_ARGS"))...)
	o, err := bench.ParseArgs(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	o.PID = os.Getpid()
	cpu, err := os.Create(filepath.Join(dir, "cpu.pprof"))
	if err != nil {
		t.Fatal(err)
	}
	defer cpu.Close()
	if err := pprof.StartCPUProfile(cpu); err != nil {
		t.Fatal(err)
	}
	// Take the heap profile once the progress line says "hold": every
	// session is online and idle.
	o.Progress = 200 * time.Millisecond
	var once sync.Once
	trigger := writerFunc(func(p []byte) (int, error) {
		if strings.Contains(string(p), " hold ") {
			once.Do(func() {
				runtime.GC()
				if f, err := os.Create(filepath.Join(dir, "heap.pprof")); err == nil {
					pprof.Lookup("heap").WriteTo(f, 0)
					f.Close()
				}
			})
		}
		return len(p), nil
	})
	res, err := bench.Run(context.Background(), o, trigger)
	pprof.StopCPUProfile()
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	bench.WriteSummary(&sb, res)
	t.Log("\n" + sb.String())
	t.Log("goroutines at the end: " + strconv.Itoa(runtime.NumGoroutine()))
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
