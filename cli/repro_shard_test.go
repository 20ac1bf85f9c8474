package cli

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ghostsim/ghostsim/experiment"
	"github.com/ghostsim/ghostsim/experiment/repro"
	"github.com/ghostsim/ghostsim/results"
)

// TestMain lets a test run the command as a separate process: the test
// binary itself, run with GHOSTSIM_TEST_MAIN=1, is ghostsim.
func TestMain(m *testing.M) {
	if os.Getenv("GHOSTSIM_TEST_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// ghostsimProcess runs ghostsim as a separate process with only env (and
// PATH/HOME) in its environment, as a batch system starts a shard.
func ghostsimProcess(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = []string{"GHOSTSIM_TEST_MAIN=1", "PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), errOut.String()
	} else if err != nil {
		t.Fatalf("running %v: %v", args, err)
	}
	return 0, out.String(), errOut.String()
}

// sameOutput compares the stdout and files of an unsharded repro run
// (into want) with a merge's (into got), the directory names aside.
func sameOutput(t *testing.T, wantOut, gotOut, want, got string) {
	t.Helper()
	if w, g := strings.ReplaceAll(wantOut, want, "DIR"), strings.ReplaceAll(gotOut, got, "DIR"); w != g {
		t.Errorf("merge's stdout differs from the unsharded run's:\n--- unsharded\n%s--- merged\n%s", w, g)
	}
	entries, err := os.ReadDir(want)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		w, err1 := os.ReadFile(filepath.Join(want, e.Name()))
		g, err2 := os.ReadFile(filepath.Join(got, e.Name()))
		if err1 != nil || err2 != nil {
			t.Errorf("%s: %v, %v", e.Name(), err1, err2)
		} else if !bytes.Equal(w, g) {
			t.Errorf("merged %s differs from the unsharded run's", e.Name())
		}
	}
	if g, _ := os.ReadDir(got); len(g) != len(entries) {
		t.Errorf("merge wrote %d files, the unsharded run %d", len(g), len(entries))
	}
}

// TestReproShardsMerge runs table4 and table3 whole and as shards, each
// shard a separate process seeing only the variables a Kubernetes Indexed
// Job or a Slurm job array (numbered from 1) sets, merges them and
// compares stdout, exit code and every file with the unsharded run's.
func TestReproShardsMerge(t *testing.T) {
	cases := []struct {
		part  string
		n     int
		extra []string
		env   func(i int) map[string]string
	}{
		{"table4", 3, []string{"-shards", "3"}, func(i int) map[string]string {
			return map[string]string{"JOB_COMPLETION_INDEX": itoa(i)}
		}},
		// One run in two shards: shard 1's file is empty.
		{"table3", 2, nil, func(i int) map[string]string {
			return map[string]string{"SLURM_ARRAY_TASK_ID": itoa(i + 1), "SLURM_ARRAY_TASK_COUNT": "2",
				"SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "2", "SLURM_ARRAY_TASK_STEP": "1"}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.part, func(t *testing.T) {
			dir := t.TempDir()
			full := filepath.Join(dir, "full")
			wantCode, wantOut, stderr := ghostsimProcess(t, nil, "repro", "-q", "-j", "2", "-format", "png,svg,pdf", "-out", full, tc.part)
			checkNoTrace(t, stderr)
			shards := filepath.Join(dir, "shards")
			var files []string
			for i := 0; i < tc.n; i++ {
				args := append(append([]string{"repro", "-q", "-j", "1", "-out", shards}, tc.extra...), tc.part)
				code, _, stderr := ghostsimProcess(t, tc.env(i), args...)
				if code != exitOK {
					t.Fatalf("shard %d: exit %d\n%s", i, code, stderr)
				}
				if first, _, _ := strings.Cut(stderr, "\n"); !strings.Contains(first, fmt.Sprintf("shard %d/%d from ", i, tc.n)) {
					t.Errorf("shard %d: stderr's first line %q does not name the shard", i, first)
				}
				files = append(files, filepath.Join(shards, fmt.Sprintf("%s-shard-%d-of-%d.jsonl", tc.part, i, tc.n)))
			}
			files[0], files[len(files)-1] = files[len(files)-1], files[0]
			merged := filepath.Join(dir, "merged")
			code, out, stderr := ghostsimProcess(t, nil, append([]string{"merge", "-format", "png,svg,pdf", merged}, files...)...)
			if code != wantCode {
				t.Errorf("merge: exit %d, the unsharded run %d\n%s", code, wantCode, stderr)
			}
			if !strings.Contains(stderr, tc.part+": ") {
				t.Errorf("merge's stderr %q does not say what it merged", stderr)
			}
			sameOutput(t, wantOut, out, full, merged)
		})
	}
}

// twoStepParts is a test-only registry with a part of two batches, the
// second chosen from the first's results (as Fig 6's knee refinement),
// over a few milliseconds of the synthetic workload each.
func twoStepParts(t *testing.T) []repro.Part {
	point := func(load float64, seed int) experiment.Point {
		sets := []string{fmt.Sprintf("workload.group[0].arrival.rate_per_s=%g", load), fmt.Sprintf("run.seed=%d", seed), "run.duration_ms=10", "run.warmup_ms=5"}
		spec, _, err := experiment.LoadWorkload("synthetic", []string{"skylake112", "synthetic-requests.toml"}, sets)
		if err != nil {
			t.Fatal(err)
		}
		return experiment.Point{Values: map[string]float64{"load": load}, Spec: spec, Workload: "synthetic"}
	}
	run := func(env repro.Env) (*repro.Result, error) {
		var pts []experiment.Point
		for _, l := range []float64{20000, 40000, 60000, 80000, 100000} {
			pts = append(pts, point(l, 1))
		}
		// The test runs the part's batches through env.Sweep as the
		// command does.
		rs, err := env.Sweep("twostep", 0, pts)
		if err != nil {
			return nil, err
		}
		best := 0
		for i, r := range rs {
			if r.Latency["all"].P99 > rs[best].Latency["all"].P99 {
				best = i
			}
		}
		again, err := env.Sweep("twostep again", 1, []experiment.Point{point(rs[best].Point["load"], 2)})
		if err != nil {
			return nil, err
		}
		var csv strings.Builder
		csv.WriteString("load,p99_ns\n")
		for _, r := range append(rs, again...) {
			fmt.Fprintf(&csv, "%g,%d\n", r.Point["load"], r.Latency["all"].P99)
		}
		return &repro.Result{Text: fmt.Sprintf("worst p99 at %g\n", rs[best].Point["load"]),
			Files:  []repro.File{{Name: "twostep.csv", Data: []byte(csv.String())}},
			Claims: []repro.Claim{{What: "a p99", Measured: fmt.Sprint(again[0].Latency["all"].P99), OK: true}}}, nil
	}
	return []repro.Part{{Name: "twostep", Summary: "two batches", Run: func(env repro.Env) (*repro.Result, error) {
		if env.Sweep == nil {
			env.Sweep = func(label string, _ int, pts []experiment.Point) ([]*results.Result, error) {
				return experiment.RunSweep(pts, env.Jobs, nil)
			}
		}
		return run(env)
	}}}
}

// TestReproMergeRunsLaterBatches: the shards run a part's first batch
// only; merge runs the batch chosen from it and gives what the unsharded
// run gives.
func TestReproMergeRunsLaterBatches(t *testing.T) {
	parts := twoStepParts(t)
	dir := t.TempDir()
	full, shards, merged := filepath.Join(dir, "full"), filepath.Join(dir, "shards"), filepath.Join(dir, "merged")
	var wantOut, errOut bytes.Buffer
	wantCode := runReproParts([]string{"-q", "-j", "2", "-out", full, "twostep"}, parts, &wantOut, &errOut)
	if wantCode != exitOK {
		t.Fatalf("unsharded: exit %d\n%s", wantCode, errOut.String())
	}
	var files []string
	for i := 0; i < 3; i++ {
		withEnv(t, nil)
		var out, errOut bytes.Buffer
		if code := runReproParts([]string{"-q", "-j", "1", "-shard", fmt.Sprintf("%d/3", i), "-out", shards, "twostep"}, parts, &out, &errOut); code != exitOK {
			t.Fatalf("shard %d: exit %d\n%s", i, code, errOut.String())
		}
		if out.Len() != 0 {
			t.Errorf("shard %d printed %q; a shard prints no table or claims", i, out.String())
		}
		files = append(files, filepath.Join(shards, fmt.Sprintf("twostep-shard-%d-of-3.jsonl", i)))
	}
	data, _ := os.ReadFile(files[0])
	if n := bytes.Count(data, []byte("\n")); n != 2 {
		t.Errorf("shard 0 holds %d runs, want 2 of the first batch's 5 (0 and 3)", n)
	}
	var out bytes.Buffer
	errOut.Reset()
	if code := runMergeParts([]string{"-j", "2", merged, files[2], files[0], files[1]}, parts, &out, &errOut); code != wantCode {
		t.Fatalf("merge: exit %d\n%s", code, errOut.String())
	}
	if !strings.Contains(errOut.String(), "twostep: 5 runs from 3 files, 1 more run here") {
		t.Errorf("merge's stderr %q does not say it ran the second batch", errOut.String())
	}
	sameOutput(t, wantOut.String(), out.String(), full, merged)
}

// TestReproMergeRejects: a missing run, a duplicate, shards of another
// config or build, and a line that is not a repro shard's are each one
// clear line, exit 2.
func TestReproMergeRejects(t *testing.T) {
	parts := twoStepParts(t)
	withEnv(t, nil)
	dir := t.TempDir()
	var files []string
	for i := 0; i < 2; i++ {
		var out, errOut bytes.Buffer
		if code := runReproParts([]string{"-q", "-j", "1", "-shard", fmt.Sprintf("%d/2", i), "-out", dir, "twostep"}, parts, &out, &errOut); code != exitOK {
			t.Fatalf("shard %d: exit %d\n%s", i, code, errOut.String())
		}
		files = append(files, filepath.Join(dir, fmt.Sprintf("twostep-shard-%d-of-2.jsonl", i)))
	}
	s0, s1 := files[0], files[1]
	data, _ := os.ReadFile(s1)
	edit := func(name, old, new string, all bool) string {
		n := 1
		if all {
			n = -1
		}
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, bytes.Replace(data, []byte(old), []byte(new), n), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	hash := strings.SplitN(strings.SplitN(string(data), `"config_sha256":"`, 2)[1], `"`, 2)[0]
	otherHash := edit("other", hash, strings.Repeat("ab", 32), false)
	rehashed := edit("rehashed", hash, strings.Repeat("ab", 32), true)
	rehashed0 := filepath.Join(dir, "rehashed0")
	d0, _ := os.ReadFile(s0)
	os.WriteFile(rehashed0, bytes.ReplaceAll(d0, []byte(hash), []byte(strings.Repeat("ab", 32))), 0o644)
	oldVersion := edit("old", `"version":"`+ghostsimVersion()+`"`, `"version":"v0.0.1"`, true)
	sweepLine := filepath.Join(dir, "sweep")
	os.WriteFile(sweepLine, []byte(`{"schema":"ghostsim.result/v1"}`+"\n"), 0o644)
	other := edit("otherpart", `"part":"twostep"`, `"part":"fig99"`, true)
	other0 := filepath.Join(dir, "otherpart0")
	os.WriteFile(other0, bytes.ReplaceAll(d0, []byte(`"part":"twostep"`), []byte(`"part":"fig99"`)), 0o644)

	s1again := filepath.Join(dir, "s1-again") // another run of shard 1
	d1, _ := os.ReadFile(s1)
	os.WriteFile(s1again, d1, 0o644)

	tests := []struct {
		name  string
		files []string
		want  string
	}{
		{"missing", []string{s0}, "missing 2 of twostep's 5 runs: 1, 3"},
		{"duplicate", []string{s0, s1, s1again}, "duplicate run 1 of 5: at " + s1 + ":1 and " + s1again + ":1"},
		{"same file twice", []string{s0, s1, s1}, s1 + " is given twice: give each shard file once"},
		{"config mismatch between shards", []string{s0, otherHash}, "config mismatch: twostep's config hash abababababab"},
		{"config mismatch with this build", []string{rehashed0, rehashed}, "config mismatch: the shards ran twostep's 5 runs with config hash abababababab, this build's are"},
		{"version mismatch", []string{oldVersion, s0}, "version mismatch: ghostsim v0.0.1 ran the shards, this is ghostsim"},
		{"not a repro line", []string{s0, sweepLine}, `not a repro shard's line (no "repro" and "result")`},
		{"unknown part", []string{other0, other}, `part "fig99" is not one this build reproduces`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := runMergeParts(append([]string{filepath.Join(dir, "out")}, tt.files...), parts, &out, &errOut)
			if code != exitUsage || out.Len() != 0 {
				t.Errorf("exit %d, stdout %q; want 2 and nothing", code, out.String())
			}
			stderr := errOut.String()
			if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "ghostsim merge: ") || !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q: want one line with %q", stderr, tt.want)
			}
		})
	}
}

// TestReproShardErrors: repro -shard is refused for all and for a part
// that runs nothing, each with one line and exit 2.
func TestReproShardErrors(t *testing.T) {
	withEnv(t, nil)
	parts := fakeParts(false, false) // tabB runs no simulation
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-shard", "0/2", "all"}, "shard one part at a time"},
		{[]string{"-shard", "0/2", "-out", t.TempDir(), "tabB"}, "the part runs no simulations to share out"},
		{[]string{"-shard", "2/2", "table3"}, `-shard "2/2": want I/N`},
	} {
		var out, errOut bytes.Buffer
		code := runReproParts(tc.args, parts, &out, &errOut)
		if code != exitUsage || strings.Count(errOut.String(), "\n") != 1 || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("repro %v: exit %d, stderr %q; want 2 and one line with %q", tc.args, code, errOut.String(), tc.want)
		}
	}
}
