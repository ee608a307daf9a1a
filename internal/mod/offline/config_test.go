package offline_test

import (
	"fmt"
	"testing"

	"github.com/parleyim/parley/internal/mod/modtest"
	"github.com/parleyim/parley/internal/mod/offline"
)

func TestConfig(t *testing.T) {
	def := offline.Config{MaxMessages: offline.DefaultMaxMessages}
	cases := []struct {
		name, yaml string
		want       offline.Config
		err        string
	}{
		{"absent", "", def, ""},
		{"empty", "modules:\n  offline: {}\n", def, ""},
		{"enabled", "modules:\n  offline: true\n", def, ""},
		{"max_messages", "modules:\n  offline: {max_messages: 50}\n", offline.Config{MaxMessages: 50}, ""},
		{"unlimited", "modules:\n  offline:\n    max_messages: 0\n", offline.Config{MaxMessages: 0}, ""},
		{"not a number", "modules:\n  offline:\n    max_messages: plenty\n", def,
			`test.yaml:3: modules.offline.max_messages: want an integer like 1000, got "plenty"`},
		{"not an integer", "modules:\n  offline: {max_messages: 1.5}\n", def,
			`test.yaml:2: modules.offline.max_messages: want an integer like 1000, got 1.5`},
		{"unknown key", "modules:\n  offline:\n    max_messages: 5\n    max_bytes: 100\n", def,
			`test.yaml:4: modules.offline.max_bytes: unknown key; known keys: max_messages`},
	}
	for _, tc := range cases {
		modtest.CheckConfig(t, offline.Module, tc.name, tc.yaml, tc.want, tc.err)
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		max int
		err string
	}{
		{0, ""},
		{1, ""},
		{offline.DefaultMaxMessages, ""},
		{-1, "max_messages: want 0 (no limit) or more, got -1"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.max), func(t *testing.T) {
			err := (&offline.Config{MaxMessages: tc.max}).Validate()
			if (tc.err == "" && err != nil) || (tc.err != "" && (err == nil || err.Error() != tc.err)) {
				t.Errorf("Validate(max_messages %d) = %v, want %q", tc.max, err, tc.err)
			}
		})
	}
}
