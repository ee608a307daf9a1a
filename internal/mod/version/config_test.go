package version_test

import (
	"testing"

	"github.com/parleyim/parley/internal/config"
	"github.com/parleyim/parley/internal/mod/version"
)

func TestConfig(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       version.Config
		err        string
	}{
		{"absent", "", version.Config{}, ""},
		{"empty", "modules:\n  version: {}\n", version.Config{}, ""},
		{"show_os", "modules:\n  version: {show_os: true}\n", version.Config{ShowOS: true}, ""},
		{"bad value", "modules:\n  version: {show_os: maybe}\n", version.Config{},
			`test.yaml:2: modules.version.show_os: want true or false, got "maybe"`},
		{"unknown key", "modules:\n  version:\n    show_os: true\n    os: Linux\n", version.Config{},
			`test.yaml:4: modules.version.os: unknown key; known keys: show_os`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(tc.yaml), "test.yaml")
			if err != nil {
				t.Fatal(err)
			}
			got := *version.Module.NewConfig().(*version.Config)
			err = cfg.DecodeModule("version", &got)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error %v, want %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
