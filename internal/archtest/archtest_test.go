// Package archtest holds house rules written as tests: the import tiers of
// docs/architecture.md and the isolation of modules.
package archtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/app"
)

const modulePath = "github.com/parleyim/parley/"

// tiers gives each package (by path below the module root, longest prefix
// wins) its tier. A package may import only packages of its own tier or a
// lower one. docs/architecture.md explains the tiers.
var tiers = map[string]int{
	"internal/ns":        0,
	"internal/xmlstream": 0,
	"internal/jid":       0,
	"internal/stanza":    0,
	// config imports no other package of ours, so its value types (Rate,
	// Duration, Size) and strict decoder serve module configs too.
	"internal/config": 0,

	"internal/stream": 1,
	"internal/sasl":   1,

	"internal/hook":    2,
	"internal/module":  2,
	"internal/router":  2,
	"internal/session": 2,
	"internal/auth":    2,
	"internal/storage": 2,

	"internal/mod": 3,
	// modtest is test support for modules: it starts whole servers.
	"internal/mod/modtest": 4,

	"internal/app":      4,
	"internal/admin":    4,
	"internal/client":   4,
	"internal/bench":    4,
	"internal/xmpptest": 4,
	"internal/archtest": 4,
	"cmd":               4,
	"interop":           4,
}

func tierOf(pkg string) (int, bool) {
	best, tier := "", 0
	for prefix, t := range tiers {
		if (pkg == prefix || strings.HasPrefix(pkg, prefix+"/")) && len(prefix) > len(best) {
			best, tier = prefix, t
		}
	}
	return tier, best != ""
}

// imports returns, for every package directory of the repository, the
// packages of ours its non-test files import.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		if _, ok := out[rel]; !ok {
			out[rel] = nil
		}
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			if dep, ok := strings.CutPrefix(p, modulePath); ok && !slices.Contains(out[rel], dep) {
				out[rel] = append(out[rel], dep)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 10 {
		t.Fatalf("found only %d packages under %s; is the walk broken?", len(out), root)
	}
	return out
}

func TestImportTiers(t *testing.T) {
	for pkg, deps := range imports(t) {
		pt, ok := tierOf(pkg)
		if !ok {
			t.Errorf("%s has no tier: add it to tiers in archtest and to docs/architecture.md", pkg)
			continue
		}
		for _, dep := range deps {
			dt, ok := tierOf(dep)
			if !ok {
				continue // reported as its own package
			}
			if dt > pt {
				t.Errorf("%s (tier %d) imports %s (tier %d): imports point down only", pkg, pt, dep, dt)
			}
		}
	}
}

func TestConfigIsALeaf(t *testing.T) {
	all := imports(t)
	if deps := all["internal/config"]; len(deps) > 0 {
		t.Errorf("internal/config imports %v; it must import no package of ours, so that modules can use it", deps)
	}
}

// TestModuleIsolation checks that a module never reaches into a session or
// another module: modules talk through hooks, the router and the module
// Host (STYLE.md §3.9). A module may import another only along a declared
// Requires edge, for the typed service the other provides.
func TestModuleIsolation(t *testing.T) {
	requires := map[string]bool{}
	for _, d := range app.Modules {
		for _, r := range d.Requires {
			requires["internal/mod/"+d.Name+" internal/mod/"+r] = true
		}
	}
	for pkg, deps := range imports(t) {
		if !strings.HasPrefix(pkg, "internal/mod/") || pkg == "internal/mod/modtest" {
			continue
		}
		for _, dep := range deps {
			switch {
			case strings.HasPrefix(dep, "internal/session"):
				t.Errorf("%s imports %s: modules never reach into sessions", pkg, dep)
			case strings.HasPrefix(dep, "internal/mod/") && !requires[pkg+" "+dep]:
				t.Errorf("%s imports %s: modules talk through hooks and services, not imports", pkg, dep)
			}
		}
	}
}

// TestModulesHaveReadme checks that every module folder documents itself.
func TestModulesHaveReadme(t *testing.T) {
	entries, err := os.ReadDir("../mod")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() || e.Name() == "modtest" {
			continue
		}
		if _, err := os.Stat(filepath.Join("../mod", e.Name(), "README.md")); err != nil {
			t.Errorf("module %s has no README.md", e.Name())
		}
	}
}
