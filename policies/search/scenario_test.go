package search_test

import (
	"testing"

	"github.com/ghostsim/ghostsim/ghosttest"
	_ "github.com/ghostsim/ghostsim/policies/search"
)

// TestScenario pins search's decisions in a golden trace of the test kit's
// Mix scenario (testdata/scenario.txt; go test -update rewrites it):
// its global agent on cpu0 runs the task with the least runtime first on
// cpu1-3.
func TestScenario(t *testing.T) {
	ghosttest.Mix(t, "search", ghosttest.KernelConfig{CPUs: "0-3"}, 3, "testdata/scenario.txt")
}
