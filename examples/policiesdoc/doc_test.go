// Package policiesdoc_test checks that docs/POLICIES.md tells the truth:
// its policy, my-fifo, compiles as printed and passes the test kit's
// scenarios when built in a module of a user's own.
package policiesdoc_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// goBlocks returns the ```go blocks of a Markdown file, in order.
func goBlocks(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []string
	var cur *strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case cur == nil && line == "```go":
			cur = &strings.Builder{}
		case cur != nil && line == "```":
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return blocks
}

// TestPoliciesGuideCompilesAndPasses writes the guide's policy (its Go
// blocks up to the first that is not part of package mypolicy) and its
// test (the block of package mypolicy_test) into a module that requires
// this one, as a user's would, adds a run of every ghosttest scenario,
// and runs go test there, offline.
func TestPoliciesGuideCompilesAndPasses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests a module of its own (-short)")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	blocks := goBlocks(t, filepath.Join(root, "docs", "POLICIES.md"))
	// The policy: the first block (package mypolicy) and the blocks that
	// continue it, up to the first that starts a file of its own.
	var policy, test string
	ended := false
	for i, b := range blocks {
		starts := strings.HasPrefix(b, "package ") || strings.HasPrefix(b, "import")
		ended = ended || i > 0 && starts
		if !ended {
			policy += b + "\n"
		}
		if strings.HasPrefix(b, "package mypolicy_test") {
			test = b
		}
	}
	if !strings.Contains(policy, "\npackage mypolicy\n") || test == "" {
		t.Fatalf("docs/POLICIES.md: found no policy block (package mypolicy) or no test block (package mypolicy_test)")
	}
	const mod = "example.com/mypolicies"
	testSrc := test + `
func TestEveryScenario(t *testing.T) {
	for _, sc := range ghosttest.Scenarios() {
		t.Run(sc.Name, func(t *testing.T) { ghosttest.Run(t, "my-fifo", sc.Name).RequireNoLostTasks() })
	}
}
`
	dir := t.TempDir()
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"go.mod": "module " + mod + "\n\ngo 1.26\n\nrequire github.com/ghostsim/ghostsim v0.0.0\n\n" +
			"replace github.com/ghostsim/ghostsim => " + root + "\n",
		"go.sum":                    string(sum),
		"mypolicy/mypolicy.go":      policy,
		"mypolicy/mypolicy_test.go": testSrc,
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The first run writes the test's baseline (ghosttest's -update), the
	// second compares with it.
	for _, args := range [][]string{{"-update"}, nil} {
		cmd := exec.Command(goBin, append([]string{"test", "-count=1", "./mypolicy/"}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			if strings.Contains(out.String(), "module lookup disabled by GOPROXY=off") {
				// Offline, and the module cache lacks a module the user's
				// module resolves: nothing to say about the guide.
				t.Skipf("the module cache lacks a dependency (GOPROXY=off):\n%s", out.String())
			}
			t.Fatalf("go test %v of docs/POLICIES.md's policy: %v\n%s\npolicy source:\n%s", args, err, out.String(), policy)
		}
	}
}
