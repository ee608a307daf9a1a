package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A bad modules section stops `parley serve` before it opens storage or
// writes anything, with an error naming the file, line and key.
func TestServeBadModuleConfig(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown module", "modules:\n  presense: {}\n", "parley.yaml:2: modules.presense: unknown module; did you mean presence?"},
		{"bad option", "modules:\n  roster:\n    max_items: lots\n", "parley.yaml:3: modules.roster.max_items"},
		{"invalid option", "modules:\n  roster:\n    max_items: 0\n", "modules.roster: max_items: want at least 1, got 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			data := filepath.Join(dir, "data")
			cfg := filepath.Join(dir, "parley.yaml")
			yaml := "data_dir: " + data + "\nlisten: {c2s: \"127.0.0.1:0\", c2s_tls: \"\"}\n" + tc.yaml
			if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			var out, errOut bytes.Buffer
			if code := run([]string{"serve", "--config", cfg}, &out, &errOut); code == 0 {
				t.Fatalf("serve exited 0; stderr: %s", errOut.String())
			}
			// The line numbers count the two lines written before tc.yaml.
			want := strings.Replace(tc.want, "parley.yaml:2:", "parley.yaml:4:", 1)
			want = strings.Replace(want, "parley.yaml:3:", "parley.yaml:5:", 1)
			if !strings.Contains(errOut.String(), want) {
				t.Errorf("stderr %q does not say %q", errOut.String(), want)
			}
			if _, err := os.Stat(data); !os.IsNotExist(err) {
				t.Errorf("the data directory was created (stat: %v)", err)
			}
		})
	}
}
