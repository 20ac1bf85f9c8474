package roundrobin_test

import (
	"testing"

	"github.com/ghostsim/ghostsim/ghosttest"
	_ "github.com/ghostsim/ghostsim/policies/roundrobin"
	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/kernel"
)

// TestScenario pins round-robin's decisions on a handful of ghOSt tasks in a
// golden trace (testdata/scenario.txt; go test -update rewrites it): one FIFO of all threads, a group commit per round of idle CPUs (cpu1-3; the global agent on cpu0).
func TestScenario(t *testing.T) {
	k := ghosttest.NewKernel(t, "round-robin", ghosttest.KernelConfig{CPUs: "0-3"})
	us := sim.Microsecond
	a := k.Spawn("A", func(th *kernel.Thread) { th.Run(30 * us); th.Block(); th.Run(10 * us) })
	b := k.Spawn("B", func(th *kernel.Thread) { th.Run(20 * us); th.Yield(); th.Run(20 * us) })
	c := k.Spawn("C", func(th *kernel.Thread) { th.Run(120 * us) })
	d := k.Spawn("D", func(th *kernel.Thread) { th.Run(10 * us) })
	e := k.Spawn("E", func(th *kernel.Thread) { th.Run(10 * us) })
	k.At(60*us, "CFS task X wakes on cpu3", func() { k.SpawnCFS("X", 3, func(th *kernel.Thread) { th.Run(15 * us) }) })
	k.At(90*us, "wake A", func() { k.Wake(a) })
	k.Run(400 * us)
	k.RequireDone(a, b, c, d, e)
	k.Trace.Compare(t, "testdata/scenario.txt", `
round-robin: A runs 30us and blocks, B yields after 20us, C runs 120us, D and E 10us
each; CFS task X takes cpu3 at 60us (preempting the ghOSt task there) and A
is woken at 90us.`)
}
