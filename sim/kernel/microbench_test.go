package kernel

import (
	"math"
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// Table 3 rows 10–12 of the paper, measured on skylake112 by running the
// operations: a system call (sched_yield with nothing else runnable), and
// two threads on one CPU handing it back and forth with wake + block, in
// the minimal-switch class (FIFO) and in CFS. The costs are inputs of
// skylake112.toml; these tests check the kernel charges them as a real
// operation incurs them, once per operation.
func TestTable3Rows10to12(t *testing.T) {
	const rounds = 2000
	paper := map[string]float64{"syscall": 72, "pthread minimal context switch": 410, "CFS context switch": 599}

	k := newTestKernel(t, "skylake112")
	var syscallNs float64
	spawn(t, k, TaskSpec{Name: "yielder", Class: ClassCFS, CPU: 1, Affinity: SetOf(1), NUMAHome: -1, Program: func(th *Thread) {
		th.Run(sim.Microsecond) // start off the switch-in
		start := th.Now()
		for i := 0; i < rounds; i++ {
			th.Yield()
		}
		syscallNs = float64(th.Now()-start) / rounds / 1000
	}})
	k.Engine().Run(sim.Second)

	pingPong := func(class Class) float64 {
		k := newTestKernel(t, "skylake112")
		var a, b *Task
		var start, end sim.Time
		a = spawn(t, k, TaskSpec{Name: "ping", Class: class, CPU: 2, Affinity: SetOf(2), NUMAHome: -1, Program: func(th *Thread) {
			th.Block()
			start = th.Now()
			for i := 0; i < rounds; i++ {
				th.Wake(b)
				th.Block()
			}
			end = th.Now()
		}})
		b = spawn(t, k, TaskSpec{Name: "pong", Class: class, CPU: 2, Affinity: SetOf(2), NUMAHome: -1, Program: func(th *Thread) {
			th.Wake(a)
			for {
				th.Block()
				th.Wake(a)
			}
		}})
		k.Engine().Run(sim.Second)
		// Per round: two switches, and four syscalls (two wakes, two blocks).
		perRound := float64(end-start) / rounds / 1000
		return (perRound - 4*syscallNs) / 2
	}
	got := map[string]float64{
		"syscall":                        syscallNs,
		"pthread minimal context switch": pingPong(ClassRT),
		"CFS context switch":             pingPong(ClassCFS),
	}
	for name, want := range paper {
		if rel := math.Abs(got[name]-want) / want; rel > 0.05 {
			t.Errorf("%s: %.1f ns, paper %.0f ns (off by %.1f%%)", name, got[name], want, 100*rel)
		} else {
			t.Logf("%s: %.1f ns (paper %.0f ns)", name, got[name], want)
		}
	}
}
