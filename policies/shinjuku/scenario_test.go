package shinjuku_test

import (
	"testing"

	"github.com/ghostsim/ghostsim/ghosttest"
	_ "github.com/ghostsim/ghostsim/policies/shinjuku"
	"github.com/ghostsim/ghostsim/sim/agent"
)

// TestScenario pins ghost-shinjuku's decisions in a golden trace of the test kit's
// Mix scenario (testdata/scenario.txt; go test -update rewrites it):
// its global agent on cpu0 preempts a task that ran its 30us slice while
// others wait (to the back of the queue).
func TestScenario(t *testing.T) {
	params := agent.DefaultParams()
	params.TimeSliceUs = 30
	ghosttest.Mix(t, "ghost-shinjuku", ghosttest.KernelConfig{CPUs: "0-3", Params: &params}, 3, "testdata/scenario.txt")
}
