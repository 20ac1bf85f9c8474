package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ghostsim/ghostsim/experiment"
	"github.com/ghostsim/ghostsim/results"
	"github.com/ghostsim/ghostsim/sim"
)

// writeResults writes rs as JSON lines into dir/name and returns the path.
func writeResults(t *testing.T, dir, name string, rs ...*results.Result) string {
	t.Helper()
	var b strings.Builder
	for _, r := range rs {
		line, err := r.JSON()
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// fakeResult is a result with class "all" and requests_per_s, at load
// (no point when load is 0).
func fakeResult(load float64, p99 int64, rps float64) *results.Result {
	r := results.New()
	r.Machine, r.Workload, r.Policy, r.SimTimeNs = "skylake112", "synthetic", "none", 1e8
	if load != 0 {
		r.Point = map[string]float64{"load": load}
	}
	r.Latency["all"] = sim.Summary{Count: 1000, P50: p99 / 4, P99: p99, P999: 2 * p99}
	r.Throughput["requests_per_s"] = rps
	return r
}

// TestCompareExitCodes checks ghostsim compare's exit codes: 0 without a
// regression, 1 with one (each named on stderr), 2 for bad input.
func TestCompareExitCodes(t *testing.T) {
	dir := t.TempDir()
	base := writeResults(t, dir, "base.json", fakeResult(0, 1000, 1e5))
	same := writeResults(t, dir, "same.json", fakeResult(0, 1040, 0.96e5))
	slow := writeResults(t, dir, "slow.json", fakeResult(0, 1200, 0.5e5))
	sweepA := writeResults(t, dir, "a.jsonl", fakeResult(1, 1000, 1e5), fakeResult(2, 2000, 2e5))
	sweepB := writeResults(t, dir, "b.jsonl", fakeResult(2, 2500, 2e5), fakeResult(1, 1000, 1e5))
	sweepC := writeResults(t, dir, "c.jsonl", fakeResult(1, 1000, 1e5), fakeResult(3, 2000, 2e5))
	// Issue 14: a saturated candidate with better percentiles, one that
	// served nothing, results of another machine or workload, and a file
	// holding only a schema field.
	satRes := fakeResult(0, 500, 1e5)
	satRes.Saturated = true
	satRes.Backlog["all"] = sim.Backlog{Arrived: 7521, Completed: 312, InFlightStart: 3697, InFlightEnd: 10906}
	sat := writeResults(t, dir, "sat.json", satRes)
	nothingRes := fakeResult(0, 500, 0)
	nothingRes.Latency["all"] = sim.Summary{Count: 1000, Incomplete: 1000, P50: 100, P99: 500, P999: 600}
	nothing := writeResults(t, dir, "nothing.json", nothingRes)
	otherMachine := fakeResult(0, 1000, 1e5)
	otherMachine.Machine = "rome256"
	rome := writeResults(t, dir, "rome.json", otherMachine)
	otherWorkload := fakeResult(0, 1000, 1e5)
	otherWorkload.Workload = "rocksdb"
	rocks := writeResults(t, dir, "rocks.json", otherWorkload)
	schemaOnly := filepath.Join(dir, "schema.json")
	if err := os.WriteFile(schemaOnly, []byte(`{"schema": "ghostsim.result/v1"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	emptyRes := fakeResult(0, 0, 0)
	delete(emptyRes.Latency, "all")
	delete(emptyRes.Throughput, "requests_per_s")
	empty := writeResults(t, dir, "empty.json", emptyRes)
	notResult := filepath.Join(dir, "other.json")
	if err := os.WriteFile(notResult, []byte(`{"name": "not a result"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		code       int
		wantOut    []string
		wantStderr []string
	}{
		{"no regression", []string{base, same}, exitOK,
			[]string{"metric", "class", "point", "baseline", "candidate", "change", "status", "p99", "p99.9", "requests_per_s", "+4.0 %", "OK", "no regression in 3 metrics"}, nil},
		{"regression", []string{base, slow}, exitFailure,
			[]string{"REGRESSED", "+20.0 %", "-50.0 %"},
			[]string{"regressed: p99 of class all: 1000 -> 1200", "regressed: p99.9 of class all", "regressed: throughput requests_per_s", "3 of 3 metrics regressed"}},
		{"tolerance lets it pass", []string{"-tolerance", "p99=25%,p99.9=off", base, slow, "-tolerance", "throughput=60%"}, exitOK,
			[]string{"tolerances p99=25%,throughput=60%", "no regression in 2 metrics"}, nil},
		{"quiet", []string{"-q", base, slow}, exitFailure, nil, []string{"regressed: p99 of class all"}},
		{"sweep by point", []string{sweepA, sweepB}, exitFailure,
			[]string{"load=1", "load=2", "2 points"}, []string{"regressed: p99 of class all at load=2: 2000 -> 2500"}},
		{"mismatched points", []string{sweepA, sweepC}, exitUsage, nil,
			[]string{"different points", "only in the baseline: {load=2}", "only in the candidate: {load=3}"}},
		{"sweep against a single run", []string{sweepA, base}, exitUsage, nil, []string{"different points"}},
		{"missing file", []string{base, filepath.Join(dir, "nosuch.json")}, exitUsage, nil, []string{"candidate ", "nosuch.json", "no such file"}},
		{"not a result", []string{notResult, base}, exitUsage, nil, []string{"baseline ", "other.json: result 1: not a ghostsim result"}},
		{"bad tolerance", []string{"-tolerance", "p99=5", base, same}, exitUsage, nil, []string{"-tolerance", "want a percentage"}},
		{"unknown metric", []string{"-tolerance", "p42=5%", base, same}, exitUsage, nil, []string{`unknown metric "p42"`}},
		{"everything off", []string{"-tolerance", "p99=off,p99.9=off,throughput=off", base, same}, exitUsage, nil, []string{"nothing to compare"}},
		{"saturated candidate", []string{base, sat}, exitFailure,
			[]string{"saturated", "no", "yes", "SATURATED", "REGRESSED"},
			[]string{"regressed: saturated: the candidate did not keep up", "class all in flight 3697 -> 10906", "1 of 4 metrics regressed"}},
		{"saturated baseline", []string{"-tolerance", "p99=off,p99.9=off", sat, base}, exitOK, []string{"saturated", "yes", "no regression in 2 metrics"}, nil},
		{"served nothing", []string{"-tolerance", "throughput=off", base, nothing}, exitFailure,
			[]string{"served"}, []string{"regressed: served: the candidate completed no request in the window (the baseline 1000): it served nothing"}},
		{"other machine", []string{base, rome}, exitUsage, nil,
			[]string{"not the same experiment", `machine "skylake112", candidate "rome256"`}},
		{"other workload", []string{base, rocks}, exitUsage, nil,
			[]string{"not the same experiment", `workload "synthetic", candidate "rocksdb"`}},
		{"schema only", []string{base, schemaOnly}, exitUsage, nil,
			[]string{"candidate ", "schema.json: result 1: not a complete ghostsim result: no machine"}},
		{"nothing in the baseline", []string{empty, base}, exitUsage, nil, []string{"nothing to compare"}},
		{"one file", []string{base}, exitUsage, nil, []string{"want two files"}},
		{"three files", []string{base, same, slow}, exitUsage, nil, []string{"want two files"}},
		{"unknown flag", []string{"-bogus", base, same}, exitUsage, nil, []string{"-bogus"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := ghostsim(t, append([]string{"compare"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			checkNoTrace(t, stderr)
			for _, w := range tt.wantOut {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if tt.code == exitOK && stderr != "" {
				t.Errorf("stderr = %q, want nothing", stderr)
			}
			if tt.code != exitOK {
				for _, line := range strings.Split(strings.TrimRight(stderr, "\n"), "\n") {
					if !strings.HasPrefix(line, "ghostsim compare: ") {
						t.Errorf("stderr line %q lacks the \"ghostsim compare: \" prefix", line)
					}
				}
			}
		})
	}
}

// TestCompareBaseline runs the command that results/baselines/README.md
// documents and compares it with the baseline, reading -out's indented
// result.json. The command must resolve the same config as the experiment
// TestBaseline in package results runs (its row is repeated here).
func TestCompareBaseline(t *testing.T) {
	dir := t.TempDir()
	args := []string{"-config", "skylake112", "-config", "synthetic-requests.toml", "-workload", "synthetic",
		"-set", `workload.group[0].class="ghost"`, "-set", "enclave.cpus=0-8", "-policy", "fifo-central", "-duration", "100ms",
		"-q", "-out", dir}
	if code, _, stderr := ghostsim(t, args...); code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	base := filepath.Join("..", "results", "baselines", "synthetic-ghost-fifo-central.json")
	code, stdout, stderr := ghostsim(t, "compare", base, filepath.Join(dir, "result.json"))
	if code != exitOK {
		t.Errorf("compare with the baseline: exit %d\n%s%s", code, stdout, stderr)
	}

	spec, _, err := experiment.Load([]string{"skylake112", "synthetic-requests.toml"},
		[]string{`workload.group[0].class="ghost"`, "enclave.cpus=0-8", "run.duration_ms=100"})
	if err != nil {
		t.Fatal(err)
	}
	want, err := experiment.Run(spec, experiment.Options{Workload: "synthetic", Policy: "fifo-central"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := results.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got[0].ConfigSHA256 != want.ConfigSHA256 {
		t.Errorf("the documented command resolves another config (config_sha256 %s) than TestBaseline's row (%s); "+
			"keep results/baselines/README.md and results/regression_test.go in agreement", got[0].ConfigSHA256, want.ConfigSHA256)
	}
}

// TestCompareSaturatedRun is issue 14's compare example with real runs:
// a candidate offered far more than the servers take is saturated, and
// compare calls that a regression even with every percentile and the
// throughput left out of the tolerances.
func TestCompareSaturatedRun(t *testing.T) {
	dir := t.TempDir()
	common := []string{"-config", "skylake112", "-config", "synthetic-requests.toml", "-workload", "synthetic",
		"-set", "run.warmup_ms=2", "-duration", "5ms", "-q", "-json"}
	run := func(name string, sets ...string) string {
		code, stdout, stderr := ghostsim(t, append(common, sets...)...)
		if code != exitOK {
			t.Fatalf("%s: exit %d\n%s", name, code, stderr)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(stdout), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	base := run("base.json")
	cand := run("cand.json", "-set", "workload.group[0].threads=512", "-set", "workload.group[0].arrival.rate_per_s=3800000")
	code, stdout, stderr := ghostsim(t, "compare", "-tolerance", "p99=off,p99.9=off,throughput=off,p50=100000%", base, cand)
	if code != exitFailure || !strings.Contains(stderr, "regressed: saturated") {
		t.Errorf("exit %d, want %d with the candidate's saturation named\n%s%s", code, exitFailure, stdout, stderr)
	}
}

func TestCompareHelp(t *testing.T) {
	code, out, stderr := ghostsim(t, "compare", "-h")
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	for _, w := range []string{"usage: ghostsim compare", "-tolerance", "p99=5%", "Exit status"} {
		if !strings.Contains(out, w) {
			t.Errorf("compare -h lacks %q:\n%s", w, out)
		}
	}
}
