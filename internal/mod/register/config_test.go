package register_test

import (
	"testing"
	"time"

	"github.com/parleyim/parley/internal/config"
	"github.com/parleyim/parley/internal/mod/register"
)

func TestConfig(t *testing.T) {
	def := register.Config{PerIP: config.Rate{N: 5, Per: time.Minute}, Instructions: register.DefaultInstructions}
	cases := []struct {
		name, yaml string
		want       register.Config
		err        string
	}{
		{"absent", "", def, ""},
		{"empty", "modules:\n  register: {}\n", def, ""},
		{"instructions", "modules:\n  register: {instructions: Visit https://example.com/signup}\n",
			register.Config{PerIP: def.PerIP, Instructions: "Visit https://example.com/signup"}, ""},
		{"no instructions", "modules:\n  register: {instructions: ''}\n",
			register.Config{PerIP: def.PerIP}, ""},
		// Open and PerIP come from registration and limits, never from
		// the module section.
		{"open is top-level", "modules:\n  register:\n    open: true\n", def,
			`test.yaml:3: modules.register.open: unknown key; known keys: instructions`},
		{"per_ip is top-level", "modules:\n  register: {per_ip: 5/min}\n", def,
			`test.yaml:2: modules.register.per_ip: unknown key; known keys: instructions`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(tc.yaml), "test.yaml")
			if err != nil {
				t.Fatal(err)
			}
			got := *register.Module.NewConfig().(*register.Config)
			err = cfg.DecodeModule("register", &got)
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

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		rate config.Rate
		ok   bool
	}{
		{config.Rate{N: 5, Per: time.Minute}, true},
		{config.Rate{Unlimited: true}, true},
		{config.Rate{}, false},
		{config.Rate{N: 5}, false},
		{config.Rate{Per: time.Minute}, false},
	}
	for _, tc := range cases {
		c := register.Config{PerIP: tc.rate}
		if err := c.Validate(); (err == nil) != tc.ok {
			t.Errorf("Validate(%+v) = %v, want ok %v", tc.rate, err, tc.ok)
		}
	}
}
