package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/app"
	"github.com/parleyim/parley/internal/config"
	"github.com/parleyim/parley/internal/storage"
	"github.com/parleyim/parley/internal/storage/storagetest"
)

// migrateConfig writes a configuration for storage given as YAML and
// returns its path.
func migrateConfig(t *testing.T, storageYAML string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "parley.yaml")
	yaml := "data_dir: " + filepath.Join(dir, "data") + "\nlisten: {c2s: \"127.0.0.1:0\", c2s_tls: \"\"}\n" +
		"admin: {socket: " + filepath.Join(dir, "none.sock") + "}\n" + storageYAML
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// backendsYAML gives the storage section of each backend, with a fresh
// database.
func backendsYAML(t *testing.T) map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"sqlite": func(t *testing.T) string {
			return "storage: {driver: sqlite, dsn: " + filepath.Join(t.TempDir(), "p.db") + "}\n"
		},
		"postgres": func(t *testing.T) string {
			return fmt.Sprintf("storage: {driver: postgres, dsn: %q}\n", storagetest.PostgresDSN(t))
		},
	}
}

// parley ctl migrate works on the configured database with no server
// running: --dry-run lists every migration of a new database and changes
// nothing; without it they are applied, and a second run finds nothing to do.
func TestCtlMigrate(t *testing.T) {
	all := app.Migrations()
	for name, storageYAML := range backendsYAML(t) {
		t.Run(name, func(t *testing.T) {
			cfg := migrateConfig(t, storageYAML(t))
			for _, step := range []struct {
				name  string
				args  []string
				lines []string // lines of stdout, in order
			}{
				{"dry run on a new database", []string{"--dry-run"}, append([]string{fmt.Sprintf("would apply %d migrations:", len(all))}, names(all)...)},
				{"dry run changed nothing", []string{"--dry-run"}, []string{fmt.Sprintf("would apply %d migrations:", len(all))}},
				{"apply", nil, append(append([]string{fmt.Sprintf("applying %d migrations:", len(all))}, names(all)...), "done")},
				{"up to date", []string{"--dry-run"}, []string{"the schema is up to date"}},
				{"apply again", nil, []string{"the schema is up to date"}},
			} {
				r := runCtlT(t, "", append([]string{"--config", cfg, "migrate"}, step.args...)...)
				if r.code != 0 {
					t.Fatalf("%s: exit %d, stderr %q", step.name, r.code, r.stderr)
				}
				rest := r.stdout
				for _, l := range step.lines {
					i := strings.Index(rest, l)
					if i < 0 {
						t.Fatalf("%s: stdout %q lacks %q (or not in order)", step.name, r.stdout, l)
					}
					rest = rest[i+len(l):]
				}
			}
		})
	}
}

// names lists ms as migrate prints them: in (component, version) order.
func names(ms []storage.Migration) []string {
	ms = slices.Clone(ms)
	slices.SortFunc(ms, func(a, b storage.Migration) int {
		return cmp.Or(strings.Compare(a.Component, b.Component), a.Version-b.Version)
	})
	var out []string
	for _, m := range ms {
		out = append(out, "  "+m.String())
	}
	return out
}

// An older binary on a database a newer one migrated refuses to start,
// and parley ctl migrate refuses too, both saying what is wrong and what
// to do; nothing is applied.
func TestSchemaTooNew(t *testing.T) {
	for name, storageYAML := range backendsYAML(t) {
		t.Run(name, func(t *testing.T) {
			path := migrateConfig(t, storageYAML(t))
			cfg, err := config.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			db, err := app.OpenStorage(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.Migrate(ctx, app.Migrations()); err != nil {
				t.Fatal(err)
			}
			// What a newer binary's roster v99 would have left.
			if _, err := db.SQL.ExecContext(ctx, db.Rebind(
				"INSERT INTO parley_migrations (component, version, name) VALUES (?, ?, ?)"), "roster", 99, "future"); err != nil {
				t.Fatal(err)
			}
			want := []string{
				"database schema roster v99 is newer than this binary",
				"The database was migrated by a newer Parley.",
			}
			var out, errOut bytes.Buffer
			if code := run([]string{"serve", "--config", path}, &out, &errOut); code != 1 {
				t.Fatalf("serve: exit %d, want 1; stderr %q", code, errOut.String())
			}
			r := runCtlT(t, "", "--config", path, "migrate")
			if r.code != 1 {
				t.Fatalf("ctl migrate: exit %d, want 1; stderr %q", r.code, r.stderr)
			}
			for _, w := range want {
				if !strings.Contains(errOut.String(), w) {
					t.Errorf("serve stderr %q lacks %q", errOut.String(), w)
				}
				if !strings.Contains(r.stderr, w) {
					t.Errorf("ctl migrate stderr %q lacks %q", r.stderr, w)
				}
			}
		})
	}
}
