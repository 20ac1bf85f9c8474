package kernel

import (
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// mqGaps records, for task id, every interval during which it was not
// current on a CPU after it first ran: the gaps a MicroQuanta thread sees.
type mqGaps struct {
	id      int
	out     sim.Time // when it was last switched out, -1 while it runs
	started bool
	longest sim.Time
	n       int
}

func (g *mqGaps) record(r SwitchRecord) {
	switch {
	case r.Prev == g.id && r.Next != g.id:
		g.out = r.At
	case r.Next == g.id && r.Prev != g.id:
		if g.started && g.out >= 0 {
			g.n++
			g.longest = max(g.longest, r.At-g.out)
		}
		g.started = true
		g.out = -1
	}
}

// TestMQLoneHogOracle: a lone always-runnable MicroQuanta thread gets
// exactly runtime out of every period of its CPU, and the CPU idles for
// the rest (the blackout).
func TestMQLoneHogOracle(t *testing.T) {
	k := newTestKernel(t, "skylake112")
	e := k.Engine()
	mq := spawn(t, k, TaskSpec{Name: "mq", Class: ClassMicroQuanta, CPU: 0, Affinity: SetOf(0), NUMAHome: -1, Program: hog})
	gaps := &mqGaps{id: mq.ID(), out: -1}
	k.OnSwitch(gaps.record)
	const periods = 100
	// Half-way into the blackout of the last period: every period so far
	// was fully accounted.
	e.Run(periods*sim.Millisecond - 50*sim.Microsecond)
	want := periods * 900 * sim.Microsecond
	if got := mq.Runtime(); got != want {
		t.Errorf("MicroQuanta hog ran %v in %d periods, want exactly %v (0.9 ms per 1 ms)", got, periods, want)
	}
	if gaps.n != periods-1 || gaps.longest != 100*sim.Microsecond {
		t.Errorf("%d gaps, longest %v; want %d, each period − runtime = 100µs", gaps.n, gaps.longest, periods-1)
	}
	if th := k.Stats().MQThrottles; th != periods {
		t.Errorf("%d throttles, want one per period (%d)", th, periods)
	}
}

// TestMQWithCFSHogOracle: a MicroQuanta hog and a CFS hog pinned to one
// CPU: MicroQuanta gets exactly its runtime per period, CFS the rest of
// the CPU, and the longest gap MicroQuanta sees is period − runtime.
// Configured bandwidth (0.3 ms per 0.5 ms, from [kernel]) and a start off
// the tick grid, so that no tick lands on a replenishment.
func TestMQWithCFSHogOracle(t *testing.T) {
	k := newTestKernel(t, "skylake112", "kernel.microquanta_runtime_ns=300000", "kernel.microquanta_period_ns=500000")
	e := k.Engine()
	cfsHog := spawn(t, k, TaskSpec{Name: "cfs", Class: ClassCFS, CPU: 0, Affinity: SetOf(0), NUMAHome: -1, Program: hog})
	e.Run(230 * sim.Microsecond)
	start := e.Now()
	cfsStart := cfsHog.Runtime() + (start - cfsHog.se.execStart)
	mq := spawn(t, k, TaskSpec{Name: "mq", Class: ClassMicroQuanta, CPU: 0, Affinity: SetOf(0), NUMAHome: -1, Program: hog})
	gaps := &mqGaps{id: mq.ID(), out: -1}
	k.OnSwitch(gaps.record)
	const periods = 200
	// Mid-blackout of the last period.
	end := start + periods*500*sim.Microsecond - 100*sim.Microsecond
	e.Run(end)
	if got, want := mq.Runtime(), periods*300*sim.Microsecond; got != want {
		t.Errorf("MicroQuanta ran %v in %d periods, want exactly %v", got, periods, want)
	}
	// CFS gets the rest: everything since the MicroQuanta thread came but
	// its runtime (switches and ticks are charged to whoever they bring
	// in or interrupt).
	cfsGot := cfsHog.Runtime() + (end - cfsHog.se.execStart) - cfsStart
	if want := end - start - mq.Runtime(); cfsGot != want {
		t.Errorf("CFS hog got %v, want the rest %v", cfsGot, want)
	}
	if gaps.n != periods-1 || gaps.longest != 200*sim.Microsecond {
		t.Errorf("%d gaps, longest %v; want %d, longest period − runtime = 200µs", gaps.n, gaps.longest, periods-1)
	}
}

// TestMQPerGroupBandwidth: a task's own runtime/period overrides
// [kernel]'s; a bad one is refused at spawn.
func TestMQPerGroupBandwidth(t *testing.T) {
	k := newTestKernel(t, "skylake112")
	e := k.Engine()
	mq := spawn(t, k, TaskSpec{Name: "mq", Class: ClassMicroQuanta, CPU: 2, Affinity: SetOf(2), NUMAHome: -1, Program: hog,
		MQRuntime: 250 * sim.Microsecond, MQPeriod: 2 * sim.Millisecond})
	e.Run(20*sim.Millisecond - sim.Microsecond)
	if got, want := mq.Runtime(), 10*250*sim.Microsecond; got != want {
		t.Errorf("ran %v in 10 periods of 2 ms, want %v", got, want)
	}
	for _, bad := range []TaskSpec{
		{MQRuntime: 2 * sim.Millisecond, MQPeriod: sim.Millisecond},
		{MQRuntime: -1},
		{MQPeriod: 2 * sim.Second},
	} {
		bad.Name, bad.Class, bad.CPU, bad.NUMAHome, bad.Program = "bad", ClassMicroQuanta, -1, -1, hog
		if _, err := k.Spawn(bad); err == nil {
			t.Errorf("spawn with runtime %v period %v: no error", bad.MQRuntime, bad.MQPeriod)
		}
	}
	p := DefaultParams()
	p.MicroQuantaRuntimeNs = 2 * p.MicroQuantaPeriodNs
	if err := p.Validate(); err == nil {
		t.Error("[kernel] runtime above the period: no error")
	}
}

// TestMQWakeupPreemptsCFS: a MicroQuanta thread with budget that wakes on
// a CPU running CFS takes it at once (after the reschedule and switch); a
// CFS thread waking on its CPU does not preempt it.
func TestMQWakeupPreemptsCFS(t *testing.T) {
	k := newTestKernel(t, "skylake112")
	e := k.Engine()
	spawn(t, k, TaskSpec{Name: "cfs", Class: ClassCFS, CPU: 4, Affinity: SetOf(4), NUMAHome: -1, Program: hog})
	var ranAt sim.Time
	mq := spawn(t, k, TaskSpec{Name: "mq", Class: ClassMicroQuanta, CPU: 4, Affinity: SetOf(4), NUMAHome: -1, Program: func(th *Thread) {
		for {
			th.Block()
			ranAt = th.Now()
			th.Run(50 * sim.Microsecond)
		}
	}})
	e.Run(1300 * sim.Microsecond)
	if k.Current(4) == mq {
		t.Fatal("the MicroQuanta thread should be blocked")
	}
	woke := e.Now()
	k.Wake(mq)
	e.Run(woke + 20*sim.Microsecond)
	if ranAt <= woke || ranAt-woke > 5*sim.Microsecond {
		t.Errorf("MicroQuanta woke at %v, ran at %v: it should preempt CFS within a switch", woke, ranAt)
	}
	if k.Current(4) != mq {
		t.Errorf("cpu4 runs %v, want the MicroQuanta thread", k.Current(4))
	}
}

// TestMQPlacement: a waking MicroQuanta thread whose previous CPU runs
// another MicroQuanta thread goes to an idle CPU (find_lowest_rq), the
// nearest by domain; one whose previous CPU runs CFS stays and preempts.
func TestMQPlacement(t *testing.T) {
	k := newTestKernel(t, "skylake112")
	e := k.Engine()
	all, _ := ParseCPUList("0-27,56-83", k.NumCPUs()) // socket 0; cpu0's sibling is 56
	spawn(t, k, TaskSpec{Name: "poller", Class: ClassMicroQuanta, CPU: 0, Affinity: SetOf(0), NUMAHome: -1, Program: hog})
	w := spawn(t, k, TaskSpec{Name: "w", Class: ClassMicroQuanta, CPU: 3, Affinity: all, NUMAHome: -1, Program: func(th *Thread) {
		for {
			th.Block()
			th.Run(10 * sim.Microsecond)
		}
	}})
	e.Run(100 * sim.Microsecond)
	// w last ran on 3; put it there as if it had run on the poller's CPU.
	w.lastCPU = 0
	k.Wake(w)
	if c := w.CPU(); c != 56 {
		t.Errorf("w placed on cpu%d; want cpu0's idle SMT sibling 56, not the poller's cpu0", c)
	}
	e.Run(200 * sim.Microsecond)
	spawn(t, k, TaskSpec{Name: "cfs", Class: ClassCFS, CPU: 5, Affinity: SetOf(5), NUMAHome: -1, Program: hog})
	e.Run(300 * sim.Microsecond)
	w.lastCPU = 5
	k.Wake(w)
	if c := w.CPU(); c != 5 {
		t.Errorf("w placed on cpu%d; want its previous cpu5, running CFS", c)
	}
}

// TestMQThrottledStaysPut: a MicroQuanta thread that used its budget waits
// out its blackout on its CPU even when every other CPU idles — the
// mechanism the ghOSt paper (§4.3) gives for its lower 64 kB tails — and a
// wakeup while throttled does not move it.
func TestMQThrottledStaysPut(t *testing.T) {
	k := newTestKernel(t, "skylake112")
	e := k.Engine()
	mq := spawn(t, k, TaskSpec{Name: "mq", Class: ClassMicroQuanta, CPU: 7, Affinity: RangeSet(0, 56), NUMAHome: -1, Program: func(th *Thread) {
		for {
			th.Run(890 * sim.Microsecond)
			th.Block()
		}
	}})
	spawn(t, k, TaskSpec{Name: "cfs", Class: ClassCFS, CPU: 7, Affinity: SetOf(7), NUMAHome: -1, Program: hog})
	// The thread blocks just before its budget ends; woken, it runs the
	// rest and is throttled.
	e.Run(895 * sim.Microsecond)
	k.Wake(mq)
	e.Run(950 * sim.Microsecond)
	if !mq.mq.throttled || mq.CPU() != 7 || mq.State() != TaskRunnable {
		t.Fatalf("mq: throttled %v, %v on cpu%d; want throttled, runnable on cpu7", mq.mq.throttled, mq.State(), mq.CPU())
	}
	if k.Current(7) == mq {
		t.Error("a throttled thread runs")
	}
	// Replenished at 1 ms, it takes cpu7 back from CFS (after the tick
	// that lands there too).
	e.Run(1005 * sim.Microsecond)
	if k.Current(7) != mq || mq.mq.throttled {
		t.Errorf("after the blackout cpu7 runs %v, throttled %v; want mq back", k.Current(7), mq.mq.throttled)
	}
}

// TestMQSetClass: a thread moving into MicroQuanta starts a full period,
// one moving out loses its blackout; the invariant checker runs
// throughout.
func TestMQSetClass(t *testing.T) {
	k := newTestKernel(t, "skylake112")
	e := k.Engine()
	var phases []sim.Time
	x := spawn(t, k, TaskSpec{Name: "x", Class: ClassCFS, CPU: 1, Affinity: SetOf(1), NUMAHome: -1, Program: func(th *Thread) {
		th.SetClass(ClassMicroQuanta)
		phases = append(phases, th.Task().Runtime())
		th.Run(3 * sim.Millisecond) // throttled three times
		th.SetClass(ClassCFS)
		phases = append(phases, th.Now())
		th.Run(sim.Millisecond)
	}})
	spawn(t, k, TaskSpec{Name: "cfs", Class: ClassCFS, CPU: 1, Affinity: SetOf(1), NUMAHome: -1, Program: hog})
	e.Run(20 * sim.Millisecond)
	if x.State() != TaskDead || len(phases) != 2 {
		t.Fatalf("x %v after %d phases", x.State(), len(phases))
	}
	if th := k.Stats().MQThrottles; th != 3 {
		t.Errorf("%d throttles, want 3 for 3 ms of work at 0.9 ms per period", th)
	}
	if x.mq.throttled {
		t.Error("left MicroQuanta throttled")
	}
}

// TestMQUnderRT: an RT thread preempts a MicroQuanta thread, which goes
// back to the head of its queue with its budget kept.
func TestMQUnderRT(t *testing.T) {
	k := newTestKernel(t, "skylake112")
	e := k.Engine()
	mq := spawn(t, k, TaskSpec{Name: "mq", Class: ClassMicroQuanta, CPU: 9, Affinity: SetOf(9), NUMAHome: -1, Program: hog})
	mq2 := spawn(t, k, TaskSpec{Name: "mq2", Class: ClassMicroQuanta, CPU: 9, Affinity: SetOf(9), NUMAHome: -1, Program: hog})
	rt := spawn(t, k, TaskSpec{Name: "rt", Class: ClassRT, CPU: 9, Affinity: SetOf(9), NUMAHome: -1, Program: func(th *Thread) {
		th.Block()
		th.Run(100 * sim.Microsecond)
	}})
	e.Run(200 * sim.Microsecond)
	if k.Current(9) != mq {
		t.Fatalf("cpu9 runs %v, want mq (first in FIFO order)", k.Current(9))
	}
	k.Wake(rt)
	e.Run(250 * sim.Microsecond)
	if k.Current(9) != rt {
		t.Fatalf("cpu9 runs %v, want rt", k.Current(9))
	}
	e.Run(400 * sim.Microsecond)
	if k.Current(9) != mq {
		t.Errorf("after rt, cpu9 runs %v; want mq back at the head", k.Current(9))
	}
	// The RT thread held cpu9 for 100 µs of mq's first period, so mq's
	// budget ends after the period: CBS replenishes it at once with the
	// next deadline (start_dl_timer finds the expiry past) and, FIFO, it
	// goes on. Its second budget ends at ~1.9 ms, before the replenishment
	// at 2 ms: then mq2 runs.
	e.Run(1100 * sim.Microsecond)
	if k.Current(9) != mq {
		t.Errorf("at 1.1 ms cpu9 runs %v; want mq, replenished at once", k.Current(9))
	}
	e.Run(1950 * sim.Microsecond)
	if k.Current(9) != mq2 || !mq.mq.throttled {
		t.Errorf("at 1.95 ms cpu9 runs %v, mq throttled %v; want mq2 during mq's blackout", k.Current(9), mq.mq.throttled)
	}
}
