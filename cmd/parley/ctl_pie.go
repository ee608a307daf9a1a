package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/parleyim/parley/internal/admin"
)

// ctlExport writes the server's accounts as a XEP-0227 file. The file
// holds credentials (SCRAM keys): it is made readable by its owner only,
// and it appears whole or not at all (written aside, then renamed).
func ctlExport(ctx context.Context, e *ctlEnv, args []string) error {
	path := args[0]
	f, err := os.CreateTemp(filepath.Dir(path), ".parley-export-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename, nothing is there
	if err := e.client.Export(ctx, f); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	info, err := f.Stat()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "exported every account to %s (%d bytes, XEP-0227)\n", path, info.Size())
	return nil
}

// ctlImport creates the accounts of XEP-0227 files, one file after the
// other (Prosody's migrator writes one per user).
func ctlImport(ctx context.Context, e *ctlEnv, args []string) error {
	for _, path := range args {
		doc, err := admin.ReadPIEFile(path)
		if err != nil {
			return err
		}
		res, err := e.client.Import(ctx, doc)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for _, j := range res.Imported {
			fmt.Fprintf(e.stdout, "imported %s\n", j)
		}
		for _, s := range res.Skipped {
			fmt.Fprintf(e.stdout, "skipped %s: %s\n", s.JID, s.Reason)
		}
		for _, n := range res.Notes {
			fmt.Fprintf(e.stdout, "note: %s\n", n)
		}
		if len(res.Imported)+len(res.Skipped) == 0 {
			fmt.Fprintf(e.stdout, "%s holds no account\n", path)
		}
	}
	return nil
}
