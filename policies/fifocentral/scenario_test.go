package fifocentral_test

import (
	"testing"

	"github.com/ghostsim/ghostsim/ghosttest"
	_ "github.com/ghostsim/ghostsim/policies/fifocentral"
)

// TestScenario pins fifo-central's decisions in a golden trace of the test kit's
// Mix scenario (testdata/scenario.txt; go test -update rewrites it):
// its global agent on cpu0 runs the tasks on cpu1-3 in FIFO order.
func TestScenario(t *testing.T) {
	ghosttest.Mix(t, "fifo-central", ghosttest.KernelConfig{CPUs: "0-3"}, 3, "testdata/scenario.txt")
}
