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

// TestClassOrder: an agent-class task preempts CFS at once, and CFS gets
// the CPU back after it. (CFS above ghOSt is in the ghOSt scenario tests.)
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
	spawn(t, k, TaskSpec{Name: "cfs", Class: ClassCFS, CPU: 7, Affinity: only, NUMAHome: -1, Program: hog})
	k.Engine().Run(2 * sim.Millisecond)
	spawn(t, k, TaskSpec{Name: "agent", Class: ClassAgent, CPU: 7, Affinity: only, NUMAHome: -1, Program: func(th *Thread) {
		th.Run(100 * sim.Microsecond)
	}})
	k.Engine().Run(3 * sim.Millisecond)
	want := []string{"idle>cfs", "cfs>agent", "agent>cfs"}
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
	sleeper := spawn(t, k, TaskSpec{Name: "sleeper", Class: ClassCFS, Nice: -20, CPU: 9, Affinity: SetOf(9), NUMAHome: -1, Program: func(th *Thread) {
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

// TestNUMARemoteMemory: only the memory-bound share of a task's work slows
// when its data lives on the other socket, by dram_remote/dram_local.
func TestNUMARemoteMemory(t *testing.T) {
	const work = 10 * sim.Millisecond
	finish := func(home int, share float64) sim.Time {
		k := newTestKernel(t, "skylake112")
		var done, start sim.Time
		spawn(t, k, TaskSpec{Name: "w", Class: ClassCFS, CPU: 4, Affinity: SetOf(4), NUMAHome: home, MemShare: share, Program: func(th *Thread) {
			start = th.Now()
			th.Run(work)
			done = th.Now()
		}})
		k.Engine().Run(sim.Second)
		return done - start
	}
	k := newTestKernel(t, "skylake112")
	c := k.Machine().Costs()
	local := finish(0, 0.5)  // CPU 4 is on socket 0
	remote := finish(1, 0.5) // data on socket 1
	noMem := finish(1, 0)
	if local != noMem {
		t.Errorf("local data (%v) and no memory-bound work (%v) should run alike", local, noMem)
	}
	ratio := float64(c.DRAMRemote) / float64(c.DRAMLocal)
	want := 0.5 + 0.5*ratio // slowdown of the work itself
	got := float64(remote-c.Tick*sim.Time(remote/sim.Millisecond)) / float64(work)
	if d := got/want - 1; d > 0.01 || d < -0.01 {
		t.Errorf("remote slowdown %.4f, want %.4f (0.5 + 0.5 × %.3f)", got, want, ratio)
	}
}

// TestRefillAfterMigration: a task that moves to another CPU pays the
// cache refill for its footprint at the distance moved; staying put costs
// nothing.
func TestRefillAfterMigration(t *testing.T) {
	run := func(second int) sim.Time {
		k := newTestKernel(t, "skylake112")
		var took sim.Time
		spawn(t, k, TaskSpec{Name: "w", Class: ClassCFS, CPU: 0, Affinity: SetOf(0), FootprintKB: 512, NUMAHome: -1, Program: func(th *Thread) {
			th.Run(sim.Microsecond)
			start := th.Now()
			th.SetAffinity(SetOf(second))
			th.Run(100 * sim.Microsecond)
			took = th.Now() - start
		}})
		k.Engine().Run(sim.Second)
		return took
	}
	k := newTestKernel(t, "skylake112")
	m, c := k.Machine(), k.Machine().Costs()
	stay := run(0)
	if want := c.Syscall + 100*sim.Microsecond; stay != want {
		t.Errorf("staying on cpu0: %v, want the syscall + 100us = %v", stay, want)
	}
	for _, to := range []int{56, 1, 28} { // SMT sibling, same LLC, other socket
		got := run(to) - stay
		// The move costs the idle target's wakeup (it sees need_resched when
		// the line holding it arrives), a CFS switch-in there, and the
		// refill of the footprint.
		want := m.LineTransfer(0, to, -1) + c.ContextSwitchCFS + m.RefillPenalty(0, to, 512)
		if got != want {
			t.Errorf("move to cpu%d (%v): extra %v, want wakeup + switch + refill = %v", to, m.Distance(0, to), got, want)
		}
	}
}
