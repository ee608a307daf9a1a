package private_test

import (
	"testing"

	"github.com/parleyim/parley/internal/config"
	"github.com/parleyim/parley/internal/mod/modtest"
	"github.com/parleyim/parley/internal/mod/private"
)

func TestConfig(t *testing.T) {
	def := private.Config{MaxSize: private.DefaultMaxSize, MaxElements: private.DefaultMaxElements}
	cases := []struct {
		name, yaml string
		want       private.Config
		err        string
	}{
		{"absent", "", def, ""},
		{"empty", "modules:\n  private: {}\n", def, ""},
		{"enabled", "modules:\n  private: true\n", def, ""},
		{"both", "modules:\n  private: {max_size: 1MiB, max_elements: 20}\n", private.Config{MaxSize: config.MiB, MaxElements: 20}, ""},
		{"size only", "modules:\n  private:\n    max_size: 4096\n", private.Config{MaxSize: 4096, MaxElements: private.DefaultMaxElements}, ""},
		{"bad size", "modules:\n  private:\n    max_size: big\n", def,
			`test.yaml:3: modules.private.max_size: want a size like "256KiB", "1MiB" or 65536 (units B, KiB, MiB, GiB), got "big"`},
		{"bad count", "modules:\n  private: {max_elements: many}\n", def,
			`test.yaml:2: modules.private.max_elements: want an integer like 100, got "many"`},
		{"unknown key", "modules:\n  private:\n    max_items: 5\n", def,
			`test.yaml:3: modules.private.max_items: unknown key; known keys: max_size, max_elements`},
	}
	for _, tc := range cases {
		modtest.CheckConfig(t, private.Module, tc.name, tc.yaml, tc.want, tc.err)
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  private.Config
		err  string
	}{
		{"smallest", private.Config{MaxSize: 1, MaxElements: 1}, ""},
		{"zero size", private.Config{MaxSize: 0, MaxElements: 1}, `max_size: want a positive size like "64KiB", got 0`},
		{"zero count", private.Config{MaxSize: 1, MaxElements: 0}, "max_elements: want at least 1, got 0"},
		{"negative count", private.Config{MaxSize: 1, MaxElements: -3}, "max_elements: want at least 1, got -3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if (tc.err == "" && err != nil) || (tc.err != "" && (err == nil || err.Error() != tc.err)) {
				t.Errorf("Validate(%+v) = %v, want %q", tc.cfg, err, tc.err)
			}
		})
	}
}
