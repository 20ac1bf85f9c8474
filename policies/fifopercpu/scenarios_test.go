package fifopercpu_test

import (
	"testing"

	"github.com/ghostsim/ghostsim/ghosttest"
)

// TestEveryScenario: fifo-percpu loses no task on any of the test kit's
// scenarios, an in-place upgrade's rediscovered blocked tasks included.
func TestEveryScenario(t *testing.T) {
	for _, sc := range ghosttest.Scenarios() {
		t.Run(sc.Name, func(t *testing.T) {
			ghosttest.Run(t, "fifo-percpu", sc.Name).RequireNoLostTasks()
		})
	}
}
