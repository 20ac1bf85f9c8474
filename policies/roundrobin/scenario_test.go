package roundrobin_test

import (
	"testing"

	"github.com/ghostsim/ghostsim/ghosttest"
	_ "github.com/ghostsim/ghostsim/policies/roundrobin"
)

// TestScenario pins round-robin's decisions in a golden trace of the test kit's
// Mix scenario (testdata/scenario.txt; go test -update rewrites it):
// one FIFO of all threads, a group commit per round of idle CPUs (cpu1-3;
// the global agent on cpu0).
func TestScenario(t *testing.T) {
	ghosttest.Mix(t, "round-robin", ghosttest.KernelConfig{CPUs: "0-3"}, 3, "testdata/scenario.txt")
}
