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
