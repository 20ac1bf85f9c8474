package policies_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImports enforces docs/DESIGN.md §1: a policy sees exactly what a real
// ghOSt agent sees, so it imports sim/agent and nothing below it (other
// policy packages and the standard library aside). Test files may import
// more: they build the machine, kernel and enclave a policy runs on.
func TestImports(t *testing.T) {
	const module = "github.com/ghostsim/ghostsim/"
	dirs, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, d := range dirs {
		if !d.IsDir() || d.Name() == "testdata" {
			continue
		}
		files, _ := filepath.Glob(filepath.Join(d.Name(), "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue // tests build machines and kernels to drive a policy
			}
			fs := token.NewFileSet()
			ast, err := parser.ParseFile(fs, f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range ast.Imports {
				path := strings.Trim(imp.Path.Value, `"`)
				if !strings.HasPrefix(path, module) {
					continue
				}
				rel := strings.TrimPrefix(path, module)
				if rel != "sim/agent" && !strings.HasPrefix(rel, "policies/") {
					t.Errorf("%s imports %s: a policy may import only sim/agent (and other policies)", f, path)
				}
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no policy files found")
	}
}
