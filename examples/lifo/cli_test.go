package lifo_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ghostsim/ghostsim/cli"
)

// TestCommandLine runs the example policy through the ghostsim command as
// a package (what ghostsim-lifo's main does): the user's policy is listed
// and runs on the paper's Fig 6 workload like a built-in one.
func TestCommandLine(t *testing.T) {
	var out, errs bytes.Buffer
	if code := cli.Run([]string{"-list"}, &out, &errs); code != 0 {
		t.Fatalf("ghostsim -list: exit %d\n%s", code, errs.String())
	}
	if !strings.Contains(out.String(), "example-lifo") {
		t.Errorf("ghostsim -list does not name example-lifo:\n%s", out.String())
	}
	out.Reset()
	errs.Reset()
	args := []string{"-workload", "rocksdb", "-policy", "example-lifo", "-set", "run.warmup_ms=5", "-set", "run.duration_ms=20", "-json"}
	if code := cli.Run(args, &out, &errs); code != 0 {
		t.Fatalf("ghostsim %s: exit %d\n%s", strings.Join(args, " "), code, errs.String())
	}
	var r struct {
		Policy     string             `json:"policy"`
		Throughput map[string]float64 `json:"throughput"`
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("result: %v\n%s", err, out.String())
	}
	if r.Policy != "example-lifo" || r.Throughput["requests_per_s"] <= 0 {
		t.Errorf("result: policy %q, %v requests/s; want example-lifo serving requests", r.Policy, r.Throughput["requests_per_s"])
	}
}
