package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// XEP-0227 through parley ctl: export from one server, import into a
// fresh one, import again (skipped), real Prosody files, and bad input.
func TestCtlExportImport(t *testing.T) {
	_, sockA := startServer(t, "")
	runCtlT(t, "alice-pw\n", "--socket", sockA, "register", "alice@localhost")
	runCtlT(t, "bob-pw\n", "--socket", sockA, "register", "bob@localhost")
	ok(t, sockA, "roster", "add", "alice@localhost", "bob@localhost", "--name", "Bob")

	file := filepath.Join(t.TempDir(), "parley.xml")
	out := ok(t, sockA, "export", file)
	if !strings.HasPrefix(out, "exported every account to "+file) {
		t.Errorf("export output %q", out)
	}
	info, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("the export (with credentials) has mode %v, want 0600", info.Mode().Perm())
	}
	data, _ := os.ReadFile(file)
	if !strings.Contains(string(data), "urn:xmpp:pie:0") || strings.Contains(string(data), "alice-pw") {
		t.Fatalf("export is not XEP-0227 or holds a password:\n%.300s", data)
	}

	_, sockB := startServer(t, "")
	out = ok(t, sockB, "import", file)
	if out != "imported alice@localhost\nimported bob@localhost\n" {
		t.Errorf("import output %q", out)
	}
	if out := ok(t, sockB, "roster", "list", "alice@localhost"); !strings.Contains(out, "bob@localhost") || !strings.Contains(out, "Bob") {
		t.Errorf("imported roster:\n%s", out)
	}
	out = ok(t, sockB, "import", file)
	if !strings.Contains(out, "skipped alice@localhost: ") || !strings.Contains(out, "skipped bob@localhost: ") {
		t.Errorf("second import output %q", out)
	}

	// Prosody's migrator writes one file per user.
	dir := "../../internal/admin/testdata/prosody"
	_, sockC := startServer(t, "")
	out = ok(t, sockC, "import", filepath.Join(dir, "alice@localhost.xml"), filepath.Join(dir, "bob@localhost.xml"), filepath.Join(dir, "carol@localhost.xml"))
	if strings.Count(out, "imported ") != 3 {
		t.Errorf("prosody import output %q", out)
	}

	bad := filepath.Join(t.TempDir(), "bad.xml")
	if err := os.WriteFile(bad, []byte("<not-pie/>"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCtlT(t, "", "--socket", sockC, "import", bad)
	if r.code == 0 || !strings.Contains(r.stderr, "bad.xml") {
		t.Errorf("import of a bad file: exit %d, stderr %q", r.code, r.stderr)
	}
	fails(t, sockC, 1, "no such file", "import", filepath.Join(t.TempDir(), "missing.xml"))
}
