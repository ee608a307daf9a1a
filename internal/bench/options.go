package bench

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/parleyim/parley/internal/client"
)

// Options is what to run. The zero value is not usable; start from
// DefaultOptions or ParseArgs.
type Options struct {
	Host   string `json:"host"`
	Port   int    `json:"port"`
	Domain string `json:"domain"`

	Clients    int    `json:"clients"`
	UserPrefix string `json:"user_prefix"` // accounts are UserPrefix1 … UserPrefixN
	Password   string `json:"password"`
	Resource   string `json:"resource"`
	Register   bool   `json:"register"` // XEP-0077 first; an existing account counts as registered

	TLS         string        `json:"tls"`       // starttls | none | optional | direct
	Mechanism   string        `json:"mechanism"` // "" picks the best offered
	Concurrency int           `json:"concurrency"`
	Timeout     time.Duration `json:"timeout"` // one registration or login

	Hold     time.Duration `json:"hold"`     // idle time after the logins
	Messages int           `json:"messages"` // total to send; 0: send for Duration
	Duration time.Duration `json:"duration"` // sending time when Messages is 0; 0 and 0: no messages
	Rate     float64       `json:"rate"`     // messages per second in total; 0: as fast as possible
	Window   int           `json:"window"`   // unanswered messages per sender when Rate is 0
	Size     int           `json:"size"`     // body bytes
	Drain    time.Duration `json:"drain"`    // wait for the last messages

	PID      int           `json:"pid"` // server process, for its RSS
	Procs    int           `json:"procs"`
	JSON     bool          `json:"json"`
	Progress time.Duration `json:"progress"`

	worker bool // hidden --worker: run one share as a child process
}

// DefaultOptions returns the defaults of the command line.
func DefaultOptions() Options {
	return Options{
		Host:        "127.0.0.1",
		Port:        5222,
		Domain:      "localhost",
		Clients:     100,
		UserPrefix:  "bench",
		Password:    "bench-password",
		Resource:    "bench",
		Register:    true,
		TLS:         "starttls",
		Concurrency: 50,
		Timeout:     30 * time.Second,
		Duration:    10 * time.Second,
		Window:      5,
		Size:        64,
		Drain:       10 * time.Second,
		Procs:       1,
		Progress:    time.Second,
	}
}

// Addr is host:port.
func (o *Options) Addr() string { return net.JoinHostPort(o.Host, strconv.Itoa(o.Port)) }

func (o *Options) tlsMode() client.TLSMode {
	switch o.TLS {
	case "none":
		return client.NoTLS
	case "optional":
		return client.OptionalTLS
	case "direct":
		return client.DirectTLS
	}
	return client.StartTLS
}

// sends reports whether the run has a message phase.
func (o *Options) sends() bool { return o.Messages > 0 || o.Duration > 0 }

const usageHead = `Usage: parley bench [flags]

Load-tests any XMPP server (Parley, ejabberd, Prosody, ...):

  1. registers --clients accounts PREFIX1 ... PREFIXN by in-band
     registration (XEP-0077); an account that exists counts as registered
     (--register=false: use existing accounts with --password);
  2. logs them all in (--concurrency at a time), sends initial presence and
     holds the sessions; with --pid, samples the server's RSS from /proc
     before the logins and after --hold, and reports memory per session;
  3. each client sends chat messages to the next one (a ring, one-to-one)
     at --rate messages/s in total, or as fast as possible with at most
     --window unanswered messages per sender; --messages in total, or for
     --duration. Every message carries its send timestamp: the receiver
     measures the latency, and sequence numbers find losses;
  4. waits up to --drain for the last messages, then prints a summary
     (or one JSON line with --json) and closes the sessions.

A progress line is written to stderr while it runs. --procs N spreads the
clients over N processes of this binary (one process may hold about as many
connections as its open-file limit, ulimit -n). The exit status is 0 when
every login succeeded and every message arrived, 3 when some did not, 1 on
a setup error and 2 on bad flags.

Examples:
  parley bench --port 5222 --domain localhost --clients 1000 --tls none \
      --mech SCRAM-SHA-1 --messages 100000
  parley bench --clients 5000 --pid $(pidof parley) --hold 10s --duration 0
  parley bench --clients 1000 --rate 2000 --duration 30s --json

Flags:
`

// ParseArgs parses the command line of parley bench (the arguments after
// "bench"). flag.ErrHelp is returned after the usage has been written to
// usage.
func ParseArgs(args []string, usage io.Writer) (Options, error) {
	o := DefaultOptions()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(usage)
	fs.StringVar(&o.Host, "host", o.Host, "server `address` to connect to")
	fs.IntVar(&o.Port, "port", o.Port, "server c2s `port`")
	fs.StringVar(&o.Domain, "domain", o.Domain, "XMPP `domain` of the accounts (stream 'to')")
	fs.IntVar(&o.Clients, "clients", o.Clients, "`number` of concurrent clients (and accounts)")
	fs.StringVar(&o.UserPrefix, "user-prefix", o.UserPrefix, "account names are `PREFIX`1 ... PREFIXN")
	fs.StringVar(&o.Password, "password", o.Password, "`password` of every account")
	fs.StringVar(&o.Resource, "resource", o.Resource, "`resource` to bind")
	fs.BoolVar(&o.Register, "register", o.Register, "register the accounts first (XEP-0077); false: they must exist")
	fs.StringVar(&o.TLS, "tls", o.TLS, "`mode`: starttls, none, optional (STARTTLS if offered) or direct (XEP-0368)")
	fs.StringVar(&o.Mechanism, "mech", o.Mechanism, "SASL `mechanism` (SCRAM-SHA-1, SCRAM-SHA-256, PLAIN, ...); empty: the best offered")
	fs.IntVar(&o.Concurrency, "concurrency", o.Concurrency, "registrations and logins in flight at once, per process (a `number`)")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "time allowed for one registration or login")
	fs.DurationVar(&o.Hold, "hold", o.Hold, "hold the idle sessions for this `duration` after the logins (the --pid memory sample is taken at its end)")
	fs.IntVar(&o.Messages, "messages", o.Messages, "`total` number of messages to send; 0: send for --duration")
	fs.DurationVar(&o.Duration, "duration", o.Duration, "send for this `duration` when --messages is 0; 0 with --messages 0: no messages")
	fs.Float64Var(&o.Rate, "rate", o.Rate, "target `messages` per second in total; 0: as fast as possible")
	fs.IntVar(&o.Window, "window", o.Window, "unanswered `messages` allowed per sender when --rate is 0")
	fs.IntVar(&o.Size, "size", o.Size, "message body `bytes` (beyond the timestamp and sequence number)")
	fs.DurationVar(&o.Drain, "drain", o.Drain, "wait up to this `duration` for messages still in flight after sending")
	fs.IntVar(&o.PID, "pid", o.PID, "server process `id`: report its RSS before and after the logins")
	fs.IntVar(&o.Procs, "procs", o.Procs, "spread the clients over this `number` of processes")
	fs.BoolVar(&o.JSON, "json", o.JSON, "print the result as one JSON line instead of a table")
	fs.DurationVar(&o.Progress, "progress", o.Progress, "progress line `interval` on stderr; 0: none")
	fs.BoolVar(&o.worker, "worker", false, "internal: run as a worker process of --procs")
	fs.Usage = func() {
		fmt.Fprint(usage, usageHead)
		fs.VisitAll(func(f *flag.Flag) {
			if f.Name == "worker" {
				return
			}
			name, help := flag.UnquoteUsage(f)
			line := "  --" + f.Name
			if name != "" {
				line += " " + name
			}
			if len(line) <= 4+len("--")+2 {
				line += "\t"
			} else {
				line += "\n    \t"
			}
			line += strings.ReplaceAll(help, "\n", "\n    \t")
			if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "0s" && f.DefValue != "false" {
				line += fmt.Sprintf(" (default %s)", f.DefValue)
			}
			fmt.Fprintln(usage, line)
		})
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))
	}
	if o.worker {
		return o, nil // the options come from the parent
	}
	return o, o.validate()
}

func (o *Options) validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("bench: "+format, a...)) }
	if o.Host == "" {
		bad("--host is empty")
	}
	if o.Port <= 0 || o.Port > 65535 {
		bad("--port %d out of range", o.Port)
	}
	if o.Domain == "" {
		bad("--domain is empty")
	}
	if o.Clients < 1 {
		bad("--clients must be at least 1")
	}
	if o.UserPrefix == "" {
		bad("--user-prefix is empty")
	}
	switch o.TLS {
	case "starttls", "none", "optional", "direct":
	default:
		bad("--tls %q: want starttls, none, optional or direct", o.TLS)
	}
	if o.Concurrency < 1 {
		bad("--concurrency must be at least 1")
	}
	if o.Timeout <= 0 {
		bad("--timeout must be positive")
	}
	if o.Messages < 0 || o.Duration < 0 || o.Rate < 0 || o.Hold < 0 || o.Drain < 0 || o.Progress < 0 {
		bad("--messages, --duration, --rate, --hold, --drain and --progress cannot be negative")
	}
	if o.Window < 1 {
		bad("--window must be at least 1")
	}
	if o.Size < 0 || o.Size > 100000 {
		bad("--size must be between 0 and 100000")
	}
	if o.Procs < 1 {
		bad("--procs must be at least 1")
	} else if o.Procs > o.Clients {
		bad("--procs %d is more than --clients %d", o.Procs, o.Clients)
	}
	if o.PID < 0 {
		bad("--pid cannot be negative")
	}
	return errors.Join(errs...)
}
