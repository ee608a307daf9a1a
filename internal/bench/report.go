package bench

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progressLine writes the live progress line: rewritten in place on a
// terminal, one line per interval otherwise.
type progressLine struct {
	w        io.Writer
	tty      bool
	enabled  bool
	mu       sync.Mutex
	lastLen  int
	prev     snapshot
	prevTime time.Duration
	clients  int
}

func newProgressLine(w io.Writer, o Options) *progressLine {
	p := &progressLine{w: w, enabled: o.Progress > 0, clients: o.Clients}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progressLine) print(phase string, s snapshot, elapsed time.Duration) {
	if !p.enabled {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	rate := 0.0
	if dt := (elapsed - p.prevTime).Seconds(); dt > 0 {
		rate = float64(s.Delivered-p.prev.Delivered) / dt
	}
	p.prev, p.prevTime = s, elapsed
	line := fmt.Sprintf("bench %6.1fs %-8s registered %d/%d  online %d/%d  sent %d  delivered %d (%.0f/s)  errors %d",
		elapsed.Seconds(), phase, s.Registered, p.clients, s.LoggedIn, p.clients, s.Sent, s.Delivered, rate, s.Errors)
	if p.tty {
		pad := ""
		if n := p.lastLen - len(line); n > 0 {
			pad = strings.Repeat(" ", n)
		}
		fmt.Fprintf(p.w, "\r%s%s", line, pad)
		p.lastLen = len(line)
	} else {
		fmt.Fprintln(p.w, line)
	}
}

// note writes a message on its own line.
func (p *progressLine) note(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.lastLen > 0 {
		fmt.Fprintln(p.w)
		p.lastLen = 0
	}
	fmt.Fprintln(p.w, msg)
}

func (p *progressLine) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.lastLen > 0 {
		fmt.Fprintln(p.w)
		p.lastLen = 0
	}
}

func fmtMS(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.2fs", v/1000)
	case v >= 10:
		return fmt.Sprintf("%.1fms", v)
	}
	return fmt.Sprintf("%.2fms", v)
}

func fmtKiB(v int64) string {
	if v >= 10*1024 {
		return fmt.Sprintf("%.1f MiB", float64(v)/1024)
	}
	return fmt.Sprintf("%d KiB", v)
}

// WriteSummary prints the result as a table.
func WriteSummary(w io.Writer, r *Result) {
	procs := "1 process"
	if r.Procs > 1 {
		procs = fmt.Sprintf("%d processes", r.Procs)
	}
	fmt.Fprintf(w, "parley bench: %s (domain %s), %d clients in %s, tls %s, sasl %s\n",
		r.Server, r.Domain, r.Clients, procs, r.TLS, r.Mechanism)
	if r.Interrupted {
		fmt.Fprintln(w, "INTERRUPTED: the figures cover the run until it stopped")
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  %-14s %9s %8s %9s %11s\n", "", "ok", "errors", "time", "rate")
	if r.Registered+r.RegisterErrors > 0 {
		fmt.Fprintf(w, "  %-14s %9d %8d %8.2fs %9.1f/s\n", "registrations", r.Registered, r.RegisterErrors, r.RegisterSeconds, r.RegisterRate)
	}
	fmt.Fprintf(w, "  %-14s %9d %8d %8.2fs %9.1f/s   login time p50 %s  p99 %s  max %s\n", "logins",
		r.LoggedIn, r.LoginErrors, r.LoginSeconds, r.LoginRate,
		fmtMS(r.LoginLatency.P50), fmtMS(r.LoginLatency.P99), fmtMS(r.LoginLatency.Max))
	if r.Sent > 0 || r.Delivered > 0 {
		target := "as fast as possible"
		if r.TargetRate > 0 {
			target = fmt.Sprintf("target %.0f/s", r.TargetRate)
		} else if r.Window > 0 {
			target += fmt.Sprintf(", window %d", r.Window)
		}
		fmt.Fprintf(w, "  %-14s %9d %8d %8.2fs %9.1f/s   sent %d (%.1f/s, %s), lost %d\n", "messages",
			r.Delivered, r.Errors-r.LoginErrors-r.RegisterErrors, r.SendSeconds, r.DeliveredPerSecond,
			r.Sent, r.SendRate, target, r.Lost)
		fmt.Fprintf(w, "  %-14s p50 %s  p90 %s  p99 %s  max %s\n", "latency",
			fmtMS(r.Latency.P50), fmtMS(r.Latency.P90), fmtMS(r.Latency.P99), fmtMS(r.Latency.Max))
		if r.Stale > 0 || r.Reordered > 0 {
			fmt.Fprintf(w, "  %-14s %d stale (from an earlier run), %d out of order or duplicated\n", "", r.Stale, r.Reordered)
		}
	}
	if r.PID != 0 {
		fmt.Fprintf(w, "  %-14s pid %d RSS before logins %s, after (%.0fs hold) %s: %.1f KiB per session",
			"server memory", r.PID, fmtKiB(r.RSSBeforeKiB), r.HoldSeconds, fmtKiB(r.RSSAfterKiB), r.MemPerSessionKiB)
		if r.RSSEndKiB > 0 && (r.Sent > 0) {
			fmt.Fprintf(w, "; after messages %s", fmtKiB(r.RSSEndKiB))
		}
		fmt.Fprintln(w)
	}
	if len(r.ErrorKinds) > 0 {
		fmt.Fprintf(w, "\n  errors (%d):\n", r.Errors)
		for _, k := range sortedKinds(r.ErrorKinds) {
			fmt.Fprintf(w, "    %6d  %s\n", r.ErrorKinds[k], k)
		}
	}
}
