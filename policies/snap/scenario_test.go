package snap_test

import (
	"testing"

	"github.com/ghostsim/ghostsim/ghosttest"
	_ "github.com/ghostsim/ghostsim/policies/snap"
	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/kernel"
)

// TestScenario pins snap's decisions on a handful of ghOSt tasks in a
// golden trace (testdata/scenario.txt; go test -update rewrites it): its
// global agent on cpu0 places Snap workers (nice -10) strictly above
// antagonists (nice 19) on cpu1-3.
func TestScenario(t *testing.T) {
	k := ghosttest.NewKernel(t, "snap", ghosttest.KernelConfig{CPUs: "0-3"})
	us := sim.Microsecond
	worker := kernel.TaskSpec{CPU: -1, NUMAHome: -1, Nice: -10}
	antagonist := kernel.TaskSpec{CPU: -1, NUMAHome: -1, Nice: 19}
	n1 := k.Spawn("N1", func(th *kernel.Thread) { th.Run(120 * us) }, antagonist)
	n2 := k.Spawn("N2", func(th *kernel.Thread) { th.Run(100 * us) }, antagonist)
	n3 := k.Spawn("N3", func(th *kernel.Thread) { th.Run(80 * us) }, antagonist)
	w1 := k.Spawn("W1", func(th *kernel.Thread) { th.Run(30 * us); th.Block(); th.Run(10 * us) }, worker)
	w2 := k.Spawn("W2", func(th *kernel.Thread) { th.Run(20 * us); th.Yield(); th.Run(20 * us) }, worker)
	k.At(60*us, "CFS task X wakes on cpu3", func() { k.SpawnCFS("X", 3, func(th *kernel.Thread) { th.Run(15 * us) }) })
	k.At(90*us, "wake W1", func() { k.Wake(w1) })
	k.Run(500 * us)
	k.RequireDone(n1, n2, n3, w1, w2)
	k.Trace.Compare(t, "testdata/scenario.txt", `
snap: antagonists N1-N3 (nice 19) are spawned first, then workers W1, W2
(nice -10), which take CPUs over antagonists. W1 runs 30us and blocks, W2
yields after 20us; CFS task X takes cpu3 at 60us (preempting the ghOSt task
there) and W1 is woken at 90us.`)
}
