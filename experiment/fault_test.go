package experiment_test

import (
	"maps"
	"math"
	"slices"
	"testing"

	"github.com/ghostsim/ghostsim/experiment"
)

// TestFaults injects agent faults into a ghOSt request server ([fault],
// [enclave] runnable_timeout_ms and ephemeral) and checks what the paper
// claims: a crash falls back to CFS (the ephemeral enclave dies with its
// agent process), a hang is contained by the watchdog, an upgrade keeps
// serving after a blackout, and in every case every request is accounted
// for. A persistent enclave (ephemeral = false) keeps today's ghOSt
// semantics without a watchdog: its threads are stranded.
func TestFaults(t *testing.T) {
	base := []string{
		"enclave.cpus=0-4",
		"workload.group=[{name = \"srv\", threads = 16, class = \"ghost\", program = \"requests\", " +
			"arrival = {dist = \"exponential\", rate_per_s = 100000.0}, service = {dist = \"exponential\", mean_us = 10.0}}]",
		"run.duration_ms=60", "run.warmup_ms=0",
	}
	tests := []struct {
		name      string
		sets      []string
		policy    string
		crashes   int64
		destroys  int64  // watchdog destroys
		cause     string // the enclave's destroy cause, "" for none
		keepsUp   bool   // throughput stays near the offered load
		ghostRuns bool   // ghOSt still schedules at the end (no destroy)
	}{
		{"no fault", nil, "fifo-central", 0, 0, "", true, true},
		{"crash", []string{"fault.agent_crash_at_ms=20"}, "fifo-central", 1, 0, "owner_exit", true, false},
		{"crash per-cpu", []string{"fault.agent_crash_at_ms=20"}, "fifo-percpu", 1, 0, "owner_exit", true, false},
		{"crash, persistent, watchdog", []string{"fault.agent_crash_at_ms=20", "enclave.runnable_timeout_ms=5", "enclave.ephemeral=false"}, "fifo-central", 1, 1, "watchdog", true, false},
		{"hang, watchdog", []string{"fault.agent_hang_at_ms=20", "enclave.runnable_timeout_ms=5"}, "fifo-percpu", 0, 1, "watchdog", true, false},
		{"crash, persistent, no watchdog", []string{"fault.agent_crash_at_ms=20", "enclave.ephemeral=false"}, "fifo-central", 1, 0, "", false, false},
		{"upgrade", []string{"fault.agent_upgrade_at_ms=20", "fault.upgrade_gap_ms=2"}, "fifo-central", 0, 0, "", true, true},
		{"upgrade per-cpu", []string{"fault.agent_upgrade_at_ms=20", "fault.upgrade_gap_ms=2"}, "fifo-percpu", 0, 0, "", true, true},
		{"upgrade, persistent", []string{"fault.agent_upgrade_at_ms=20", "fault.upgrade_gap_ms=2", "enclave.ephemeral=false"}, "fifo-central", 0, 0, "", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runExperiment(t, []string{"skylake112"}, slices.Concat(base, tt.sets),
				experiment.Options{Workload: "synthetic", Policy: tt.policy, Check: true})
			gen, done, fly := r.Metrics["requests_generated"], r.Metrics["requests_completed"], r.Metrics["requests_in_flight"]
			if gen == 0 || gen != done+fly {
				t.Errorf("requests: generated %v, completed %v, in flight %v", gen, done, fly)
			}
			if r.Ghost.AgentCrashes != tt.crashes || r.Ghost.WatchdogDestroys != tt.destroys {
				t.Errorf("agent_crashes %d, watchdog_destroys %d; want %d, %d", r.Ghost.AgentCrashes, r.Ghost.WatchdogDestroys, tt.crashes, tt.destroys)
			}
			wantCauses := map[string]int64{}
			if tt.cause != "" {
				wantCauses[tt.cause] = 1
			}
			if n := r.Ghost.EnclaveDestroys; n != int64(len(wantCauses)) || !maps.Equal(r.Ghost.EnclaveDestroyCauses, wantCauses) {
				t.Errorf("enclave_destroys %d by %v; want %v", n, r.Ghost.EnclaveDestroyCauses, wantCauses)
			}
			tp := r.Throughput["requests_per_s"]
			keptUp := math.Abs(tp-100000)/100000 < 0.1 && fly < 100
			if keptUp != tt.keepsUp {
				t.Errorf("throughput %.0f/s with %v in flight; want keeping up = %v", tp, fly, tt.keepsUp)
			}
			t.Logf("throughput %.0f/s, in flight %v, p99 %v ns, txns %v", tp, fly, r.Latency["all"].P99, r.Ghost.Txns)
		})
	}
}
