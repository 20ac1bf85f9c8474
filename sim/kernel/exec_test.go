package kernel

import (
	"testing"

	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/hw"
)

// TestSMTContention: a thread alone on a core runs at full speed; two
// computing on sibling CPUs each run at smt_compute_rate; when one
// sibling stops, the other speeds up for the rest of its work.
func TestSMTContention(t *testing.T) {
	const work = 10 * sim.Millisecond
	finish := func(cpus ...int) []sim.Time {
		k := newTestKernel(t, "skylake112", "costs.zero_overheads=false")
		out := make([]sim.Time, len(cpus))
		for i, c := range cpus {
			i := i
			spawn(t, k, TaskSpec{Name: "w", Class: ClassCFS, CPU: c, Affinity: SetOf(c), NUMAHome: -1, Program: func(th *Thread) {
				th.Run(work)
				out[i] = th.Now()
			}})
		}
		k.Engine().Run(sim.Second)
		return out
	}
	k := newTestKernel(t, "skylake112")
	c := k.Machine().Costs()
	rate := k.Machine().SMTRate(hw.SiblingComputing).Float()
	ticks := func(d sim.Time) sim.Time { return sim.Time(int64(d)/int64(sim.Millisecond)) * c.Tick }

	alone := finish(0)[0]
	if want := c.ContextSwitchCFS + work + ticks(work); alone != want {
		t.Errorf("alone: finished at %v, want %v", alone, want)
	}
	both := finish(0, 56) // siblings on skylake112
	slow := sim.Time(float64(work) / rate)
	for i, f := range both {
		if d := f - (c.ContextSwitchCFS + slow); d < 0 || d > ticks(slow)+ticks(slow)/2 {
			t.Errorf("sibling %d finished at %v, want %v plus at most its ticks", i, f, c.ContextSwitchCFS+slow)
		}
	}
	apart := finish(0, 1) // different cores
	for i, f := range apart {
		if f != alone {
			t.Errorf("separate cores: task %d finished at %v, want %v like a lone task", i, f, alone)
		}
	}
}

// TestClassOrder: an agent-class task preempts CFS at once; a CFS task
// preempts a ghOSt-class task; the idle CPU runs whatever comes.
func TestClassOrder(t *testing.T) {
	k := newTestKernel(t, "skylake112")
	var log []string
	k.OnSwitch(func(r SwitchRecord) {
		name := func(id int) string {
			if id < 0 {
				return "idle"
			}
			return k.tasks[id].name
		}
		log = append(log, name(r.Prev)+">"+name(r.Next))
	})
	only := SetOf(7)
	spawn(t, k, TaskSpec{Name: "ghost", Class: ClassGhost, CPU: 7, Affinity: only, NUMAHome: -1, Program: hog})
	k.Engine().Run(sim.Millisecond)
	spawn(t, k, TaskSpec{Name: "cfs", Class: ClassCFS, CPU: 7, Affinity: only, NUMAHome: -1, Program: hog})
	k.Engine().Run(2 * sim.Millisecond)
	spawn(t, k, TaskSpec{Name: "agent", Class: ClassAgent, CPU: 7, Affinity: only, NUMAHome: -1, Program: func(th *Thread) {
		th.Run(100 * sim.Microsecond)
	}})
	k.Engine().Run(3 * sim.Millisecond)
	want := []string{"idle>ghost", "ghost>cfs", "cfs>agent", "agent>cfs"}
	if len(log) != len(want) {
		t.Fatalf("switches %v, want %v", log, want)
	}
	for i := range want {
		if log[i] != want[i] {
			t.Fatalf("switches %v, want %v", log, want)
		}
	}
}

// TestRemoteWakeSendsIPI: waking a task onto a busy CPU of another core
// costs the waker the run-queue line and an IPI send, and the target the
// IPI's handler; waking onto an idle CPU needs no IPI.
func TestRemoteWakeSendsIPI(t *testing.T) {
	k := newTestKernel(t, "skylake112")
	c := k.Machine().Costs()
	var sleeper *Task
	sleeper = spawn(t, k, TaskSpec{Name: "sleeper", Class: ClassCFS, Nice: -20, CPU: 9, Affinity: SetOf(9), NUMAHome: -1, Program: func(th *Thread) {
		th.Block()
		th.Run(sim.Microsecond)
	}})
	spawn(t, k, TaskSpec{Name: "busy", Class: ClassCFS, Nice: 19, CPU: 9, Affinity: SetOf(9), NUMAHome: -1, Program: hog})
	var wakeCost sim.Time
	spawn(t, k, TaskSpec{Name: "waker", Class: ClassCFS, CPU: 3, Affinity: SetOf(3), NUMAHome: -1, Program: func(th *Thread) {
		th.Run(5 * sim.Millisecond)
		start := th.Now()
		th.Wake(sleeper)
		wakeCost = th.Now() - start
	}})
	ipis := k.Stats().IPIs
	k.Engine().Run(10 * sim.Millisecond)
	want := c.Syscall + k.Machine().LineTransfer(3, 9, -1) + c.IPISend
	if wakeCost != want {
		t.Errorf("waker spent %v, want syscall + line transfer + IPI send = %v", wakeCost, want)
	}
	if got := k.Stats().IPIs - ipis; got < 1 {
		t.Errorf("no IPI sent")
	}
	if sleeper.State() != TaskDead {
		t.Errorf("sleeper did not run after the wakeup: %v", sleeper.State())
	}
}
