package experiment_test

import (
	"bytes"
	"slices"
	"testing"
)

// TestDeterminism runs representative experiments twice and compares the
// results byte for byte (host aside), and checks that another seed gives
// another result (docs/DESIGN.md §10).
func TestDeterminism(t *testing.T) {
	ghost := []string{"workload.group[0].class=\"ghost\"", "enclave.cpus=0-8", "run.duration_ms=20", "run.warmup_ms=2"}
	tests := []expCase{
		{"cfs requests", []string{"rome256", "synthetic-requests"}, []string{"run.duration_ms=20"}, "synthetic", ""},
		{"ghost fifo-central with a crash and the watchdog", []string{"skylake112", "synthetic-requests"},
			slices.Concat(ghost, []string{"fault.agent_crash_at_ms=10", "enclave.runnable_timeout_ms=3"}), "synthetic", "fifo-central"},
		{"ghost fifo-percpu upgrade", []string{"xeon48", "synthetic-requests"},
			slices.Concat(ghost, []string{"fault.agent_upgrade_at_ms=10", "fault.upgrade_gap_ms=1"}), "synthetic", "fifo-percpu"},
		{"microbench", []string{"skylake112"}, []string{"workload.microbench.samples=20"}, "microbench", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := func(seed string) []byte {
				r := tt.run(t, "run.seed="+seed)
				b, err := r.Deterministic().JSON()
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			a, b := run("7"), run("7")
			if !bytes.Equal(a, b) {
				t.Errorf("same seed, different results:\n%s\n%s", a, b)
			}
			if tt.workload != "microbench" && bytes.Equal(a, run("8")) {
				t.Error("seeds 7 and 8 give the same result")
			}
		})
	}
}
