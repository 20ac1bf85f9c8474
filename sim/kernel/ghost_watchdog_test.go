package kernel

import (
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// TestWatchdogSeesTasksQueuedAtTimeZero: a ghOSt task queued at the start
// of the run (time 0) that no agent ever schedules is caught by the
// watchdog once it has waited runnable_timeout. The stamp of "runnable
// since 0" used to read as "not waiting", so such a task was never seen.
func TestWatchdogSeesTasksQueuedAtTimeZero(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1), EnclaveConfig{RunnableTimeout: sim.Ms(2)})
	q, _ := s.e.CreateQueue(256)
	q.SetDefault()
	s.agents("ag", func(a *sagent) { a.idle() }) // never schedules
	task := s.ghost("A", 1, func(th *Thread) { th.Run(sim.Us(100)) })
	s.run(sim.Ms(10))
	if n := s.k.Stats().WatchdogDestroys; n != 1 {
		t.Fatalf("%d watchdog destructions, want 1", n)
	}
	s.wantDead(ClassCFS, task)
}
