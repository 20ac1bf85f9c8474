package kernel

import (
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// TestGhostSteadyStateDoesNotAllocate pins the hot-path budget of the
// ghOSt class (docs/STYLE.md): once queues and run queues have grown, posting
// and consuming messages, committing, switching and running thread
// programs allocate nothing.
func TestGhostSteadyStateDoesNotAllocate(t *testing.T) {
	k := newTestKernel(t, "skylake112")
	k.check = false // the invariant sweep allocates; it is not the hot path
	k.eng.AfterEvent = nil
	e, err := k.CreateEnclave(RangeSet(0, 4), EnclaveConfig{})
	if err != nil {
		t.Fatal(err)
	}
	startFIFOPerCPU(t, k, e, nil)
	for i := 0; i < 4; i++ {
		spawn(t, k, TaskSpec{Name: "g", Class: ClassGhost, Enclave: e, CPU: -1, NUMAHome: -1, Program: func(th *Thread) {
			for {
				th.Run(sim.Us(5))
				th.Sleep(sim.Us(5))
			}
		}})
	}
	k.Engine().Run(sim.Ms(1)) // warm up: queues reach their working size
	before := k.Stats().GhostMsgs
	// AllocsPerRun counts every allocation of the process, so a stray one
	// elsewhere in the test binary (a previous test's leftover goroutine)
	// can land in a run: two runs and integer averaging absorb one such,
	// while a per-message allocation would still show in the thousands.
	allocs := testing.AllocsPerRun(2, func() { k.Engine().Run(k.Now() + sim.Ms(1)) })
	msgs := k.Stats().GhostMsgs - before
	if msgs < 1000 || allocs > 0 {
		t.Errorf("%v allocations over %d messages in steady state; want none", allocs, msgs)
	}
}
