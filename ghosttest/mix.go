package ghosttest

import (
	"fmt"
	"testing"

	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/kernel"
)

// Mix runs the test kit's small trace scenario under policy and compares
// its trace with the golden file (under the caller's testdata; -update
// rewrites it): five ghOSt tasks on the enclave cfg.CPUs (default 0-3) —
// A runs 30 µs, blocks and is woken at 90 µs; B yields after 20 µs; C runs
// 120 µs; D and E 10 µs each — and a CFS task X that takes cfsCPU at
// 60 µs for 15 µs, preempting the ghOSt task there. Every task must finish
// within 400 µs. A policy's decisions show as its commits and the
// switches that follow, so a golden per policy pins them:
//
//	func TestScenario(t *testing.T) {
//		ghosttest.Mix(t, "my-fifo", ghosttest.KernelConfig{}, 3, "testdata/scenario.txt")
//	}
func Mix(t testing.TB, policy string, cfg KernelConfig, cfsCPU int, golden string) {
	t.Helper()
	k := NewKernel(t, policy, cfg)
	us := sim.Microsecond
	a := k.Spawn("A", func(th *kernel.Thread) { th.Run(30 * us); th.Block(); th.Run(10 * us) })
	b := k.Spawn("B", func(th *kernel.Thread) { th.Run(20 * us); th.Yield(); th.Run(20 * us) })
	c := k.Spawn("C", func(th *kernel.Thread) { th.Run(120 * us) })
	d := k.Spawn("D", func(th *kernel.Thread) { th.Run(10 * us) })
	e := k.Spawn("E", func(th *kernel.Thread) { th.Run(10 * us) })
	k.At(60*us, fmt.Sprintf("CFS task X wakes on cpu%d", cfsCPU), func() {
		k.SpawnCFS("X", cfsCPU, func(th *kernel.Thread) { th.Run(15 * us) })
	})
	k.At(90*us, "wake A", func() { k.Wake(a) })
	k.Run(400 * us)
	k.RequireDone(a, b, c, d, e)
	k.Trace.Compare(t, golden, fmt.Sprintf(`
%s: A runs 30us and blocks, B yields after 20us, C runs 120us, D and E 10us
each; CFS task X takes cpu%d at 60us (preempting the ghOSt task there) and A
is woken at 90us.`, policy, cfsCPU))
}
