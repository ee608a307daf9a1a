package modtest

import (
	"reflect"
	"testing"

	"github.com/parleyim/parley/internal/config"
	"github.com/parleyim/parley/internal/module"
)

// CheckConfig checks one row of a module's configuration table (STYLE.md
// §7.2), as a subtest named name: yaml is parsed as the file "test.yaml",
// def's modules section is decoded into def's defaults as the server
// decodes it, and the result validated. The outcome must be the
// configuration want, or, when wantErr is not empty, exactly that error
// (with file, line and key).
func CheckConfig[C any](t *testing.T, def module.Definition, name, yaml string, want C, wantErr string) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		cfg, err := config.Parse([]byte(yaml), "test.yaml")
		if err != nil {
			t.Fatal(err)
		}
		got, ok := def.NewConfig().(*C)
		if !ok {
			t.Fatalf("module %s: config is %T, not *%T", def.Name, def.NewConfig(), want)
		}
		err = cfg.DecodeModule(def.Name, got)
		if v, ok := any(got).(module.Validator); ok && err == nil {
			err = v.Validate()
		}
		if wantErr != "" {
			if err == nil || err.Error() != wantErr {
				t.Fatalf("error %v, want %s", err, wantErr)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*got, want) {
			t.Fatalf("got %+v, want %+v", *got, want)
		}
	})
}
