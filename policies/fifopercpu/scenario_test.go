package fifopercpu_test

import (
	"testing"

	"github.com/ghostsim/ghostsim/ghosttest"
	_ "github.com/ghostsim/ghostsim/policies/fifopercpu"
)

// TestScenario pins fifo-percpu's decisions in a golden trace of the test kit's
// Mix scenario (testdata/scenario.txt; go test -update rewrites it):
// an agent per CPU runs the tasks placed on it round-robin, on cpu0-2.
func TestScenario(t *testing.T) {
	ghosttest.Mix(t, "fifo-percpu", ghosttest.KernelConfig{CPUs: "0-2"}, 2, "testdata/scenario.txt")
}
