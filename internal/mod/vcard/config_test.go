package vcard_test

import (
	"testing"

	"github.com/parleyim/parley/internal/config"
	"github.com/parleyim/parley/internal/mod/modtest"
	"github.com/parleyim/parley/internal/mod/vcard"
)

func TestConfig(t *testing.T) {
	def := vcard.Config{MaxSize: vcard.DefaultMaxSize}
	cases := []struct {
		name, yaml string
		want       vcard.Config
		err        string
	}{
		{"absent", "", def, ""},
		{"empty", "modules:\n  vcard: {}\n", def, ""},
		{"enabled", "modules:\n  vcard: true\n", def, ""},
		{"with unit", "modules:\n  vcard: {max_size: 256KiB}\n", vcard.Config{MaxSize: 256 * config.KiB}, ""},
		{"bytes", "modules:\n  vcard: {max_size: 10000}\n", vcard.Config{MaxSize: 10000}, ""},
		{"bad unit", "modules:\n  vcard:\n    max_size: 64KB\n", def,
			`test.yaml:3: modules.vcard.max_size: want a size like "256KiB", "1MiB" or 65536 (units B, KiB, MiB, GiB), got "64KB"`},
		{"unknown key", "modules:\n  vcard:\n    max_photo: 1MiB\n", def,
			`test.yaml:3: modules.vcard.max_photo: unknown key; known keys: max_size`},
	}
	for _, tc := range cases {
		modtest.CheckConfig(t, vcard.Module, tc.name, tc.yaml, tc.want, tc.err)
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		size config.Size
		err  string
	}{
		{1, ""},
		{vcard.DefaultMaxSize, ""},
		{0, `max_size: want a positive size like "64KiB", got 0`},
		{-1, `max_size: want a positive size like "64KiB", got -1`},
	}
	for _, tc := range cases {
		err := (&vcard.Config{MaxSize: tc.size}).Validate()
		if (tc.err == "" && err != nil) || (tc.err != "" && (err == nil || err.Error() != tc.err)) {
			t.Errorf("Validate(max_size %d) = %v, want %q", tc.size, err, tc.err)
		}
	}
}
