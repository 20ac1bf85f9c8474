package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ghostsim/ghostsim/experiment"
)

// fuzzRuns are the command lines FuzzConfig runs a fuzzed config file in
// (after these args come -config FILE and the fuzzed -set).
var fuzzRuns = [][]string{
	{"-config", "skylake112", "-workload", "hold"},
	{"-config", "skylake112", "-config", "synthetic-requests.toml", "-workload", "synthetic"},
	{"-config", "skylake112", "-config", "synthetic-requests.toml", "-workload", "synthetic", "-policy", "fifo-central",
		"-set", `workload.group[0].class="ghost"`, "-set", "enclave.cpus=0-8"},
	{"-config", "xeon48", "-config", "rocksdb.toml", "-workload", "rocksdb", "-policy", "ghost-shinjuku"},
}

// located matches an error line that names a config key, a file or a flag.
var located = regexp.MustCompile(`(^|[\s(])(machine|costs|kernel|run|enclave|fault|policy|workload)([.\[:\s]|$)|-set #\d|-duration|-seed|\.toml|no machine`)

// fuzzBudget bounds what one fuzzed run may simulate, so that no input can
// make an exec slow: a budget of engine events (fuzzEvents: past it the
// run stops with an error, which the target accepts as not a hang), 1 ms
// of simulated time (forced by the last -set and -duration), and a spec
// whose threads, pending events, ticks or arrivals exceed these is only
// loaded and checked, not run. fuzzWall catches a hang the event budget
// cannot: work that never returns to the engine.
const (
	fuzzEvents     = 2_000_000
	fuzzMaxThreads = 512
	fuzzMaxPending = 10000
	fuzzMaxHZ      = 1000
	fuzzMaxRate    = 1e8 // arrivals per s: 100,000 in the 1 ms
	fuzzWall       = 60 * time.Second
)

// FuzzConfig feeds config text and -set values through the whole command:
// it must never panic, hang (a budget of fuzzEvents engine events, and a
// wall-clock guard) or exit with a model failure, and every error line
// names a key, the file or the flag that caused it.
func FuzzConfig(f *testing.F) {
	f.Add("[run]\nseed = 3\n", "run.seed=4", uint8(0))
	f.Add("[[workload.group]]\nname = \"a\"\nthreads = 2\nprogram = \"hog\"\n", "workload.group[0].threads=3", uint8(1))
	f.Add("[workload.group.arrival]\nrate_per_s = inf\n", `name="abc`, uint8(1))
	f.Add("[policy]\ntime_slice_us = nan\n", "policy.queue_elems=1", uint8(2))
	f.Add("[workload.rocksdb]\nlong_us = inf\n", "workload.rocksdb.load_rps=1e12", uint8(3))
	f.Add("[machine]\ncpus = 0\n", "kernel.hz=1000000000", uint8(0))
	f.Add("[run]\nduration_ms = 1000000000000000\n", "run.warmup_ms=36000000000", uint8(0))
	f.Add("[enclave]\ncpus = \"0\"\n", "policy.global_cpu=50", uint8(2))
	f.Fuzz(func(t *testing.T, text, set string, mode uint8) {
		if len(text) > 4096 || len(set) > 256 {
			return
		}
		file := filepath.Join(t.TempDir(), "fuzz.toml")
		if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		base := fuzzRuns[int(mode)%len(fuzzRuns)]
		var workload, policy string
		for i := 0; i+1 < len(base); i++ {
			switch base[i] {
			case "-workload":
				workload = base[i+1]
			case "-policy":
				policy = base[i+1]
			}
		}
		args := append(append([]string(nil), base...), "-config", file, "-set", set,
			"-set", "run.warmup_ms=0", "-duration", "1ms", "-q", "-json")
		// Load as the command will, and skip simulating a spec over budget.
		var files, sets []string
		for i := 0; i+1 < len(args); i++ {
			switch args[i] {
			case "-config":
				files = append(files, args[i+1])
			case "-set":
				sets = append(sets, args[i+1])
			}
		}
		if spec, _, err := experiment.LoadWorkload(workload, files, append(sets, "run.duration_ms=1")); err == nil &&
			experiment.Check(spec, workload) == nil && experiment.CheckRun(spec, workload, policy) == nil && overBudget(spec) {
			return
		}
		done := make(chan struct{})
		var code int
		var stdout, stderr string
		go func() {
			defer close(done)
			var out, errOut bytes.Buffer
			code = runBudget(args, &out, &errOut, fuzzEvents)
			stdout, stderr = out.String(), errOut.String()
		}()
		select {
		case <-done:
		case <-time.After(fuzzWall):
			t.Fatalf("ghostsim %s: no answer within %v (hang)", commandLine(args), fuzzWall)
		}
		for _, bad := range []string{"internal error", "model failure", "goroutine ", "panic"} {
			if strings.Contains(stderr, bad) {
				t.Fatalf("ghostsim %s: %q in stderr:\n%s", commandLine(args), bad, stderr)
			}
		}
		switch {
		case code == exitFailure && strings.Contains(stderr, "events at simulated time"):
			// The event budget ran out: bounded, not a hang.
		case code == exitOK:
			if !strings.HasPrefix(stdout, "{") {
				t.Fatalf("ghostsim %s: exit 0 without a result:\n%s", commandLine(args), stdout)
			}
		case code == exitUsage:
			for _, line := range strings.Split(strings.TrimRight(stderr, "\n"), "\n") {
				if !strings.HasPrefix(line, "ghostsim: ") || !located.MatchString(line) && !strings.Contains(line, file) {
					t.Fatalf("ghostsim %s: error line names no key, file or flag: %q\n(config: %q)", commandLine(args), line, text)
				}
			}
		default:
			t.Fatalf("ghostsim %s: exit %d:\n%s\n(config: %q)", commandLine(args), code, stderr, text)
		}
	})
}

// overBudget reports whether simulating spec for 1 ms could be slow.
func overBudget(s *experiment.Spec) bool {
	threads := s.Workload.RocksDB.Workers
	arrivals := s.Workload.RocksDB.LoadRPS
	for _, g := range s.Workload.Group {
		threads += g.Threads
		arrivals += g.Arrival.RatePerS
	}
	return threads > fuzzMaxThreads || s.Workload.Hold.Pending > fuzzMaxPending || s.Kernel.HZ > fuzzMaxHZ ||
		arrivals > fuzzMaxRate || s.Machine.CPUs > 512
}

// TestEventBudget: a run past its budget of engine events stops with one
// line saying so, exit 1, as the fuzz target relies on.
func TestEventBudget(t *testing.T) {
	var out, errOut bytes.Buffer
	code := runBudget([]string{"-config", "skylake112", "-workload", "hold", "-duration", "100ms", "-q"}, &out, &errOut, 1000)
	if code != exitFailure || !strings.Contains(errOut.String(), "ghostsim: the run used its budget of 1000 events at simulated time ") {
		t.Errorf("exit %d, stderr %q; want 1 and the budget's message", code, errOut.String())
	}
	out.Reset()
	errOut.Reset()
	if code := runBudget([]string{"-config", "skylake112", "-workload", "hold", "-duration", "1ms", "-q"}, &out, &errOut, 0); code != exitOK {
		t.Errorf("without a budget: exit %d, stderr %q", code, errOut.String())
	}
}
