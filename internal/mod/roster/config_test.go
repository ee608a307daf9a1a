package roster_test

import (
	"testing"

	"github.com/parleyim/parley/internal/mod/modtest"
	"github.com/parleyim/parley/internal/mod/roster"
)

func TestConfig(t *testing.T) {
	def := roster.Config{MaxItems: roster.DefaultMaxItems}
	cases := []struct {
		name, yaml string
		want       roster.Config
		err        string
	}{
		{"absent", "", def, ""},
		{"empty", "modules:\n  roster: {}\n", def, ""},
		{"enabled", "modules:\n  roster: true\n", def, ""},
		{"max_items", "modules:\n  roster: {max_items: 250}\n", roster.Config{MaxItems: 250}, ""},
		{"not a number", "modules:\n  roster:\n    max_items: lots\n", def,
			`test.yaml:3: modules.roster.max_items: want an integer like 1000, got "lots"`},
		{"not an integer", "modules:\n  roster: {max_items: 2.5}\n", def,
			`test.yaml:2: modules.roster.max_items: want an integer like 1000, got 2.5`},
		{"unknown key", "modules:\n  roster:\n    max_items: 5\n    versioning: false\n", def,
			`test.yaml:4: modules.roster.versioning: unknown key; known keys: max_items`},
	}
	for _, tc := range cases {
		modtest.CheckConfig(t, roster.Module, tc.name, tc.yaml, tc.want, tc.err)
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		max int
		err string
	}{
		{1, ""},
		{roster.DefaultMaxItems, ""},
		{0, "max_items: want at least 1, got 0"},
		{-5, "max_items: want at least 1, got -5"},
	}
	for _, tc := range cases {
		err := (&roster.Config{MaxItems: tc.max}).Validate()
		if (tc.err == "" && err != nil) || (tc.err != "" && (err == nil || err.Error() != tc.err)) {
			t.Errorf("Validate(max_items %d) = %v, want %q", tc.max, err, tc.err)
		}
	}
}
