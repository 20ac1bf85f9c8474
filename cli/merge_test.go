package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// withEnv makes getenv see only env for the rest of the test, as a batch
// system's process would.
func withEnv(t *testing.T, env map[string]string) {
	t.Helper()
	old := getenv
	getenv = func(k string) string { return env[k] }
	t.Cleanup(func() { getenv = old })
}

// hostField matches a result line's host part, the one part of a sweep's
// output that may differ between runs.
var hostField = regexp.MustCompile(`"host":\{[^}]*\},?`)

func withoutHost(b []byte) string { return hostField.ReplaceAllString(string(b), "") }

// runShards runs sweepArgs as n shards, each a separate process seeing
// only the environment env(i) sets (as a batch system starts it), writing
// into dir; it returns the shard files.
func runShards(t *testing.T, dir string, n int, extra []string, env func(i int) map[string]string) []string {
	t.Helper()
	var files []string
	for i := 0; i < n; i++ {
		args := append(append(append([]string(nil), sweepArgs...), extra...), "-out", dir, "-j", "1", "-format", "png,svg,pdf")
		code, _, stderr := ghostsimProcess(t, env(i), args...)
		if code != exitOK {
			t.Fatalf("shard %d: exit %d\n%s", i, code, stderr)
		}
		if first, _, _ := strings.Cut(stderr, "\n"); !strings.Contains(first, "shard ") {
			t.Errorf("shard %d: stderr's first line %q does not name the shard", i, first)
		}
		files = append(files, filepath.Join(dir, shard{I: i, N: n}.file()))
	}
	return files
}

// TestShardsMerge runs the sweep unsharded and as shards the three ways a
// batch system can choose them (-shard, a Kubernetes Indexed Job, a Slurm
// job array), merges each set and compares the merged files with the
// unsharded run's: byte-identical apart from host, the figures included.
func TestShardsMerge(t *testing.T) {
	full := filepath.Join(t.TempDir(), "full")
	if code, _, stderr := ghostsim(t, append(append([]string(nil), sweepArgs...), "-out", full, "-j", "2", "-format", "png,svg,pdf")...); code != exitOK {
		t.Fatalf("unsharded: exit %d\n%s", code, stderr)
	}
	cases := []struct {
		name  string
		n     int
		extra []string
		env   func(i int) map[string]string
	}{
		{"flag", 4, nil, nil},
		{"kubernetes", 3, []string{"-shards", "3"}, func(i int) map[string]string {
			return map[string]string{"JOB_COMPLETION_INDEX": itoa(i)}
		}},
		{"slurm", 2, nil, func(i int) map[string]string {
			return map[string]string{"SLURM_ARRAY_TASK_ID": itoa(i + 1), "SLURM_ARRAY_TASK_COUNT": "2",
				"SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "2", "SLURM_ARRAY_TASK_STEP": "1"}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var files []string
			if tc.env == nil {
				for i := 0; i < tc.n; i++ {
					withEnv(t, nil)
					args := append(append([]string(nil), sweepArgs...), "-shard", itoa(i)+"/"+itoa(tc.n), "-json", "-j", "1")
					code, stdout, stderr := ghostsim(t, args...)
					if code != exitOK {
						t.Fatalf("shard %d: exit %d\n%s", i, code, stderr)
					}
					f := filepath.Join(dir, itoa(i)+".jsonl")
					if err := os.WriteFile(f, []byte(stdout), 0o644); err != nil {
						t.Fatal(err)
					}
					files = append(files, f)
				}
			} else {
				files = runShards(t, dir, tc.n, tc.extra, tc.env)
			}
			// The shard files in any order.
			files[0], files[len(files)-1] = files[len(files)-1], files[0]
			merged := filepath.Join(dir, "merged")
			code, _, stderr := ghostsim(t, append([]string{"merge", "-format", "png,svg,pdf", merged}, files...)...)
			if code != exitOK {
				t.Fatalf("merge: exit %d\n%s", code, stderr)
			}
			for _, f := range []string{"results.jsonl", "sweep.csv", "sweep.png", "sweep.svg", "sweep.pdf"} {
				want, err1 := os.ReadFile(filepath.Join(full, f))
				got, err2 := os.ReadFile(filepath.Join(merged, f))
				if err1 != nil || err2 != nil {
					t.Fatalf("%s: %v, %v", f, err1, err2)
				}
				if f == "results.jsonl" {
					if withoutHost(got) != withoutHost(want) {
						t.Errorf("merged results.jsonl differs from the unsharded run's apart from host")
					}
				} else if !bytes.Equal(got, want) {
					t.Errorf("merged %s differs from the unsharded run's", f)
				}
			}
		})
	}
}

func itoa(i int) string { return plainNumber(float64(i)) }

// TestMergeRejects: a missing point, a duplicate and shards of another
// sweep (or build) are each one clear line, exit 2.
func TestMergeRejects(t *testing.T) {
	withEnv(t, nil)
	dir := t.TempDir()
	shardFile := func(name string, args ...string) string {
		code, stdout, stderr := ghostsim(t, append(append([]string(nil), sweepArgs...), append(args, "-json", "-j", "1")...)...)
		if code != exitOK {
			t.Fatalf("%s: exit %d\n%s", name, code, stderr)
		}
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(stdout), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	s0, s1, s2 := shardFile("s0", "-shard", "0/3"), shardFile("s1", "-shard", "1/3"), shardFile("s2", "-shard", "2/3")
	other := shardFile("other", "-shard", "2/3", "-seed", "9")
	data, _ := os.ReadFile(s2)
	oldVersion := filepath.Join(dir, "old")
	os.WriteFile(oldVersion, bytes.ReplaceAll(data, []byte(`"version":"`+ghostsimVersion()+`"`), []byte(`"version":"v0.0.1"`)), 0o644)
	s1again := filepath.Join(dir, "s1-again") // another run of shard 1
	if d, err := os.ReadFile(s1); err != nil || os.WriteFile(s1again, d, 0o644) != nil {
		t.Fatal(err)
	}
	notSweep := filepath.Join(dir, "single")
	os.WriteFile(notSweep, []byte(strings.Replace(strings.SplitAfter(string(data), "\n")[0], `"sweep":`, `"x":`, 1)), 0o644)

	tests := []struct {
		name  string
		files []string
		want  string
	}{
		{"missing", []string{s0, s1}, "missing 2 of 6 points: 2, 5"},
		{"duplicate", []string{s0, s1, s2, s1again}, "duplicate point 1 of 6: at " + s1 + ":1 and " + s1again + ":1"},
		{"same file twice", []string{s0, s1, s2, s1}, s1 + " is given twice"},
		{"config mismatch", []string{s0, s1, other}, "config mismatch: sweep config hash"},
		{"version mismatch", []string{s0, s1, oldVersion}, "version mismatch: ghostsim v0.0.1 ran it"},
		{"not a sweep", []string{s0, notSweep}, `not a sweep point (no "sweep" field)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := ghostsim(t, append([]string{"merge", filepath.Join(dir, "out")}, tt.files...)...)
			if code != exitUsage || stdout != "" {
				t.Errorf("exit %d, stdout %q; want 2 and nothing", code, stdout)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "ghostsim merge: ") || !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q: want one line with %q", stderr, tt.want)
			}
		})
	}
}

func TestShardErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"bad flag", nil, []string{"-shard", "4/4"}, `-shard "4/4": want I/N with 0 ≤ I < N`},
		{"disagree", nil, []string{"-shard", "1/4", "-shards", "3"}, "-shard 1/4 and -shards 3 disagree"},
		{"kubernetes without count", map[string]string{"JOB_COMPLETION_INDEX": "1"}, nil, "add -shards N, N the Job's completions"},
		{"kubernetes index too big", map[string]string{"JOB_COMPLETION_INDEX": "3"}, []string{"-shards", "3"}, "is not below -shards 3"},
		{"slurm outside", map[string]string{"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_COUNT": "2"}, nil, "submit with --array=0-1"},
		{"shards alone", nil, []string{"-shards", "3"}, "-shards 3: give -shard I/N"},
		{"not a sweep", nil, []string{"-shard", "0/2", "-workload", "hold"}, "this run is not a sweep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			withEnv(t, tt.env)
			args := append([]string{"-q", "-config", "skylake112", "-config", "synthetic-requests.toml", "-workload", "synthetic", "-duration", "10ms", "-sweep", "load=40000,80000"}, tt.args...)
			if tt.name == "not a sweep" {
				args = append([]string{"-q", "-config", "skylake112", "-duration", "10ms"}, tt.args...)
			}
			checkUsageError(t, args, []string{tt.want})
		})
	}
	// A single run in an indexed job is not sharded: the variables are ignored.
	withEnv(t, map[string]string{"JOB_COMPLETION_INDEX": "1"})
	if code, _, stderr := ghostsim(t, "-q", "-config", "skylake112", "-workload", "hold", "-duration", "10ms", "-json"); code != exitOK {
		t.Errorf("single run with JOB_COMPLETION_INDEX: exit %d\n%s", code, stderr)
	}
}
