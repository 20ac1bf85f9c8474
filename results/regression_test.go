package results_test

// This file is the project's regression test: it runs short experiments,
// compares each result with a stored baseline (results/baselines/*.json)
// through ghosttest.CompareWithBaseline (results.Compare), and fails when a
// latency percentile or the throughput is worse than the baseline beyond
// tolerance. For a policy of your own, package ghosttest does the same in a
// test of your module: ghosttest.Run your policy on a scenario, then
// ghosttest.CompareWithBaseline against a file you create with -update.
//
// After an intended change of the model, refresh the baselines with
//
//	go test ./results -run Baseline -update
//
// and commit them saying what changed and why (baselines/README.md).

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ghostsim/ghostsim/experiment"
	"github.com/ghostsim/ghostsim/ghosttest"
	"github.com/ghostsim/ghostsim/results"
)

// baselines are the reference runs. Each row is the same experiment as the
// ghostsim command in its comment (baselines/README.md lists them too).
var baselines = []struct {
	file     string   // under baselines/
	configs  []string // ghostsim -config, in order
	sets     []string // ghostsim -set, in order (-duration 100ms is run.duration_ms=100)
	workload string
	policy   string
	// tolerance is ghostsim compare's -tolerance, over
	// results.DefaultTolerances (p99 5 %, p99.9 10 %, throughput 5 %).
	tolerance string
}{
	{
		// ghostsim -config skylake112 -config synthetic-requests.toml -workload synthetic \
		//   -set 'workload.group[0].class="ghost"' -set enclave.cpus=0-8 -policy fifo-central -duration 100ms -json
		file:     "synthetic-ghost-fifo-central.json",
		configs:  []string{"skylake112", "synthetic-requests.toml"},
		sets:     []string{`workload.group[0].class="ghost"`, "enclave.cpus=0-8", "run.duration_ms=100"},
		workload: "synthetic",
		policy:   "fifo-central",
	},
	{
		// ghostsim -config xeon48 -config rocksdb.toml -workload rocksdb -policy ghost-shinjuku \
		//   -set workload.rocksdb.load_rps=200000 -duration 200ms -json
		file:     "rocksdb-ghost-shinjuku.json",
		configs:  []string{"xeon48", "rocksdb.toml"},
		sets:     []string{"workload.rocksdb.load_rps=200000", "run.duration_ms=200"},
		workload: "rocksdb",
		policy:   "ghost-shinjuku",
	},
	{
		// ghostsim -config rome256 -config search.toml -workload search -policy search \
		//   -set run.warmup_ms=50 -duration 100ms -json
		file:     "search-search.json",
		configs:  []string{"rome256", "search.toml"},
		sets:     []string{"run.warmup_ms=50", "run.duration_ms=100"},
		workload: "search",
		policy:   "search",
	},
	{
		// ghostsim -config skylake112 -config snap.toml -workload snap -duration 100ms -json
		file:     "snap-microquanta.json",
		configs:  []string{"skylake112", "snap.toml"},
		sets:     []string{"run.duration_ms=100"},
		workload: "snap",
	},
	{
		// ghostsim -config skylake112 -config snap.toml -workload snap -policy snap \
		//   -set workload.snap.mode='"loaded"' -duration 100ms -json
		file:     "snap-snap-loaded.json",
		configs:  []string{"skylake112", "snap.toml"},
		sets:     []string{`workload.snap.mode="loaded"`, "run.duration_ms=100"},
		workload: "snap",
		policy:   "snap",
	},
	{
		// ghostsim -config skylake112 -config vm.toml -workload vm -policy securevm \
		//   -set kernel.vm_flush=true -set workload.vm.scale=0.001 -json
		file:     "vm-securevm.json",
		configs:  []string{"skylake112", "vm.toml"},
		sets:     []string{"kernel.vm_flush=true", "workload.vm.scale=0.001"},
		workload: "vm",
		policy:   "securevm",
	},
}

func TestBaseline(t *testing.T) {
	for _, b := range baselines {
		t.Run(strings.TrimSuffix(b.file, ".json"), func(t *testing.T) {
			spec, meta, err := experiment.Load(b.configs, b.sets)
			if err != nil {
				t.Fatal(err)
			}
			got, err := experiment.Run(spec, experiment.Options{Workload: b.workload, Policy: b.policy})
			if err != nil {
				t.Fatal(meta.Wrap(err))
			}
			path := filepath.Join("baselines", b.file)
			// The project's baselines go through the users' test kit:
			// `go test ./results -run Baseline -update` rewrites them.
			ghosttest.CompareWithBaseline(t, &ghosttest.Result{Result: got}, path, b.tolerance)
			if base, err := results.ReadFile(path); err == nil && base[0].ConfigSHA256 != got.ConfigSHA256 {
				t.Logf("note: %s was produced from another resolved config (config_sha256 %.12s…, now %.12s…); refresh it after intended config changes",
					path, base[0].ConfigSHA256, got.ConfigSHA256)
			}
			tol, err := results.ParseTolerances(b.tolerance, results.DefaultTolerances())
			if err != nil {
				t.Fatal(err)
			}

			// The check must be able to fail: a candidate 10 % slower at
			// p99 than this run, with 10 % less throughput, regresses
			// against it under the same tolerances.
			worse := clone(t, got)
			want := "p99 all,throughput requests_per_s"
			if len(got.Latency) == 0 {
				// The vm workload serves no requests: its measure is
				// the benchmark's rate alone.
				worse.Throughput["spec_rate"] *= 0.9
				want = "throughput spec_rate"
			} else {
				all := worse.Latency["all"]
				all.P99 = all.P99 * 110 / 100
				worse.Latency["all"] = all
				worse.Throughput["requests_per_s"] *= 0.9
			}
			findings, err := results.Compare([]*results.Result{got}, []*results.Result{worse}, tol)
			if err != nil {
				t.Fatal(err)
			}
			var regressed []string
			for _, f := range results.Regressions(findings) {
				regressed = append(regressed, f.Metric+" "+f.Class)
			}
			if strings.Join(regressed, ",") != want {
				t.Errorf("a worse candidate regressed in %q, want %q", regressed, want)
			}
		})
	}
}

// clone returns a deep copy of r.
func clone(t *testing.T, r *results.Result) *results.Result {
	t.Helper()
	data, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	c, err := results.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
