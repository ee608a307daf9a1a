// Command parley is the Parley XMPP server and its tools: serve runs the
// server, ctl administers a running one, version prints the version.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/parleyim/parley/internal/app"
	"github.com/parleyim/parley/internal/config"
)

const usage = `Parley — an XMPP messaging server.

Usage:
  parley serve [--config FILE]   run the server (no config: localhost, ports 5222/5223, SQLite in ./data)
  parley ctl COMMAND [ARGS]      administer a running server (parley ctl --help)
  parley bench [FLAGS]           load-test an XMPP server: logins, messages, latency (parley bench --help)
  parley version                 print the version

Run 'parley COMMAND --help' for the options of a command.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stdout, stderr)
	case "ctl":
		return ctl(args[1:], stdout, stderr)
	case "bench":
		return benchCmd(args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "parley", app.Version)
		return 0
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "parley: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}

func serve(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "YAML configuration file (default: built-in defaults)")
	pprofAddr := fs.String("pprof", "", "serve Go's pprof profiles over HTTP on this loopback address (e.g. 127.0.0.1:6060), for profiling")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: parley serve [--config FILE]\n\nRuns the XMPP server until SIGINT or SIGTERM.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	var cfg *config.Config
	var err error
	if *cfgPath != "" {
		cfg, err = config.Load(*cfgPath)
	} else {
		cfg = config.Default()
	}
	if err != nil {
		fmt.Fprintf(stderr, "parley: %v\n", err)
		return 1
	}
	log := newLogger(cfg, stderr)
	tuneGC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *pprofAddr != "" {
		stopProf, err := servePprof(*pprofAddr, log)
		if err != nil {
			fmt.Fprintf(stderr, "parley: --pprof: %v\n", err)
			return 1
		}
		defer stopProf()
	}
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		fmt.Fprintf(stderr, "parley: %v\n", schemaHint(err))
		return 1
	}
	if err := a.Start(ctx); err != nil {
		fmt.Fprintf(stderr, "parley: %v\n", err)
		return 1
	}
	if err := startAdmin(ctx, a, log); err != nil {
		a.Stop(context.Background())
		fmt.Fprintf(stderr, "parley: %v\n", err)
		return 1
	}
	log.Info("parley started", "version", app.Version, "hosts", strings.Join(cfg.Hosts, ","), "registration", cfg.Registration)
	released := make(chan struct{})
	go func() {
		defer close(released)
		app.ReleaseIdleMemory(ctx, app.DefaultMemoryRelease(), log, nil)
	}()
	<-ctx.Done()
	<-released
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	a.Stop(sctx)
	log.Info("stopped")
	return 0
}

// serveGCPercent is the garbage collector's target for parley serve when
// the GOGC environment variable does not set one: the heap may grow 50%
// over what is live before the next collection, rather than Go's default
// 100%. A messaging server's live heap is mostly its idle sessions, so
// the slack is memory per session that a client never uses; at 5,000 idle
// TLS sessions this took about 4 KiB off each (38 → 34 KiB RSS) for
// about 9% of the message throughput when the box is saturated (see
// docs/benchmarks.md).
const serveGCPercent = 50

// tuneGC applies serveGCPercent unless the operator chose with GOGC.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
