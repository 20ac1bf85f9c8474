package kernel

import (
	"math"
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

func TestSingleTaskRunsAtFullSpeed(t *testing.T) {
	k := newTestKernel(t, "skylake112")
	var done sim.Time
	spawn(t, k, TaskSpec{Name: "w", Class: ClassCFS, CPU: 3, NUMAHome: -1, Program: func(th *Thread) {
		th.Compute(2_000_000) // 1 ms at 2 GHz
		done = th.Now()
	}})
	k.Engine().Run(sim.Ms(10))
	// 1 ms of work + the CFS switch-in (599 ns) + one tick's handler.
	c := k.Machine().Costs()
	want := sim.Ms(1) + c.ContextSwitchCFS + c.Tick
	if done != want {
		t.Errorf("finished at %v, want %v", done, want)
	}
	if got := k.Stats().Exited; got != 1 {
		t.Errorf("exited = %d", got)
	}
}

// TestNiceSplit: two hogs on one CPU, nice 0 and nice 19, share it by
// their weights, 1024:15 (kernel/sched/core.c sched_prio_to_weight).
func TestNiceSplit(t *testing.T) {
	k := newTestKernel(t, "skylake112")
	a := spawn(t, k, TaskSpec{Name: "nice0", Class: ClassCFS, Group: 0, Affinity: SetOf(5), CPU: 5, NUMAHome: -1, Program: hog})
	b := spawn(t, k, TaskSpec{Name: "nice19", Class: ClassCFS, Group: 1, Nice: 19, Affinity: SetOf(5), CPU: 5, NUMAHome: -1, Program: hog})
	k.Engine().Run(20 * sim.Second)
	ra, rb := float64(k.GroupCPUTime(0)), float64(k.GroupCPUTime(1))
	got := rb / (ra + rb)
	want := 15.0 / (1024 + 15)
	if math.Abs(got-want)/want > 0.01 {
		t.Errorf("nice 19 share = %.5f, want %.5f within 1%% (runtimes %v, %v)", got, want, a.Runtime(), b.Runtime())
	}
}

// TestGoingIdleCostsASwitch: a CPU whose only task blocks switches to the
// idle task — a minimal context switch of CPU time — before a task that
// arrives at that instant can be switched in.
func TestGoingIdleCostsASwitch(t *testing.T) {
	k := newTestKernel(t, "skylake112")
	c := k.Machine().Costs()
	var blocked, started sim.Time
	spawn(t, k, TaskSpec{Name: "first", Class: ClassCFS, Affinity: SetOf(3), CPU: 3, NUMAHome: -1, Program: func(th *Thread) {
		th.Run(sim.Us(1))
		blocked = th.Now()
		th.Block()
	}})
	// The first task calls block at at and is off the CPU after the
	// syscall's entry and exit.
	at := c.ContextSwitchCFS + sim.Us(1)
	k.Engine().Run(at + c.Syscall)
	if blocked != at || k.Current(3) != nil {
		t.Fatalf("first task called block at %v (want %v); CPU 3 runs %v", blocked, at, k.Current(3))
	}
	spawn(t, k, TaskSpec{Name: "second", Class: ClassCFS, Affinity: SetOf(3), CPU: 3, NUMAHome: -1, Program: func(th *Thread) {
		started = th.Now()
	}})
	k.Engine().Run(sim.Us(20))
	if want := at + c.Syscall + c.ContextSwitchMin + c.ContextSwitchCFS; started != want {
		t.Errorf("second task started at %v, want %v (switch to idle %v, then in %v)", started, want, c.ContextSwitchMin, c.ContextSwitchCFS)
	}
}
