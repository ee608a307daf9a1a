package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/bench"
	"github.com/parleyim/parley/internal/xmpptest"
)

// TestMain lets the test binary serve as a worker process of --procs: the
// parent re-executes it with PARLEY_BENCH_WORKER set.
func TestMain(m *testing.M) {
	if bench.IsWorkerProcess() {
		os.Exit(bench.Main(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// run runs parley bench with args against srv and returns the parsed
// --json line.
func run(t *testing.T, srv *xmpptest.Server, args ...string) *bench.Result {
	t.Helper()
	host, port, _ := strings.Cut(srv.Addr, ":")
	args = append([]string{"--host", host, "--port", port, "--domain", srv.Domain, "--json", "--progress", "0"}, args...)
	var stdout, stderr bytes.Buffer
	code := bench.Main(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one JSON line on stdout, got %q (stderr %s)", stdout.String(), stderr.String())
	}
	var r bench.Result
	if err := json.Unmarshal([]byte(lines[0]), &r); err != nil {
		t.Fatalf("--json line does not parse: %v\n%s", err, lines[0])
	}
	if code != bench.ExitOK {
		t.Fatalf("exit status %d, want 0; result %s\nstderr %s", code, lines[0], stderr.String())
	}
	return &r
}

func checkMessages(t *testing.T, r *bench.Result, clients, messages int) {
	t.Helper()
	if r.Registered != int64(clients) || r.LoggedIn != int64(clients) {
		t.Errorf("registered %d, logged in %d, want %d each", r.Registered, r.LoggedIn, clients)
	}
	if r.Sent != int64(messages) || r.Delivered != r.Sent {
		t.Errorf("sent %d, delivered %d, want %d each", r.Sent, r.Delivered, messages)
	}
	if r.Lost != 0 || r.Errors != 0 || r.Reordered != 0 || r.Interrupted {
		t.Errorf("lost %d, errors %d (%v), reordered %d, interrupted %v: want none", r.Lost, r.Errors, r.ErrorKinds, r.Reordered, r.Interrupted)
	}
	l := r.Latency
	if !(l.P50 > 0 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max && l.Max < 10000) {
		t.Errorf("latency percentiles not sane: %+v", l)
	}
	if r.LoginRate <= 0 || r.DeliveredPerSecond <= 0 {
		t.Errorf("login rate %v, delivered/s %v: want positive", r.LoginRate, r.DeliveredPerSecond)
	}
}

func TestBenchInProcess(t *testing.T) {
	srv := xmpptest.Start(t, "")
	r := run(t, srv, "--clients", "20", "--messages", "200", "--pid", strconv.Itoa(os.Getpid()))
	checkMessages(t, r, 20, 200)
	if r.RSSBeforeKiB <= 0 || r.RSSAfterKiB <= 0 {
		t.Errorf("RSS before %d after %d KiB: want both sampled", r.RSSBeforeKiB, r.RSSAfterKiB)
	}

	// A second run over the same accounts: they exist, which counts as
	// registered; at a fixed rate without TLS and with SCRAM-SHA-256.
	r = run(t, srv, "--clients", "20", "--messages", "100", "--rate", "400", "--mech", "SCRAM-SHA-256", "--tls", "optional")
	checkMessages(t, r, 20, 100)
	if r.SendRate > 800 {
		t.Errorf("send rate %.0f/s with --rate 400", r.SendRate)
	}
}

func TestBenchExistingAccounts(t *testing.T) {
	srv := xmpptest.Start(t, "")
	for i := 1; i <= 4; i++ {
		srv.App.RegisterUser(context.Background(), srv.Domain, "old"+strconv.Itoa(i), "pw")
	}
	r := run(t, srv, "--clients", "4", "--register=false", "--user-prefix", "old", "--password", "pw", "--duration", "0", "--hold", "100ms")
	if r.LoggedIn != 4 || r.Registered != 0 || r.Sent != 0 {
		t.Errorf("logged in %d, registered %d, sent %d; want 4, 0, 0", r.LoggedIn, r.Registered, r.Sent)
	}
}

func TestBenchLoginFailures(t *testing.T) {
	srv := xmpptest.Start(t, "")
	host, port, _ := strings.Cut(srv.Addr, ":")
	var stdout, stderr bytes.Buffer
	code := bench.Main(context.Background(), []string{"--host", host, "--port", port, "--domain", srv.Domain,
		"--clients", "3", "--register=false", "--user-prefix", "nobody", "--duration", "0", "--progress", "0"},
		strings.NewReader(""), &stdout, &stderr)
	if code != bench.ExitFailures {
		t.Fatalf("exit status %d, want %d; output %s %s", code, bench.ExitFailures, stdout.String(), stderr.String())
	}
	out := stdout.String()
	if !strings.Contains(out, "not-authorized") || !strings.Contains(out, "logins") {
		t.Errorf("summary does not show the failed logins:\n%s", out)
	}
}

func TestBenchProcs(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	defer bench.SetWorkerCmd([]string{exe})()
	srv := xmpptest.Start(t, "")
	r := run(t, srv, "--clients", "20", "--messages", "200", "--procs", "2")
	checkMessages(t, r, 20, 200)
	if r.Procs != 2 {
		t.Errorf("procs %d, want 2", r.Procs)
	}
}

func TestUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := bench.Main(context.Background(), []string{"--help"}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("--help: exit %d", code)
	}
	help := stderr.String()
	for _, want := range []string{"Usage: parley bench", "--clients", "--procs", "--pid", "--json"} {
		if !strings.Contains(help, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
	if strings.Contains(help, "--worker") {
		t.Error("--help shows the internal --worker flag")
	}
	for _, args := range [][]string{{"--clients", "0"}, {"--tls", "maybe"}, {"--procs", "3", "--clients", "2"}, {"extra"}} {
		stderr.Reset()
		if code := bench.Main(context.Background(), args, nil, &stdout, &stderr); code != bench.ExitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, bench.ExitUsage, stderr.String())
		}
	}
}
