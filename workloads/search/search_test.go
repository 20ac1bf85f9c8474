package search_test

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ghostsim/ghostsim/configs"
	"github.com/ghostsim/ghostsim/experiment"
	"github.com/ghostsim/ghostsim/results"
	"github.com/ghostsim/ghostsim/workloads/search"
)

// run runs the search workload on rome256 with its defaults and -set
// style overrides, under policy ("" for CFS).
func run(t testing.TB, policy string, check bool, sets ...string) *results.Result {
	t.Helper()
	spec, meta, err := experiment.LoadWorkload("search", []string{"rome256"}, sets)
	if err != nil {
		t.Fatal(err)
	}
	r, err := experiment.Run(spec, experiment.Options{Workload: "search", Policy: policy, Check: check})
	if err != nil {
		t.Fatalf("%s: %v", policy, meta.Wrap(err))
	}
	return r
}

// TestDefaultsAreTheConfig: configs/search.toml and DefaultSpec hold the
// same experiment, so running without search.toml runs the file.
func TestDefaultsAreTheConfig(t *testing.T) {
	withFile, _, err := experiment.LoadWorkload("search", []string{"rome256", "search.toml"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	without, _, err := experiment.LoadWorkload("search", []string{"rome256"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(without.Workload.Search, withFile.Workload.Search); diff != "" {
		t.Errorf("search.toml differs from DefaultSpec (-default +file):\n%s", diff)
	}
	if withFile.Run != without.Run {
		t.Errorf("search.toml [run] %+v, the workload's run defaults %+v", withFile.Run, without.Run)
	}
	if d := search.DefaultSpec(); d != without.Workload.Search {
		t.Errorf("experiment's default differs from search.DefaultSpec")
	}
	a, _ := configs.Canonical(withFile)
	b, _ := configs.Canonical(without)
	if !bytes.Equal(a, b) {
		t.Errorf("the two loads hash differently")
	}
}

// TestAccounting: under CFS and under a ghOSt policy, with the invariant
// checker on, every query is accounted for (generated = completed + in
// flight), every class completes queries, and the per-class counts add up.
func TestAccounting(t *testing.T) {
	for _, policy := range []string{"", "fifo-central"} {
		t.Run("policy="+policy, func(t *testing.T) {
			r := run(t, policy, true, "run.warmup_ms=5", "run.duration_ms=10",
				"workload.search.a.clients=8", "workload.search.b.clients=4", "workload.search.c.clients=4")
			gen, done, fly := r.Metrics["requests_generated"], r.Metrics["requests_completed"], r.Metrics["requests_in_flight"]
			if gen == 0 || gen != done+fly || fly < 0 || fly > 16 {
				t.Errorf("generated %v, completed %v, in flight %v (16 clients)", gen, done, fly)
			}
			var sum int64
			for _, c := range []string{"A", "B", "C"} {
				if r.Latency[c].Count == 0 {
					t.Errorf("class %s completed nothing", c)
				}
				sum += r.Latency[c].Count
			}
			if all := r.Latency["all"].Count; all != sum {
				t.Errorf("all %d != A+B+C %d", all, sum)
			}
			if r.Metrics["b_workers_spawned"] == 0 {
				t.Errorf("no B worker was created")
			}
		})
	}
}

// TestLatencyFloor: a query cannot finish faster than its work. With one
// client per type the machine is idle, so latency is close to the work:
// B's p50 is at least 20 µs of CPU plus the read, C's at least a 1 ms burst.
func TestLatencyFloor(t *testing.T) {
	r := run(t, "", false, "run.warmup_ms=10", "run.duration_ms=100",
		"workload.search.a.clients=1", "workload.search.b.clients=1", "workload.search.c.clients=1")
	if p := r.Latency["B"].P50; p < 90_000 || p > 250_000 {
		t.Errorf("B p50 %d ns, want 90–250 µs (10 µs server + 2×10–30 µs + an 85 µs read)", p)
	}
	if p := r.Latency["C"].P50; p < 1_000_000 || p > 5_100_000 {
		t.Errorf("C p50 %d ns, want within the 1–5 ms burst range (max of 2)", p)
	}
}

// TestDeterministic: the same seed gives the same result twice, under
// CFS and under ghOSt.
func TestDeterministic(t *testing.T) {
	for _, policy := range []string{"", "fifo-central"} {
		sets := []string{"run.warmup_ms=5", "run.duration_ms=10"}
		a, b := run(t, policy, false, sets...), run(t, policy, false, sets...)
		a.Host, b.Host = nil, nil
		ja, _ := a.JSON()
		jb, _ := b.JSON()
		if !bytes.Equal(ja, jb) {
			t.Errorf("policy %q: two runs differ:\n%s\n%s", policy, ja, jb)
		}
	}
}

// TestSearchPolicyHonoursAffinity: with its NUMA heuristic the search
// policy never runs a thread outside its cpumask (the kernel, like
// ghOSt's, would let it: it counts such placements); with the
// heuristics off it does, so the check can fail.
func TestSearchPolicyHonoursAffinity(t *testing.T) {
	sets := []string{"run.warmup_ms=5", "run.duration_ms=20"}
	if n := run(t, "search", true, sets...).Ghost.AffinityOverrides; n != 0 {
		t.Errorf("numa = true: %d placements outside a thread's cpumask, want 0", n)
	}
	off := append(sets, "policy.numa=false", "policy.ccx=false")
	if n := run(t, "search", false, off...).Ghost.AffinityOverrides; n == 0 {
		t.Errorf("numa = false, ccx = false: no placement outside a cpumask; the check cannot fail")
	}
}

// TestSearchPolicyFastPath: with bpf = true and the invariant checker on,
// the pick-next-task program runs threads, nothing is lost, and the NUMA
// masks still hold (the agent publishes a thread only in a ring its mask
// allows).
func TestSearchPolicyFastPath(t *testing.T) {
	r := run(t, "search", true, "run.warmup_ms=5", "run.duration_ms=15", "policy.bpf=true")
	m := r.Metrics
	if gen, done, fly := m["requests_generated"], m["requests_completed"], m["requests_in_flight"]; gen != done+fly || done == 0 {
		t.Errorf("generated %v, completed %v, in flight %v", gen, done, fly)
	}
	if m["policy.bpf_runs"] == 0 || m["policy.bpf_published"] == 0 {
		t.Errorf("the program ran %v of %v published threads, want some", m["policy.bpf_runs"], m["policy.bpf_published"])
	}
	if r.Ghost.AgentCrashes != 0 || r.Ghost.AffinityOverrides != 0 {
		t.Errorf("agent crashes %d, affinity overrides %d, want 0 and 0", r.Ghost.AgentCrashes, r.Ghost.AffinityOverrides)
	}
}
