package fifocentral_test

import (
	"testing"

	"github.com/ghostsim/ghostsim/experiment"
	"github.com/ghostsim/ghostsim/results"
)

// runFast runs the request server as 32 ghOSt threads on 8 CPUs of
// skylake112 at 600k requests/s of 5 µs, with an agent slowed to 1000
// cycles per runqueue operation so that CPUs idle while it catches up,
// and the kernel's invariant checker on.
func runFast(t *testing.T, bpf string) *results.Result {
	t.Helper()
	spec, meta, err := experiment.Load([]string{"skylake112", "synthetic-requests"}, []string{
		`workload.group[0].class="ghost"`, "enclave.cpus=0-8", "workload.group[0].threads=32",
		"workload.group[0].arrival.rate_per_s=600000", "workload.group[0].service.mean_us=5",
		"policy.container_op_cycles=1000", "policy.bpf=" + bpf, "run.warmup_ms=5", "run.duration_ms=20",
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := experiment.Run(spec, experiment.Options{Workload: "synthetic", Policy: "fifo-central", Check: true})
	if err != nil {
		t.Fatal(meta.Wrap(err))
	}
	return r
}

// TestPerCPUFastPath: with bpf = true the pick-next-task program runs
// tasks the agent had not placed (each one a TASK_ON_CPU message and one
// agent commit fewer), nothing is lost, and the tail falls; with bpf =
// false no program runs.
func TestPerCPUFastPath(t *testing.T) {
	off, on := runFast(t, "false"), runFast(t, "true")
	for _, r := range []*results.Result{off, on} {
		m := r.Metrics
		if m["requests_generated"] != m["requests_completed"]+m["requests_in_flight"] || r.Ghost.AgentCrashes != 0 {
			t.Fatalf("policy %s: requests %v = %v + %v, crashes %d", r.Policy, m["requests_generated"], m["requests_completed"], m["requests_in_flight"], r.Ghost.AgentCrashes)
		}
	}
	offTxns, onTxns := off.Ghost.Txns["TXN_COMPLETE"], on.Ghost.Txns["TXN_COMPLETE"]
	if onTxns >= offTxns*9/10 || on.Ghost.Messages <= off.Ghost.Messages {
		t.Errorf("fast path: %d agent commits and %d messages, without it %d and %d: the program ran (almost) nothing",
			onTxns, on.Ghost.Messages, offTxns, off.Ghost.Messages)
	}
	if on.Latency["all"].P99 >= off.Latency["all"].P99 {
		t.Errorf("p99 %d ns with the fast path, %d without", on.Latency["all"].P99, off.Latency["all"].P99)
	}
}

// TestSliceExpiryRaceWithBlock: with a time slice, a commit that ends a
// task's slice puts the task back in the FIFO, and the task may have
// blocked meanwhile: its BLOCKED then finds it queued and must take it out
// (before, it stayed queued, and its next commit failed
// TARGET_NOT_RUNNABLE, which crashes the agent).
func TestSliceExpiryRaceWithBlock(t *testing.T) {
	spec, meta, err := experiment.Load([]string{"skylake112", "synthetic-requests"}, []string{
		`workload.group[0].class="ghost"`, "enclave.cpus=0-8", "workload.group[0].threads=32",
		"workload.group[0].arrival.rate_per_s=140000", "policy.time_slice_us=5", "run.warmup_ms=0", "run.duration_ms=20",
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := experiment.Run(spec, experiment.Options{Workload: "synthetic", Policy: "fifo-central", Check: true})
	if err != nil {
		t.Fatal(meta.Wrap(err))
	}
	if r.Ghost.AgentCrashes != 0 {
		t.Fatalf("the agent crashed: %+v", r.Ghost.AgentCrashReports)
	}
	if m := r.Metrics; m["requests_completed"] == 0 || m["requests_generated"] != m["requests_completed"]+m["requests_in_flight"] {
		t.Errorf("requests %v = %v + %v", m["requests_generated"], m["requests_completed"], m["requests_in_flight"])
	}
}
