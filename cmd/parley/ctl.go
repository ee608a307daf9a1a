package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parleyim/parley/internal/admin"
	"github.com/parleyim/parley/internal/app"
	"github.com/parleyim/parley/internal/config"
)

// ctlTimeout bounds one ctl command, connection included.
const ctlTimeout = 30 * time.Second

// Exit statuses of parley ctl.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// startAdmin serves the admin API that parley ctl talks to (serve calls it
// once the listeners are up; app.Stop shuts it down).
func startAdmin(ctx context.Context, a *app.App, log *slog.Logger) error {
	return admin.Start(ctx, a, log)
}

// ctlCommand is one parley ctl command. The usage text is generated from
// the list, so the help cannot drift from what exists. A name of two
// words ("roster add") is a subcommand of the first.
type ctlCommand struct {
	name    string
	args    string // argument synopsis for the usage text
	summary string
	min     int // required arguments
	max     int // -1: any number
	// options declares the command's options on fs, nil for none; they
	// may come before, between or after the arguments, and "--" ends
	// them. optionsHelp describes them, one "  --flag ARG  text" a line.
	options     func(fs *flag.FlagSet, o *ctlOptions)
	optionsHelp string
	run         func(ctx context.Context, e *ctlEnv, args []string) error
}

// ctlOptions holds the options of every command; each command declares
// those it takes.
type ctlOptions struct {
	name     string   // roster add --name
	groups   []string // roster add --group, repeatable
	headline bool     // send, announce --headline
	subject  string   // send, announce --subject
	dryRun   bool     // migrate --dry-run
}

const messageOptionsHelp = `  --headline       send a headline instead of a normal message: shown as a
                   notice, never stored for a user who is offline
  --subject TEXT   the message's subject
`

func messageOptions(fs *flag.FlagSet, o *ctlOptions) {
	fs.BoolVar(&o.headline, "headline", false, "")
	fs.StringVar(&o.subject, "subject", "", "")
}

var ctlCommands = []ctlCommand{
	{"status", "", "version, uptime, hosts with their users and sessions, modules", 0, 0, nil, "", ctlStatus},
	{"users", "[HOST]", "list the registered accounts, of every host or of HOST", 0, 1, nil, "", ctlUsers},
	{"register", "USER@HOST [PASSWORD]", "create an account", 1, 2, nil, "", ctlRegister},
	{"passwd", "USER@HOST [PASSWORD]", "set the password of an account", 1, 2, nil, "", ctlPasswd},
	{"unregister", "USER@HOST", "delete an account and close its sessions", 1, 1, nil, "", ctlUnregister},
	{"sessions", "", "list the connected client sessions", 0, 0, nil, "", ctlSessions},
	{"kick", "JID [REASON]", "close the sessions of a bare JID, or of one full JID", 1, -1, nil, "", ctlKick},
	{"roster list", "USER@HOST", "show the roster of an account", 1, 1, nil, "", ctlRosterList},
	{"roster add", "USER@HOST CONTACT [OPTIONS]", "add a contact to a roster, or set its name and groups", 2, 2,
		func(fs *flag.FlagSet, o *ctlOptions) {
			fs.StringVar(&o.name, "name", "", "")
			fs.Func("group", "", func(g string) error { o.groups = append(o.groups, g); return nil })
		},
		`  --name NAME      the contact's name in the roster
  --group GROUP    a group of the contact; repeat it for several
The item gets exactly the name and groups given: without --name it has no
name, without --group no group. Its subscription state is kept.
`, ctlRosterAdd},
	{"roster remove", "USER@HOST CONTACT", "remove a contact from a roster, cancelling the subscriptions", 2, 2, nil, "", ctlRosterRemove},
	{"send", "USER@HOST[/RESOURCE] TEXT [OPTIONS]", "send a message from the server to an account or one of its sessions", 2, -1, messageOptions, messageOptionsHelp, ctlSend},
	{"announce", "TEXT [OPTIONS]", "send a message from the server to every connected session", 1, -1, messageOptions, messageOptionsHelp, ctlAnnounce},
	{"export", "FILE", "write every account (credentials, rosters, offline messages, vCards, private XML) to a XEP-0227 file", 1, 1, nil, "", ctlExport},
	{"import", "FILE...", "create the accounts of XEP-0227 files (from Parley, ejabberd or Prosody); existing ones are skipped", 1, -1, nil, "", ctlImport},
	{"migrate", "[--dry-run]", "apply the database schema migrations this version needs (no server needed)", 0, 0, migrateOptions, migrateOptionsHelp, ctlMigrate},
}

func ctlUsage() string {
	var b strings.Builder
	b.WriteString(`Usage: parley ctl [--config FILE] [--socket PATH] COMMAND [ARGS]

Administers a running Parley server through its admin socket; migrate
works on the database of --config instead, with or without a server.

Commands:
`)
	tw := tabwriter.NewWriter(&b, 0, 0, 3, ' ', 0)
	for _, c := range ctlCommands {
		fmt.Fprintf(tw, "  %s %s\t%s\n", c.name, c.args, c.summary)
	}
	tw.Flush()
	b.WriteString(`
Without PASSWORD, register and passwd read the password as one line from
standard input (a password given as an argument shows in the process list
and the shell history). REASON and TEXT may be several words. A roster
CONTACT is a bare JID, local or remote. Messages come from the server's
domain. They are normal messages unless --headline: a normal message to an
account that is not online waits in offline storage (modules.offline) for
its next login; a headline is dropped. Options may come anywhere after
COMMAND; a TEXT that starts with a dash goes after --.
`)
	// Options, once for the commands that share them.
	for i := 0; i < len(ctlCommands); {
		c := ctlCommands[i]
		j := i + 1
		for j < len(ctlCommands) && ctlCommands[j].optionsHelp == c.optionsHelp {
			j++
		}
		if c.optionsHelp != "" {
			names := make([]string, 0, j-i)
			for _, d := range ctlCommands[i:j] {
				names = append(names, d.name)
			}
			fmt.Fprintf(&b, "\nOptions of %s:\n%s", strings.Join(names, " and "), c.optionsHelp)
		}
		i = j
	}
	b.WriteString(`
Options:
  --config FILE   take the socket path from admin.socket of this configuration
  --socket PATH   the admin socket (default: admin.socket of --config, else
                  data/parley.sock, the default of parley serve without --config)

Exit status: 0 success, 1 error, 2 usage error.
`)
	return b.String()
}

// usage is the help of one command.
func (c *ctlCommand) usage() string {
	s := fmt.Sprintf("Usage: parley ctl %s %s\n\n%s.\n", c.name, c.args, capitalize(c.summary))
	if c.optionsHelp != "" {
		s += "\nOptions:\n" + c.optionsHelp
	}
	return s
}

// ctlEnv is what a command works with.
type ctlEnv struct {
	client  *admin.Client
	cfgPath string // --config, "" for none (migrate reads it)
	opts    *ctlOptions
	stdin   io.Reader
	stdout  io.Writer
}

// ctl runs `parley ctl ARGS`; passwords not given as arguments are read
// from the process's standard input.
func ctl(args []string, stdout, stderr io.Writer) int {
	return runCtl(args, os.Stdin, stdout, stderr)
}

// usageError is a mistake in the command line (exit status 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func runCtl(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("parley ctl", flag.ContinueOnError)
	flags.SetOutput(stderr)
	cfgPath := flags.String("config", "", "")
	socket := flags.String("socket", "", "")
	flags.Usage = func() {}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, ctlUsage())
			return exitOK
		}
		fmt.Fprintln(stderr, "Run 'parley ctl --help' for usage.")
		return exitUsage
	}
	args = flags.Args()
	if len(args) == 0 {
		fmt.Fprint(stderr, "parley ctl: no command given\n\n"+ctlUsage())
		return exitUsage
	}
	if args[0] == "help" {
		fmt.Fprint(stdout, ctlUsage())
		return exitOK
	}
	cmd, words := findCtlCommand(args)
	if cmd == nil {
		if group := ctlGroup(args[0]); group != "" {
			switch {
			case len(args) > 1 && isHelpFlag(args[1]):
				fmt.Fprint(stdout, group)
				return exitOK
			case len(args) > 1:
				fmt.Fprintf(stderr, "parley ctl: unknown command \"%s %s\"\n\n%s", args[0], args[1], group)
			default:
				fmt.Fprintf(stderr, "parley ctl: %s needs a subcommand\n\n%s", args[0], group)
			}
			return exitUsage
		}
		fmt.Fprintf(stderr, "parley ctl: unknown command %q\n\n%s", args[0], ctlUsage())
		return exitUsage
	}
	args = args[words:]
	opts := &ctlOptions{}
	if cmd.options == nil {
		// Only the first argument may ask for help: later ones can be
		// passwords or reasons, which may start with a dash.
		if len(args) > 0 && isHelpFlag(args[0]) {
			fmt.Fprint(stdout, cmd.usage())
			return exitOK
		}
	} else {
		var err error
		if args, err = parseCtlOptions(cmd, args, opts); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stdout, cmd.usage())
				return exitOK
			}
			hint := ""
			if strings.HasPrefix(err.Error(), "flag provided but not defined") {
				hint = " (an argument that starts with a dash goes after --)"
			}
			fmt.Fprintf(stderr, "parley ctl %s: %v%s\n%s", cmd.name, err, hint, cmd.usage())
			return exitUsage
		}
	}
	if len(args) < cmd.min || (cmd.max >= 0 && len(args) > cmd.max) {
		fmt.Fprintf(stderr, "parley ctl: wrong number of arguments\nUsage: parley ctl %s %s\n", cmd.name, cmd.args)
		return exitUsage
	}

	path := *socket
	if path == "" {
		cfg := config.Default()
		if *cfgPath != "" {
			var err error
			if cfg, err = config.Load(*cfgPath); err != nil {
				fmt.Fprintf(stderr, "parley ctl: %v\n", err)
				return exitError
			}
		}
		path = cfg.Admin.Socket
	}

	ctx, cancel := context.WithTimeout(context.Background(), ctlTimeout)
	defer cancel()
	e := &ctlEnv{client: admin.NewClient(path), cfgPath: *cfgPath, opts: opts, stdin: stdin, stdout: stdout}
	if err := cmd.run(ctx, e, args); err != nil {
		return ctlFail(stderr, path, err)
	}
	return exitOK
}

// findCtlCommand returns the command that args start with and the number
// of words its name takes, or nil.
func findCtlCommand(args []string) (*ctlCommand, int) {
	for i := range ctlCommands {
		c := &ctlCommands[i]
		words := strings.Fields(c.name)
		if len(args) >= len(words) && slices.Equal(args[:len(words)], words) {
			return c, len(words)
		}
	}
	return nil, 0
}

// ctlGroup returns the usage of the subcommands of name ("roster"), or ""
// if name has none.
func ctlGroup(name string) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 3, ' ', 0)
	for _, c := range ctlCommands {
		if strings.HasPrefix(c.name, name+" ") {
			fmt.Fprintf(tw, "  parley ctl %s %s\t%s\n", c.name, c.args, c.summary)
		}
	}
	tw.Flush()
	if b.Len() == 0 {
		return ""
	}
	return "Usage:\n" + b.String()
}

// parseCtlOptions takes cmd's options out of args into o and returns the
// arguments. Options may come anywhere among the arguments; everything
// after "--" is an argument.
func parseCtlOptions(cmd *ctlCommand, args []string, o *ctlOptions) ([]string, error) {
	fs := flag.NewFlagSet("parley ctl "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	cmd.options(fs, o)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func isHelpFlag(s string) bool {
	return s == "-h" || s == "-help" || s == "--help"
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// ctlFail prints err for the operator and returns the exit status.
func ctlFail(stderr io.Writer, socket string, err error) int {
	var ue *usageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "parley ctl: %s\n", ue.msg)
		return exitUsage
	case errors.Is(err, admin.ErrNoServer):
		fmt.Fprintf(stderr, "parley ctl: no server answering on %s (is `parley serve` running? "+
			"If it runs with --config, pass the same --config, or --socket PATH)\n", socket)
	case errors.Is(err, fs.ErrPermission):
		fmt.Fprintf(stderr, "parley ctl: permission denied on %s (run parley ctl as the user that runs parley serve)\n", socket)
	case errors.Is(err, context.DeadlineExceeded):
		fmt.Fprintf(stderr, "parley ctl: the server on %s did not answer within %s\n", socket, ctlTimeout)
	default:
		fmt.Fprintf(stderr, "parley ctl: %v\n", err)
	}
	return exitError
}

func ctlStatus(ctx context.Context, e *ctlEnv, _ []string) error {
	st, err := e.client.Status(ctx)
	if err != nil {
		return err
	}
	up := time.Duration(st.UptimeSeconds) * time.Second
	fmt.Fprintf(e.stdout, "parley %s, up %s (since %s)\n", st.Version, up, st.Started.Local().Format(time.DateTime))
	fmt.Fprintf(e.stdout, "sessions: %d\n", st.Sessions)
	fmt.Fprintf(e.stdout, "modules:  %s\n\n", strings.Join(st.Modules, ", "))
	tw := newTable(e.stdout)
	fmt.Fprintln(tw, "HOST\tUSERS\tSESSIONS")
	for _, h := range st.Hosts {
		fmt.Fprintf(tw, "%s\t%d\t%d\n", h.Host, h.Users, h.Sessions)
	}
	return tw.Flush()
}

func ctlUsers(ctx context.Context, e *ctlEnv, args []string) error {
	host := ""
	if len(args) > 0 {
		host = args[0]
	}
	users, err := e.client.Users(ctx, host)
	if err != nil {
		return err
	}
	if len(users) == 0 {
		fmt.Fprintln(e.stdout, "no registered users")
		return nil
	}
	tw := newTable(e.stdout)
	fmt.Fprintln(tw, "USER\tHOST")
	for _, u := range users {
		fmt.Fprintf(tw, "%s\t%s\n", u.User, u.Host)
	}
	return tw.Flush()
}

func ctlRegister(ctx context.Context, e *ctlEnv, args []string) error {
	pass, err := e.password(args)
	if err != nil {
		return err
	}
	j, err := e.client.Register(ctx, args[0], pass)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "registered %s\n", j)
	return nil
}

func ctlPasswd(ctx context.Context, e *ctlEnv, args []string) error {
	pass, err := e.password(args)
	if err != nil {
		return err
	}
	j, err := e.client.SetPassword(ctx, args[0], pass)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "changed the password of %s\n", j)
	return nil
}

func ctlUnregister(ctx context.Context, e *ctlEnv, args []string) error {
	j, err := e.client.Unregister(ctx, args[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "unregistered %s\n", j)
	return nil
}

func ctlSessions(ctx context.Context, e *ctlEnv, _ []string) error {
	list, err := e.client.Sessions(ctx)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintln(e.stdout, "no sessions")
		return nil
	}
	now := time.Now()
	tw := newTable(e.stdout)
	fmt.Fprintln(tw, "JID\tADDRESS\tTLS\tPRESENCE\tSINCE")
	for _, s := range list {
		tls := "no"
		if s.Secure {
			tls = "yes"
		}
		pres := "unavailable"
		if s.Available {
			pres = fmt.Sprintf("available (priority %d)", s.Priority)
		}
		addr := s.Address
		if addr == "" {
			addr = "-"
		}
		since := fmt.Sprintf("%s (%s)", s.Since.Local().Format(time.DateTime), now.Sub(s.Since).Round(time.Second))
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.JID, addr, tls, pres, since)
	}
	return tw.Flush()
}

func ctlKick(ctx context.Context, e *ctlEnv, args []string) error {
	res, err := e.client.Kick(ctx, args[0], strings.Join(args[1:], " "))
	if err != nil {
		return err
	}
	noun := "sessions"
	if res.Kicked == 1 {
		noun = "session"
	}
	fmt.Fprintf(e.stdout, "kicked %s (%d %s closed)\n", res.JID, res.Kicked, noun)
	return nil
}

// password returns args[1], or else one line read from standard input
// without its line ending (spaces are part of the password).
func (e *ctlEnv) password(args []string) (string, error) {
	if len(args) > 1 {
		return args[1], nil
	}
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password from standard input: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", &usageError{"no password: give it as an argument or as one line on standard input"}
	}
	return line, nil
}

func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}
