package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// parleyBin is the parley binary TestMain builds for every test.
var parleyBin string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "parley-interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	parleyBin = filepath.Join(dir, "parley")
	// The server runs under the race detector when the tests do, so a race
	// that only real clients provoke still fails the run.
	args := []string{"build", "-o", parleyBin}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "github.com/parleyim/parley/cmd/parley")
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "interop: go %s: %v\n%s", strings.Join(args, " "), err, out)
		return 1
	}
	return m.Run()
}

// server is a `parley serve` process on loopback ports.
type server struct {
	C2S     string // STARTTLS listener, host:port
	C2STLS  string // direct TLS listener, host:port
	DataDir string
	// Cert is the self-signed certificate the server generated, which the
	// clients trust for the name localhost.
	Cert string

	cfgPath string
	socket  string     // the admin socket
	proc    *process   // the running process
	earlier []*process // processes stopped by restart, for their logs
}

// process is one run of `parley serve`.
type process struct {
	cmd  *exec.Cmd
	log  *serverLog
	done chan struct{} // closed when the process has exited
	err  error         // cmd.Wait's result, valid after done
}

// startServer runs a fresh `parley serve` with its own data_dir and
// ephemeral ports read back from its log, and stops it with SIGTERM when
// the test ends, failing the test unless it exits 0 without logging an
// error. The whole server log is printed when the test has failed.
func startServer(t *testing.T) *server {
	t.Helper()
	dir := t.TempDir()
	socket := filepath.Join(dir, "parley.sock")
	if len(socket) > 100 { // unix socket paths are short
		sd, err := os.MkdirTemp("", "pi")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(sd) })
		socket = filepath.Join(sd, "parley.sock")
	}
	cfg := fmt.Sprintf(`hosts: [localhost]
data_dir: %q
registration: open
listen:
  c2s: "127.0.0.1:0"
  c2s_tls: "127.0.0.1:0"
limits:
  registrations_per_ip: unlimited
admin:
  socket: %q
log:
  level: debug
  format: json
`, dir, socket)
	cfgPath := filepath.Join(dir, "parley.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	s := &server{
		DataDir: dir,
		Cert:    filepath.Join(dir, "tls", "selfsigned.crt"),
		cfgPath: cfgPath,
		socket:  socket,
	}
	t.Cleanup(func() { s.stop(t) })
	s.launch(t)
	return s
}

// launch starts a `parley serve` process on s's configuration and waits
// until it has logged that it started and where it listens.
func (s *server) launch(t *testing.T) {
	t.Helper()
	p := &process{log: &serverLog{started: make(chan struct{})}, done: make(chan struct{})}
	p.cmd = exec.Command(parleyBin, "serve", "--config", s.cfgPath)
	p.cmd.Dir = s.DataDir
	p.cmd.Stdout = p.log
	p.cmd.Stderr = p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting parley: %v", err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	s.proc = p

	select {
	case <-p.log.started:
	case <-p.done:
		t.Fatalf("parley exited before it started: %v\n%s", p.err, p.log.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("parley did not log \"parley started\" within 30s\n%s", p.log.String())
	}
	s.C2S, s.C2STLS = p.log.addr("c2s"), p.log.addr("c2s_tls")
	if s.C2S == "" || s.C2STLS == "" {
		t.Fatalf("parley did not log both listeners (c2s %q, c2s_tls %q)\n%s", s.C2S, s.C2STLS, p.log.String())
	}
	if _, err := os.Stat(s.Cert); err != nil {
		t.Fatalf("no generated certificate: %v", err)
	}
}

// restart stops the server with SIGTERM, as stop does, and starts it
// again on the same configuration and data_dir. The listeners get new
// ports.
func (s *server) restart(t *testing.T) {
	t.Helper()
	s.halt(t)
	s.earlier = append(s.earlier, s.proc)
	s.proc = nil
	if t.Failed() {
		t.FailNow()
	}
	s.launch(t)
}

// ctl runs `parley ctl` with the arguments against s's admin socket and
// returns its standard output.
func (s *server) ctl(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(runCtx(t, 30*time.Second), parleyBin, append([]string{"ctl", "--socket", s.socket}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("parley ctl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// modules returns the modules `parley ctl status` says are running.
func (s *server) modules(t *testing.T) []string {
	t.Helper()
	out := s.ctl(t, "status")
	for l := range strings.Lines(out) {
		if rest, ok := strings.CutPrefix(l, "modules:"); ok {
			var mods []string
			for m := range strings.SplitSeq(rest, ",") {
				if m = strings.TrimSpace(m); m != "" {
					mods = append(mods, m)
				}
			}
			return mods
		}
	}
	t.Fatalf("parley ctl status printed no modules line:\n%s", out)
	return nil
}

// port returns the port of a host:port address.
func port(addr string) string { return addr[strings.LastIndexByte(addr, ':')+1:] }

// stop ends the running process as halt does, and prints the logs of
// every process the test ran if it has failed.
func (s *server) stop(t *testing.T) {
	if s.proc != nil {
		s.halt(t)
	}
	if t.Failed() {
		for i, p := range append(s.earlier, s.proc) {
			if p != nil {
				t.Logf("parley log (run %d):\n%s", i+1, p.log.String())
			}
		}
	}
}

// halt sends the running process SIGTERM and fails the test unless it
// exits 0 without having logged an error, a race or a panic.
func (s *server) halt(t *testing.T) {
	p := s.proc
	select {
	case <-p.done:
		t.Errorf("parley exited before the test stopped it: %v", p.err)
	default:
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Errorf("SIGTERM: %v", err)
		}
		select {
		case <-p.done:
			if p.err != nil {
				t.Errorf("parley after SIGTERM: %v, want exit status 0", p.err)
			}
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
			t.Errorf("parley did not exit within 30s of SIGTERM")
		}
	}
	for _, l := range p.log.problems() {
		t.Errorf("parley logged: %s", l)
	}
}

// serverLog collects the server's output (JSON log lines, plus anything
// else such as a race report) and notes the listeners it reports.
type serverLog struct {
	mu      sync.Mutex
	all     bytes.Buffer
	partial []byte
	addrs   map[string]string
	bad     []string
	started chan struct{}
	once    sync.Once
}

func (l *serverLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all.Write(p)
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.line(string(l.partial[:i]))
		l.partial = l.partial[i+1:]
	}
	return len(p), nil
}

// line handles one complete line; l.mu is held.
func (l *serverLog) line(s string) {
	var rec struct {
		Level    string `json:"level"`
		Msg      string `json:"msg"`
		Listener string `json:"listener"`
		Addr     string `json:"addr"`
	}
	if json.Unmarshal([]byte(s), &rec) != nil {
		if strings.Contains(s, "DATA RACE") || strings.HasPrefix(s, "panic:") {
			l.bad = append(l.bad, s)
		}
		return
	}
	switch {
	case rec.Level == "ERROR":
		l.bad = append(l.bad, s)
	case rec.Msg == "listening" && rec.Listener != "":
		if l.addrs == nil {
			l.addrs = map[string]string{}
		}
		l.addrs[rec.Listener] = rec.Addr
	case rec.Msg == "parley started":
		l.once.Do(func() { close(l.started) })
	}
}

func (l *serverLog) addr(listener string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.addrs[listener]
}

func (l *serverLog) problems() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.bad...)
}

func (l *serverLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.all.String()
}

// need does nothing when err is nil (the client is usable). Otherwise the
// test is skipped with the reason, or fails when PARLEY_TEST_REQUIRE contains "interop"
// (as .ci/run sets it).
func need(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if strings.Contains(os.Getenv("PARLEY_TEST_REQUIRE"), "interop") {
		t.Fatalf("%s required (PARLEY_TEST_REQUIRE contains interop) but unusable: %v", what, err)
	}
	t.Skipf("%s unusable (apt-get install python3-slixmpp go-sendxmpp; PARLEY_TEST_REQUIRE=interop makes this a failure): %v", what, err)
}

// runCtx is the deadline for one client process.
func runCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
