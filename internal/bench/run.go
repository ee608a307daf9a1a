package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

// Result is the outcome of a run, as printed by --json. Rates are per
// second; durations in seconds unless the name says otherwise.
type Result struct {
	Server    string `json:"server"`
	Domain    string `json:"domain"`
	Clients   int    `json:"clients"`
	Procs     int    `json:"procs"`
	TLS       string `json:"tls"`
	Mechanism string `json:"mechanism"`

	Registered      int64   `json:"registered"`
	RegisterErrors  int64   `json:"register_errors"`
	RegisterSeconds float64 `json:"register_seconds"`
	RegisterRate    float64 `json:"register_rate"`

	LoggedIn     int64       `json:"logged_in"`
	LoginErrors  int64       `json:"login_errors"`
	LoginSeconds float64     `json:"login_seconds"`
	LoginRate    float64     `json:"login_rate"`
	LoginLatency Percentiles `json:"login_latency"`

	PID                int         `json:"pid,omitempty"`
	RSSBeforeKiB       int64       `json:"rss_before_kib,omitempty"`
	RSSAfterKiB        int64       `json:"rss_after_kib,omitempty"`
	RSSEndKiB          int64       `json:"rss_end_kib,omitempty"` // after the messages
	MemPerSessionKiB   float64     `json:"mem_per_session_kib,omitempty"`
	HoldSeconds        float64     `json:"hold_seconds"`
	TargetRate         float64     `json:"target_rate"` // 0: as fast as possible
	Window             int         `json:"window"`
	Sent               int64       `json:"sent"`
	Delivered          int64       `json:"delivered"`
	Lost               int64       `json:"lost"`
	Stale              int64       `json:"stale"`
	Reordered          int64       `json:"reordered"`
	SendSeconds        float64     `json:"send_seconds"`
	SendRate           float64     `json:"send_rate"`
	DeliveredPerSecond float64     `json:"delivered_per_sec"`
	Latency            Percentiles `json:"latency"`

	Errors      int64            `json:"errors"`
	ErrorKinds  map[string]int64 `json:"error_kinds,omitempty"`
	Interrupted bool             `json:"interrupted,omitempty"`
}

// OK reports whether every login succeeded and every message arrived.
func (r *Result) OK() bool {
	return !r.Interrupted && r.Errors == 0 && r.Lost == 0 && r.LoggedIn == int64(r.Clients)
}

// handle is the coordinator's end of one worker, in this process or a
// child process.
type handle interface {
	command(cmd string)
	// wait returns once the worker has finished and released its
	// resources.
	wait()
}

// coordinator drives the workers through the phases together and merges
// what they report.
type coordinator struct {
	o        Options
	stderr   io.Writer
	events   chan event
	workers  []handle
	snaps    []snapshot
	reports  []*report
	progress *progressLine
	started  time.Time
	phase    string
	reached  []int // phaseRank of the last event of each worker
	stopped  bool  // stop was sent: wait for done only
	// interrupted is set when ctx ended; failure when a worker failed.
	interrupted bool
	failure     error
}

// workerCmd is the command line that starts a worker process: this binary's
// bench command. Tests replace it with their own binary.
var workerCmd = func() ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return []string{exe, "bench"}, nil
}

// Run runs a benchmark and returns its result. Progress goes to stderr.
// Cancelling ctx stops the run early; the result then says Interrupted.
func Run(ctx context.Context, o Options, stderr io.Writer) (*Result, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	var rb [4]byte
	rand.Read(rb[:])
	runID := hex.EncodeToString(rb[:])
	sps := shares(o, runID, o.Procs)
	var childErr io.Writer = stderr // a file is handed to the children as is
	if _, ok := stderr.(*os.File); !ok {
		sw := &syncWriter{w: stderr}
		stderr, childErr = sw, sw
	}
	c := &coordinator{
		o:        o,
		stderr:   stderr,
		events:   make(chan event, 64*o.Procs),
		snaps:    make([]snapshot, o.Procs),
		reports:  make([]*report, o.Procs),
		reached:  make([]int, o.Procs),
		progress: newProgressLine(stderr, o),
		started:  time.Now(),
	}
	var err error
	if o.Procs == 1 {
		c.workers = []handle{startLocal(ctx, sps[0], c.events)}
	} else {
		for _, sp := range sps {
			h, serr := startProcess(sp, c.events, childErr)
			if serr != nil {
				err = fmt.Errorf("bench: start worker %d: %w", sp.Index, serr)
				c.stopAll()
				break
			}
			c.workers = append(c.workers, h)
		}
	}
	var res *Result
	if err == nil {
		res, err = c.run(ctx)
	}
	// Workers may still emit (progress) while they close their sessions.
	drained := make(chan struct{})
	go func() {
		for {
			select {
			case <-c.events:
			case <-drained:
				return
			}
		}
	}()
	for _, w := range c.workers {
		w.wait()
	}
	close(drained)
	c.progress.finish()
	return res, err
}

func (c *coordinator) broadcast(cmd string) {
	for _, w := range c.workers {
		w.command(cmd)
	}
}

func (c *coordinator) stopAll() {
	if !c.stopped {
		c.stopped = true
		c.broadcast(cmdStop)
	}
}

// phaseRank orders the events a worker sends as it goes through a run.
var phaseRank = map[string]int{"registered": 1, "ready": 2, "done": 3}

// await handles events until every worker has reached kind, or until d
// (if positive) has passed. Once the run is stopped (interrupted, or a
// worker failed) it waits for every worker to be done.
func (c *coordinator) await(ctx context.Context, kind string, d time.Duration) {
	var tick, timer <-chan time.Time
	if c.o.Progress > 0 {
		t := time.NewTicker(c.o.Progress)
		defer t.Stop()
		tick = t.C
	}
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	cancelled := ctx.Done()
	for {
		if c.stopped {
			kind, timer = "done", nil
		}
		if kind != "" && c.allReached(kind) {
			return
		}
		select {
		case ev := <-c.events:
			c.handle(ev)
		case <-tick:
			c.progress.print(c.phase, c.total(), time.Since(c.started))
		case <-timer:
			return
		case <-cancelled:
			cancelled = nil
			c.interrupted = true
			c.stopAll()
		}
	}
}

func (c *coordinator) handle(ev event) {
	if ev.Worker < 0 || ev.Worker >= len(c.workers) {
		return
	}
	c.snaps[ev.Worker] = ev.Snap
	switch ev.Kind {
	case "fail":
		// The worker is gone (its process died or broke the protocol).
		if c.failure == nil {
			c.failure = fmt.Errorf("bench: worker %d: %s", ev.Worker, ev.Err)
		}
		c.reached[ev.Worker] = phaseRank["done"]
		c.stopAll()
	case "done":
		c.reports[ev.Worker] = ev.Report
	}
	if r := phaseRank[ev.Kind]; r > c.reached[ev.Worker] {
		c.reached[ev.Worker] = r
	}
}

func (c *coordinator) allReached(kind string) bool {
	for _, r := range c.reached {
		if r < phaseRank[kind] {
			return false
		}
	}
	return true
}

func (c *coordinator) total() snapshot {
	var s snapshot
	for _, x := range c.snaps {
		s.add(x)
	}
	return s
}

func (c *coordinator) run(ctx context.Context) (*Result, error) {
	o := c.o
	res := &Result{
		Server: o.Addr(), Domain: o.Domain, Clients: o.Clients, Procs: o.Procs,
		TLS: o.TLS, Mechanism: o.Mechanism, PID: o.PID, TargetRate: o.Rate, Window: o.Window,
	}
	if res.Mechanism == "" {
		res.Mechanism = "auto"
	}
	if o.Rate > 0 {
		res.Window = 0
	}
	rss := func() int64 {
		if o.PID == 0 {
			return 0
		}
		v, err := RSS(o.PID)
		if err != nil {
			c.progress.note(fmt.Sprintf("bench: %v", err))
		}
		return v
	}

	end := func() (*Result, error) {
		c.await(ctx, "done", 0)
		return c.merge(res), c.failure
	}

	c.phase = "register"
	t0 := time.Now()
	if c.await(ctx, "registered", 0); c.stopped {
		return end()
	}
	res.RegisterSeconds = time.Since(t0).Seconds()

	res.RSSBeforeKiB = rss()
	c.phase = "login"
	t0 = time.Now()
	c.broadcast(cmdLogin)
	if c.await(ctx, "ready", 0); c.stopped {
		return end()
	}
	res.LoginSeconds = time.Since(t0).Seconds()

	c.phase = "hold"
	hold := o.Hold
	if o.PID != 0 && hold < time.Second {
		hold = time.Second // let the server settle before the sample
	}
	if hold > 0 {
		t0 = time.Now()
		if c.await(ctx, "", hold); c.stopped {
			return end()
		}
		res.HoldSeconds = time.Since(t0).Seconds()
	}
	res.RSSAfterKiB = rss()

	c.phase = "send"
	if !o.sends() {
		c.phase = "close"
	}
	c.broadcast(cmdSend)
	c.await(ctx, "done", 0)
	res.RSSEndKiB = rss()
	return end()
}

// merge fills res from the workers' reports.
func (c *coordinator) merge(res *Result) *Result {
	var lat, login histData
	var first, lastSend, lastRecv int64
	kinds := map[string]int64{}
	var s snapshot
	res.Interrupted = c.interrupted
	for i, r := range c.reports {
		if r == nil {
			res.Interrupted = true
			s.add(c.snaps[i])
			continue
		}
		s.add(r.Snap)
		lat.merge(r.Latency)
		login.merge(r.LoginLatency)
		if r.FirstSend != 0 && (first == 0 || r.FirstSend < first) {
			first = r.FirstSend
		}
		lastSend = max(lastSend, r.LastSend)
		lastRecv = max(lastRecv, r.LastRecv)
		res.Stale += r.Stale
		res.Reordered += r.Reordered
		res.Interrupted = res.Interrupted || r.Interrupted
		for k, v := range r.ErrorKinds {
			kinds[k] += v
		}
	}
	res.Registered, res.RegisterErrors = s.Registered, s.RegisterErrors
	res.LoggedIn, res.LoginErrors = s.LoggedIn, s.LoginErrors
	res.Sent, res.Delivered = s.Sent, s.Delivered
	res.Lost = max(s.Sent-s.Delivered, 0)
	res.Errors = s.Errors
	if len(kinds) > 0 {
		res.ErrorKinds = kinds
	}
	if res.RegisterSeconds > 0 {
		res.RegisterRate = float64(res.Registered) / res.RegisterSeconds
	}
	if res.LoginSeconds > 0 {
		res.LoginRate = float64(res.LoggedIn) / res.LoginSeconds
	}
	res.LoginLatency = login.percentiles()
	res.Latency = lat.percentiles()
	if first != 0 {
		if d := float64(lastSend-first) / 1e9; d > 0 {
			res.SendRate = float64(res.Sent) / d
		}
		if d := float64(lastRecv-first) / 1e9; d > 0 {
			res.SendSeconds = d
			res.DeliveredPerSecond = float64(res.Delivered) / d
		}
	}
	if res.RSSBeforeKiB > 0 && res.RSSAfterKiB > 0 && res.LoggedIn > 0 {
		res.MemPerSessionKiB = float64(res.RSSAfterKiB-res.RSSBeforeKiB) / float64(res.LoggedIn)
	}
	return res
}

// RSS returns the resident set size of process pid in KiB, from
// /proc/PID/status (VmRSS).
func RSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("bench: server memory: %w", err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb); err != nil {
				return 0, fmt.Errorf("bench: server memory: parse %q: %w", line, err)
			}
			return kb, nil
		}
	}
	return 0, errors.New("bench: server memory: no VmRSS in /proc/" + fmt.Sprint(pid) + "/status")
}

func sortedKinds(m map[string]int64) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		if m[ks[i]] != m[ks[j]] {
			return m[ks[i]] > m[ks[j]]
		}
		return ks[i] < ks[j]
	})
	return ks
}

// syncWriter serialises writes to a writer shared by the progress line and
// the workers' stderr.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
