package kernel

import (
	"testing"

	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/hw"
)

// waker wakes a task when its event fires (a write the task polls for).
type waker struct {
	k *Kernel
	t *Task
}

func (w *waker) HandleEvent(sim.Time, sim.Event) { w.k.Wake(w.t) }

// TestSpinCountsCPUTime: Spin(d) takes d of CPU time beside a computing
// SMT sibling, where Run(d) takes d / smt_compute_rate; CPUTime advances
// by the time on the CPU, ticks included, so the ticks the spin takes
// count towards it.
func TestSpinCountsCPUTime(t *testing.T) {
	const d = 3 * sim.Millisecond
	measure := func(spin bool) (wall, cpu sim.Time) {
		return measureOnCPU0(t, spin, d, TaskSpec{Name: "sibling", Class: ClassCFS, CPU: 56, Affinity: SetOf(56), NUMAHome: -1, Program: hog})
	}
	k := newTestKernel(t, "skylake112")
	tick := k.Machine().Costs().Tick

	// The loop sees its clock only in user mode: a tick straddling the
	// end delays it by at most that tick.
	wall, cpu := measure(true)
	if wall < d || wall > d+tick {
		t.Errorf("Spin(%v) beside a computing sibling took %v, want %v and at most one tick more (ticks run on its clock)", d, wall, d)
	}
	if cpu != wall {
		t.Errorf("Spin: CPUTime advanced %v over %v on the CPU", cpu, wall)
	}
	rate := k.Machine().SMTRate(hw.SiblingComputing).Float()
	if wall, _ := measure(false); wall < sim.Time(float64(d)/rate) {
		t.Errorf("Run(%v) beside a computing sibling took %v, want at least %v", d, wall, sim.Time(float64(d)/rate))
	}
}

// measureOnCPU0 runs a CFS thread on CPU 0 of skylake112 that Spins (or,
// with spin false, Runs) d beside other, and returns the wall and CPU time
// the call took.
func measureOnCPU0(t *testing.T, spin bool, d sim.Time, other TaskSpec) (wall, cpu sim.Time) {
	k := newTestKernel(t, "skylake112")
	spawn(t, k, other)
	spawn(t, k, TaskSpec{Name: "w", Class: ClassCFS, CPU: 0, Affinity: SetOf(0), NUMAHome: -1, Program: func(th *Thread) {
		t0, c0 := th.Now(), th.CPUTime()
		if spin {
			th.Spin(d)
		} else {
			th.Run(d)
		}
		wall, cpu = th.Now()-t0, th.CPUTime()-c0
	}})
	k.Engine().Run(d + 20*sim.Millisecond)
	return wall, cpu
}

// TestSpinWait: a SpinWait keeps its CPU busy until a wakeup ends it (the
// sibling meanwhile runs at smt_spin_rate), a bounded one ends after its
// CPU time, and a wakeup that came first ends the next one at once.
func TestSpinWait(t *testing.T) {
	k := newTestKernel(t, "skylake112")
	e := k.Engine()
	var woke, bounded, early sim.Time
	w := spawn(t, k, TaskSpec{Name: "poller", Class: ClassRT, CPU: 3, Affinity: SetOf(3), NUMAHome: -1, Program: func(th *Thread) {
		th.SpinWait(sim.Never)
		woke = th.Now()
		t0 := th.Now()
		th.SpinWait(100 * sim.Microsecond)
		bounded = th.Now() - t0
		th.Block() // woken at 3.5 ms; that wakeup is consumed here
		th.Compute(10)
		k.Wake(th.Task()) // a wakeup while running: the next SpinWait ends at once
		t0 = th.Now()
		th.SpinWait(sim.Never)
		early = th.Now() - t0
	}})
	var sibDone sim.Time
	const work = 500 * sim.Microsecond
	spawn(t, k, TaskSpec{Name: "sibling", Class: ClassCFS, CPU: 59, Affinity: SetOf(59), NUMAHome: -1, Program: func(th *Thread) {
		th.Run(work)
		sibDone = th.Now()
	}})
	h := e.Register(&waker{k: k, t: w})
	e.Schedule(1500*sim.Microsecond, h, sim.Event{})
	e.Schedule(3500*sim.Microsecond, h, sim.Event{})
	e.Run(5 * sim.Millisecond)

	if woke != 1500*sim.Microsecond {
		t.Errorf("SpinWait(Never) ended at %v, want the wakeup at 1.5ms", woke)
	}
	c := k.Machine().Costs()
	if bounded < 100*sim.Microsecond || bounded > 100*sim.Microsecond+c.Tick {
		t.Errorf("SpinWait(100us) took %v", bounded)
	}
	if early != 0 {
		t.Errorf("SpinWait after a pending wakeup took %v, want 0", early)
	}
	if busy := k.BusyTime(3); busy < 1500*sim.Microsecond {
		t.Errorf("cpu3 busy %v by 1.5ms of spinning, want the CPU kept", busy)
	}
	rate := k.Machine().SMTRate(hw.SiblingSpinning).Float()
	want := c.ContextSwitchCFS + sim.Time(float64(work)/rate)
	if sibDone < want || sibDone > want+c.Tick {
		t.Errorf("sibling beside a SpinWait finished at %v, want %v (smt_spin_rate)", sibDone, want)
	}
}

// TestSpinEndsOnTheThreadClock: a spin that a real-time task preempts
// ends when the thread's CPU clock has advanced by d, the switch that put
// it back counted on the clock (Linux charges a task from the pick that
// starts it); the same preemption lengthens a Run by that switch.
func TestSpinEndsOnTheThreadClock(t *testing.T) {
	const d = sim.Millisecond
	measure := func(spin bool) (wall, cpu sim.Time) {
		return measureOnCPU0(t, spin, d, TaskSpec{Name: "rt", Class: ClassRT, CPU: 0, Affinity: SetOf(0), NUMAHome: -1, Program: func(th *Thread) {
			th.Sleep(300 * sim.Microsecond)
			th.Run(50 * sim.Microsecond)
		}})
	}
	k := newTestKernel(t, "skylake112")
	back := k.Machine().Costs().ContextSwitchCFS

	wall, cpu := measure(true)
	if cpu != d {
		t.Errorf("preempted Spin(%v): CPUTime advanced %v, want exactly %v", d, cpu, d)
	}
	if wall < d+50*sim.Microsecond {
		t.Errorf("preempted Spin(%v) took %v, want at least the 50us it was off its CPU on top", d, wall)
	}
	if _, cpu := measure(false); cpu < d+back {
		t.Errorf("preempted Run(%v): CPUTime advanced %v, want at least %v (the switch back in)", d, cpu, d+back)
	}
}

// TestAgentPollTime: AgentPollTime counts the time an agent spins in Poll
// on an empty queue, a poll still in progress included, and not the time
// it computes.
func TestAgentPollTime(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1), EnclaveConfig{})
	q, _ := s.e.CreateQueue(64)
	q.SetDefault()
	var start, secondPoll, woke, third sim.Time
	s.agents("ag", func(a *sagent) {
		if a.CPU() != 0 {
			a.idle()
			return
		}
		start = a.Now()
		a.Poll(q, start+100*sim.Microsecond) // times out: nothing comes
		a.Run(20 * sim.Microsecond)
		secondPoll = a.Now()
		a.Poll(q, sim.Never) // a TASK_NEW ends it
		woke = a.Now()
		for !a.Finished() {
			a.drain(q)
			third = a.Now()
			a.Poll(q, sim.Never)
		}
	})
	var mid sim.Time
	s.at(50*sim.Microsecond, "", func() { mid = s.k.AgentPollTime() })
	s.at(300*sim.Microsecond, "", func() {
		s.ghost("t", 1, func(th *Thread) { th.Run(sim.Us(1)) })
	})
	s.run(300 * sim.Microsecond)
	// The poll starts once its first read of the ring (a few ns) is done.
	if got, want := mid, 50*sim.Microsecond-start; got > want || got < want-10*sim.Nanosecond {
		t.Errorf("AgentPollTime mid-poll = %v, want %v (the poll so far)", got, want)
	}
	s.run(400 * sim.Microsecond)
	if woke == 0 {
		t.Fatal("the second poll did not end")
	}
	want := 100*sim.Microsecond + (woke - secondPoll) + (400*sim.Microsecond - third)
	if got := s.k.AgentPollTime(); got > want || got < want-30*sim.Nanosecond {
		t.Errorf("AgentPollTime = %v, want %v: the three polls, not the 20us run", got, want)
	}
}

// TestSpinWaitsForKernelWork: kernel work charged to a spinning thread
// runs on its clock, so it does not move where the spin ends on the clock,
// but the loop sees the clock only back in user mode: work that runs past
// the end delays the return.
func TestSpinWaitsForKernelWork(t *testing.T) {
	const d = 10 * sim.Microsecond
	for _, tc := range []struct {
		name     string
		at, work sim.Time
		want     sim.Time // wall time of the Spin
	}{
		{"within the spin", 2 * sim.Microsecond, 3 * sim.Microsecond, d},
		{"past its end", 9 * sim.Microsecond, 5 * sim.Microsecond, 14 * sim.Microsecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newTestKernel(t, "skylake112")
			var start, wall sim.Time
			spawn(t, k, TaskSpec{Name: "w", Class: ClassRT, CPU: 0, Affinity: SetOf(0), NUMAHome: -1, Program: func(th *Thread) {
				start = th.Now()
				th.Spin(d)
				wall = th.Now() - start
			}})
			e := k.Engine()
			h := e.Register(sim.HandlerFunc(func(sim.Time, sim.Event) { k.chargeKernel(0, tc.work) }))
			e.Run(sim.Microsecond) // the thread is on its CPU and spinning
			e.Schedule(start+tc.at, h, sim.Event{})
			e.Run(sim.Millisecond)
			if wall != tc.want {
				t.Errorf("Spin(%v) with %v of kernel work %v in took %v, want %v", d, tc.work, tc.at, wall, tc.want)
			}
		})
	}
}

// TestSetClassKeepsTheClock: changing class charges the old class for the
// time since the last accounting point, so CPUTime never goes back.
func TestSetClassKeepsTheClock(t *testing.T) {
	k := newTestKernel(t, "skylake112")
	var before, after sim.Time
	spawn(t, k, TaskSpec{Name: "w", Class: ClassRT, CPU: 0, Affinity: SetOf(0), NUMAHome: -1, Program: func(th *Thread) {
		th.Run(100 * sim.Microsecond)
		before = th.CPUTime()
		th.SetClass(ClassCFS)
		after = th.CPUTime()
	}})
	k.Engine().Run(sim.Millisecond)
	if before < 100*sim.Microsecond || after < before {
		t.Errorf("CPUTime %v before SetClass(CFS), %v after: want at least 100us and never back", before, after)
	}
}
