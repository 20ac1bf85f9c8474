package cli

import "testing"

// TestSnapDeterminism: a short two-seed sweep of the Snap workload in
// loaded mode (antagonists, throttled MicroQuanta workers), under
// MicroQuanta and under the snap policy.
func TestSnapDeterminism(t *testing.T) {
	for _, policy := range []string{"", "snap"} {
		t.Run("policy="+policy, func(t *testing.T) {
			args := []string{"-workload", "snap", "-set", `workload.snap.mode="loaded"`,
				"-set", "run.warmup_ms=5", "-duration", "20ms", "-sweep", "run.seed=1,2", "-json", "-q"}
			if policy != "" {
				args = append(args, "-policy", policy)
			}
			checkSweepDeterminism(t, args...)
		})
	}
}
