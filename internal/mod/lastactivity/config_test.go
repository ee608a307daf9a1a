package lastactivity_test

import (
	"testing"

	"github.com/parleyim/parley/internal/config"
	"github.com/parleyim/parley/internal/mod/lastactivity"
)

func TestConfig(t *testing.T) {
	cases := []struct {
		name, yaml string
		enabled    bool
		err        string
	}{
		{"absent", "", true, ""},
		{"empty", "modules:\n  lastactivity: {}\n", true, ""},
		{"enabled", "modules:\n  lastactivity: true\n", true, ""},
		{"disabled", "modules:\n  lastactivity: false\n", false, ""},
		{"unknown key", "modules:\n  lastactivity:\n    uptime: false\n", true,
			`test.yaml:3: modules.lastactivity.uptime: unknown key`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(tc.yaml), "test.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.ModuleEnabled("lastactivity", lastactivity.Module.Default); got != tc.enabled {
				t.Errorf("enabled = %v, want %v", got, tc.enabled)
			}
			err = cfg.DecodeModule("lastactivity", lastactivity.Module.NewConfig())
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error %v, want %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
