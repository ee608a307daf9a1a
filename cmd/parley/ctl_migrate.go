package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/parleyim/parley/internal/app"
	"github.com/parleyim/parley/internal/config"
	"github.com/parleyim/parley/internal/storage"
)

const migrateOptionsHelp = `  --dry-run        list the migrations that would run, change nothing
The command opens the database of --config itself (storage.driver and
storage.dsn), as parley serve does; it needs no running server. Applying
while a server runs on the same database is safe: migrations take a lock
and each runs in one transaction. parley serve applies them at start too.
`

func migrateOptions(fs *flag.FlagSet, o *ctlOptions) {
	fs.BoolVar(&o.dryRun, "dry-run", false, "")
}

// ctlMigrate lists (--dry-run) or applies the migrations the configured
// database lacks. It talks to the database, not to a server.
func ctlMigrate(ctx context.Context, e *ctlEnv, _ []string) error {
	cfg := config.Default()
	if e.cfgPath != "" {
		var err error
		if cfg, err = config.Load(e.cfgPath); err != nil {
			return err
		}
	}
	// A migration may take longer than a ctl command to the server: it
	// runs until done or interrupted. Opening the database is bounded by
	// storage.conn_timeout.
	ctx, stop := signal.NotifyContext(context.WithoutCancel(ctx), os.Interrupt, syscall.SIGTERM)
	defer stop()
	db, err := app.OpenStorage(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	ms := app.Migrations()
	pending, err := db.Pending(ctx, ms)
	if err != nil {
		return schemaHint(err)
	}
	if len(pending) == 0 {
		fmt.Fprintf(e.stdout, "%s: the schema is up to date\n", db)
		return nil
	}
	verb := "would apply"
	if !e.opts.dryRun {
		verb = "applying"
	}
	fmt.Fprintf(e.stdout, "%s: %s %s:\n", db, verb, plural(len(pending), "migration"))
	for _, m := range pending {
		fmt.Fprintf(e.stdout, "  %s\n", m)
	}
	if e.opts.dryRun {
		return nil
	}
	if err := db.Migrate(ctx, ms); err != nil {
		return schemaHint(err)
	}
	fmt.Fprintln(e.stdout, "done")
	return nil
}

// schemaHint adds to an ErrSchemaTooNew what the operator can do.
func schemaHint(err error) error {
	if errors.Is(err, storage.ErrSchemaTooNew) {
		return fmt.Errorf("%w\n%s", err, schemaTooNewHelp)
	}
	return err
}

// schemaTooNewHelp follows the error of a binary older than its database.
const schemaTooNewHelp = `The database was migrated by a newer Parley. Run that version (or a later
one); migrations do not run backwards, so going back to this version needs
the backup taken before the upgrade.`
