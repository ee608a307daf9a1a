package storage

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// LoadMigrations reads the migrations of component from fsys, usually an
// embed.FS: one pair of files per version, migrations/sqlite/NNN_name.sql
// and migrations/postgres/NNN_name.sql, whose name (underscores read as
// spaces) names the migration. A version with a file for one dialect only,
// or a file not named NNN_name.sql, is an error. The result is sorted by
// version.
func LoadMigrations(component string, fsys fs.FS) ([]Migration, error) {
	byVersion := map[int]*Migration{}
	for _, dialect := range []Dialect{SQLite, Postgres} {
		dir := path.Join("migrations", dialect.String())
		entries, err := fs.ReadDir(fsys, dir)
		if err != nil {
			return nil, fmt.Errorf("storage: %s migrations: %w", component, err)
		}
		for _, e := range entries {
			num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
			v, err := strconv.Atoi(num)
			if !ok || err != nil || v < 1 || !strings.HasSuffix(e.Name(), ".sql") {
				return nil, fmt.Errorf("storage: %s migration file %s/%s: want NNN_name.sql", component, dir, e.Name())
			}
			b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
			if err != nil {
				return nil, fmt.Errorf("storage: %s migrations: %w", component, err)
			}
			m := byVersion[v]
			if m == nil {
				m = &Migration{Component: component, Version: v, Name: strings.ReplaceAll(name, "_", " ")}
				byVersion[v] = m
			}
			if dialect == SQLite {
				m.SQLite = string(b)
			} else {
				m.Postgres = string(b)
			}
		}
	}
	out := make([]Migration, 0, len(byVersion))
	for _, m := range byVersion {
		if m.SQLite == "" || m.Postgres == "" {
			return nil, fmt.Errorf("storage: %s migration %d has no file for one dialect", component, m.Version)
		}
		out = append(out, *m)
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	return out, nil
}

// MustLoadMigrations is LoadMigrations for files built into the binary,
// where an error is a build mistake: it panics, so the package's tests and
// the first start catch it.
func MustLoadMigrations(component string, fsys fs.FS) []Migration {
	ms, err := LoadMigrations(component, fsys)
	if err != nil {
		panic(err)
	}
	return ms
}
