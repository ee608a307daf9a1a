package bench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"syscall"
)

// Exit statuses of Main.
const (
	ExitOK       = 0 // every login succeeded and every message arrived
	ExitSetup    = 1 // the run could not be made
	ExitUsage    = 2 // bad flags
	ExitFailures = 3 // the run finished with errors or losses
)

// Main runs `parley bench` with the arguments after "bench" and returns
// the exit status. The result goes to stdout, progress and errors to
// stderr; a worker process (--worker) talks its protocol on stdin and
// stdout instead.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := ParseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "parley: %v\n", err)
		return ExitUsage
	}
	if o.worker {
		if err := runWorker(ctx, stdin, stdout); err != nil {
			fmt.Fprintf(stderr, "parley: %v\n", err)
			return ExitSetup
		}
		return ExitOK
	}
	if err := checkFiles(o); err != nil {
		fmt.Fprintf(stderr, "parley: %v\n", err)
		return ExitSetup
	}
	res, err := Run(ctx, o, stderr)
	if res != nil {
		if o.JSON {
			b, _ := json.Marshal(res)
			fmt.Fprintf(stdout, "%s\n", b)
		} else {
			WriteSummary(stdout, res)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "parley: %v\n", err)
		return ExitSetup
	}
	if !res.OK() {
		return ExitFailures
	}
	return ExitOK
}

// checkFiles refuses a run that cannot open enough connections in one
// process. (The Go runtime has already raised the soft limit to the hard
// one.)
func checkFiles(o Options) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return nil
	}
	per := (o.Clients + o.Procs - 1) / o.Procs
	if need := uint64(per) + 64; need > lim.Cur {
		return fmt.Errorf("bench: %d clients per process need about %d open files, the limit is %d: use more --procs (or raise ulimit -n)",
			per, need, lim.Cur)
	}
	return nil
}
