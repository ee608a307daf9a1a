package blocking_test

import (
	"testing"

	"github.com/parleyim/parley/internal/config"
	"github.com/parleyim/parley/internal/mod/blocking"
	"github.com/parleyim/parley/internal/mod/modtest"
)

func TestConfig(t *testing.T) {
	def := blocking.Config{MaxItems: blocking.DefaultMaxItems}
	cases := []struct {
		name, yaml string
		want       blocking.Config
		err        string
	}{
		{"absent", "", def, ""},
		{"empty", "modules:\n  blocking: {}\n", def, ""},
		{"enabled", "modules:\n  blocking: true\n", def, ""},
		{"max_items", "modules:\n  blocking: {max_items: 50}\n", blocking.Config{MaxItems: 50}, ""},
		{"not a number", "modules:\n  blocking:\n    max_items: many\n", def,
			`test.yaml:3: modules.blocking.max_items: want an integer like 1000, got "many"`},
		{"unknown key", "modules:\n  blocking:\n    max_items: 5\n    polite: true\n", def,
			`test.yaml:4: modules.blocking.polite: unknown key; known keys: max_items`},
	}
	for _, tc := range cases {
		modtest.CheckConfig(t, blocking.Module, tc.name, tc.yaml, tc.want, tc.err)
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		max int
		err string
	}{
		{1, ""},
		{blocking.DefaultMaxItems, ""},
		{0, "max_items: want at least 1, got 0"},
		{-1, "max_items: want at least 1, got -1"},
	}
	for _, tc := range cases {
		err := (&blocking.Config{MaxItems: tc.max}).Validate()
		if (tc.err == "" && err != nil) || (tc.err != "" && (err == nil || err.Error() != tc.err)) {
			t.Errorf("Validate(max_items %d) = %v, want %q", tc.max, err, tc.err)
		}
	}
}

// The module is disabled with false, like any default module.
func TestConfigDisabled(t *testing.T) {
	cfg, err := config.Parse([]byte("modules:\n  blocking: false\n"), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ModuleEnabled("blocking", blocking.Module.Default) {
		t.Fatal("blocking: false leaves the module enabled")
	}
	if !blocking.Module.Default {
		t.Fatal("the blocking module is not in the default set")
	}
}
