package search_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ghostsim/ghostsim/configs"
	"github.com/ghostsim/ghostsim/experiment"
	_ "github.com/ghostsim/ghostsim/policies/search"
	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/agent"
	"github.com/ghostsim/ghostsim/sim/hw"
	"github.com/ghostsim/ghostsim/sim/kernel"
)

// The test machine is a small Rome: 2 sockets × 2 CCXs × 2 cores × SMT2,
// numbered as Linux numbers rome256 (the sibling of c is c+8):
//
//	socket 0: CCX 0 = {0, 1, 8, 9},   CCX 1 = {2, 3, 10, 11}
//	socket 1: CCX 2 = {4, 5, 12, 13}, CCX 3 = {6, 7, 14, 15}
//
// The enclave holds all 16 CPUs; the global agent runs on CPU 0.
var (
	socket0 = kernel.SetOf(0, 1, 2, 3, 8, 9, 10, 11)
	socket1 = kernel.SetOf(4, 5, 6, 7, 12, 13, 14, 15)
	ccx2    = kernel.SetOf(4, 5, 12, 13)
	ccx3    = kernel.SetOf(6, 7, 14, 15)
	all     = kernel.RangeSet(0, 16)
)

// rig is a kernel with the invariant checker on, one enclave and the
// search policy's agents.
type rig struct {
	t    *testing.T
	e    *sim.Engine
	k    *kernel.Kernel
	enc  *kernel.Enclave
	proc *agent.Process
	// runs are the context switches to a ghOSt thread, in order.
	runs []kernel.SwitchRecord
}

func newRig(t *testing.T, p agent.Params) *rig {
	t.Helper()
	spec := struct {
		hw.Spec
		Kernel kernel.Params `toml:"kernel"`
	}{Kernel: kernel.DefaultParams()}
	if _, err := configs.Load(&spec, []string{"rome256"}, []string{
		"machine.cpus=16", "machine.cores_per_socket=4", "machine.cores_per_ccx=2",
	}); err != nil {
		t.Fatal(err)
	}
	m, err := hw.New(spec.Spec)
	if err != nil {
		t.Fatal(err)
	}
	e := sim.NewEngine(1)
	t.Cleanup(e.Close)
	k, err := kernel.New(e, m, kernel.Config{Params: spec.Kernel, Check: true})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := k.CreateEnclave(all, kernel.EnclaveConfig{})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, e: e, k: k, enc: enc}
	proc, err := agent.Launch(k, enc, "search", p)
	if err != nil {
		t.Fatal(err)
	}
	r.proc = proc
	k.OnSwitch(func(s kernel.SwitchRecord) {
		if s.Next >= 0 && k.Task(s.Next).Class() == kernel.ClassGhost {
			r.runs = append(r.runs, s)
		}
	})
	return r
}

func params(numa, ccx bool, holdUs float64) agent.Params {
	p := agent.DefaultParams()
	p.NUMA, p.CCX, p.HoldUs = numa, ccx, holdUs
	return p
}

// spawn spawns a ghOSt thread of the enclave with cpumask aff.
func (r *rig) spawn(name string, aff kernel.CPUSet, prog func(th *kernel.Thread)) *kernel.Task {
	r.t.Helper()
	t, err := r.k.Spawn(kernel.TaskSpec{Name: name, Class: kernel.ClassGhost, Enclave: r.enc, Affinity: aff, CPU: -1, NUMAHome: -1, Program: prog})
	if err != nil {
		r.t.Fatal(err)
	}
	return t
}

// pinned spawns a thread allowed on cpu alone that blocks at once and,
// when woken, occupies cpu for d, then exits.
func (r *rig) pinned(cpu int, d sim.Time) *kernel.Task {
	return r.spawn(fmt.Sprintf("pin%d", cpu), kernel.SetOf(cpu), func(th *kernel.Thread) {
		th.Block()
		th.Run(d)
	})
}

func (r *rig) run(until sim.Time) {
	r.t.Helper()
	r.e.Run(until)
	if crashed, err := r.proc.Crashed(); crashed {
		r.t.Fatalf("agent crashed: %v", err)
	}
}

func (r *rig) stats() map[string]int64 {
	st := r.proc.Policy.(agent.StatsReporter).Stats()
	m := map[string]int64{}
	st.Counters(func(name string, n int64) { m[name] = n })
	return m
}

// cpusOf returns the CPUs task t was switched in on.
func (r *rig) cpusOf(t *kernel.Task) kernel.CPUSet {
	var s kernel.CPUSet
	for _, x := range r.runs {
		if x.Next == t.ID() {
			s.Add(x.CPU)
		}
	}
	return s
}

// numaScenario: nine threads whose cpumask is socket 1 share its eight
// CPUs, running 30 µs and sleeping 10 µs in turn, while socket 0 idles.
func numaScenario(t *testing.T, numa bool) (*rig, []*kernel.Task) {
	r := newRig(t, params(numa, true, 100))
	var ts []*kernel.Task
	for i := 0; i < 9; i++ {
		ts = append(ts, r.spawn(fmt.Sprintf("w%d", i), socket1, func(th *kernel.Thread) {
			for j := 0; j < 40; j++ {
				th.Run(30 * sim.Microsecond)
				th.Sleep(10 * sim.Microsecond)
			}
		}))
	}
	r.run(5 * sim.Millisecond)
	return r, ts
}

// TestNUMAOn: with the NUMA heuristic, threads whose cpumask is socket 1
// run only on socket 1, though socket 0 is idle; a thread finding no idle
// CPU in its mask is skipped (paper §4.4, NUMA paragraph).
func TestNUMAOn(t *testing.T) {
	r, ts := numaScenario(t, true)
	for _, x := range ts {
		if got := r.cpusOf(x); got.Empty() || !got.AndNot(socket1).Empty() {
			t.Errorf("%v ran on %v, want socket 1 (%v) only", x, got, socket1)
		}
		if x.State() != kernel.TaskDead {
			t.Errorf("%v did not finish", x)
		}
	}
	if st := r.stats(); st["numa_skips"] == 0 {
		t.Errorf("no NUMA skip with 9 threads on 8 CPUs: %v", st)
	}
}

// TestNUMAOff: without it the mask is ignored (the kernel does not
// enforce it on commits), so the same threads also run on socket 0.
func TestNUMAOff(t *testing.T) {
	r, ts := numaScenario(t, false)
	var on0 kernel.CPUSet
	for _, x := range ts {
		on0 = on0.Or(r.cpusOf(x).And(socket0))
	}
	if on0.Empty() {
		t.Errorf("NUMA off: no thread ran on socket 0")
	}
	if st := r.stats(); st["numa_skips"] != 0 {
		t.Errorf("NUMA off: %d NUMA skips", st["numa_skips"])
	}
}

// ccxScenario: thread T first runs on CPU 13 (CCX 2), then sleeps and
// wakes five times while pinned threads take, one step at a time, its
// CPU, its sibling 5, the rest of CCX 2, then CCX 3 (all of socket 1). It
// returns the CPU T ran on at each wakeup.
func ccxScenario(t *testing.T, ccx bool) (*rig, []int) {
	r := newRig(t, params(true, ccx, 0))
	occ := map[int]*kernel.Task{}
	for _, c := range []int{13, 5, 4, 12, 6, 7, 14, 15} {
		occ[c] = r.pinned(c, 10*sim.Millisecond)
	}
	var got []int
	r.spawn("T", kernel.SetOf(13), func(th *kernel.Thread) {
		th.Sleep(50 * sim.Microsecond) // the pinned threads block meanwhile
		th.SetAffinity(all)            // TASK_AFFINITY_CHANGED
		stage := func(wake ...int) {
			for _, c := range wake {
				th.Wake(occ[c])
			}
			th.Sleep(50 * sim.Microsecond)
			th.Run(5 * sim.Microsecond)
			got = append(got, th.Task().CPU())
		}
		stage()             // all idle: its last CPU
		stage(13)           // its CPU taken: the SMT sibling
		stage(5)            // its core taken: its CCX
		stage(4, 12)        // its CCX taken: the next CCX of the socket
		stage(6, 7, 14, 15) // its socket taken: the other socket
	})
	r.run(2 * sim.Millisecond)
	return r, got
}

// TestCCX: a waking thread returns to its last CPU, else its SMT sibling,
// else its CCX, else the nearest CCX of its socket, else the other socket
// (paper §4.4, CCX paragraph). On the other socket, CCX 1 comes first:
// same index in its socket as T's last CCX, 3.
func TestCCX(t *testing.T) {
	r, got := ccxScenario(t, true)
	want := []int{13, 5, 4, 6, 2}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CPUs at each wakeup (-want +got):\n%s", diff)
	}
	st := r.stats()
	for _, c := range []string{"place_same_cpu", "place_smt", "place_ccx", "place_socket", "place_remote"} {
		if st[c] == 0 {
			t.Errorf("counter %s is 0: %v", c, st)
		}
	}
}

// TestCCXOff: without the heuristic the thread takes the lowest-numbered
// idle CPU every time (CPU 1: 0 is the global agent's).
func TestCCXOff(t *testing.T) {
	_, got := ccxScenario(t, false)
	if diff := cmp.Diff([]int{1, 1, 1, 1, 1}, got); diff != "" {
		t.Errorf("CPUs at each wakeup (-want +got):\n%s", diff)
	}
}

// holdScenario: T runs on CPU 4 of CCX 2 (its cpumask then becomes
// socket 1), then sleeps
// 20 µs while pinned threads fill CCX 2; the one on CPU 13 leaves after
// free (0: it stays). It returns where T ran after waking and how long it
// waited from the end of its sleep.
func holdScenario(t *testing.T, holdUs float64, free sim.Time) (r *rig, cpu int, wait sim.Time) {
	r = newRig(t, params(true, true, holdUs))
	d13 := 10 * sim.Millisecond
	if free > 0 {
		d13 = free
	}
	occ := []*kernel.Task{r.pinned(4, 10*sim.Millisecond), r.pinned(5, 10*sim.Millisecond), r.pinned(12, 10*sim.Millisecond), r.pinned(13, d13)}
	cpu = -1
	r.spawn("T", kernel.SetOf(4), func(th *kernel.Thread) {
		th.Sleep(50 * sim.Microsecond) // the pinned threads block meanwhile
		th.SetAffinity(socket1)
		th.Run(5 * sim.Microsecond)
		if c := th.Task().CPU(); !ccx2.Has(c) {
			t.Errorf("T first ran on %d, want CCX 2", c)
		}
		for _, o := range occ {
			th.Wake(o)
		}
		const nap = 20 * sim.Microsecond
		woke := th.Now() + nap
		th.Sleep(nap)
		wait = th.Now() - woke
		cpu = th.Task().CPU()
	})
	r.run(2 * sim.Millisecond)
	if cpu < 0 {
		t.Fatal("T never ran after its sleep")
	}
	t.Logf("hold_us %v: T ran on %d after %v", holdUs, cpu, wait)
	return r, cpu, wait
}

// TestHoldBackThenCCX: with its CCX busy, the thread waits (≤ hold_us)
// and runs on its CCX when a CPU there frees up: CPU 13's thread has
// 55 µs of work, slowed by its computing SMT sibling (rate 0.6), so it
// leaves about 75 µs after T wakes.
func TestHoldBackThenCCX(t *testing.T) {
	r, cpu, wait := holdScenario(t, 100, 55*sim.Microsecond)
	if cpu != 13 || wait < 20*sim.Microsecond || wait > 100*sim.Microsecond {
		t.Errorf("T ran on %d after %v; want CPU 13 (its CCX, freed) after 20–100 µs", cpu, wait)
	}
	if st := r.stats(); st["holdbacks"] != 1 {
		t.Errorf("holdbacks = %d, want 1", st["holdbacks"])
	}
}

// TestHoldBackThenMigrate: with its CCX busy throughout, the thread
// migrates to the nearest CCX once hold_us has passed.
func TestHoldBackThenMigrate(t *testing.T) {
	_, cpu, wait := holdScenario(t, 100, 0)
	if !ccx3.Has(cpu) || wait < 100*sim.Microsecond || wait > 120*sim.Microsecond {
		t.Errorf("T ran on %d after %v; want CCX 3 after 100–120 µs", cpu, wait)
	}
}

// TestNoHoldBack: hold_us = 0 migrates at once.
func TestNoHoldBack(t *testing.T) {
	r, cpu, wait := holdScenario(t, 0, 55*sim.Microsecond)
	if !ccx3.Has(cpu) || wait > 10*sim.Microsecond {
		t.Errorf("T ran on %d after %v; want CCX 3 at once", cpu, wait)
	}
	if st := r.stats(); st["holdbacks"] != 0 {
		t.Errorf("holdbacks = %d with hold_us = 0", st["holdbacks"])
	}
}

// TestLeastRuntimeFirst: of two threads waiting for the one CPU their
// masks allow, the one with less elapsed runtime runs first, though it
// woke second (paper §4.4: "a min-heap ordered by thread runtime").
func TestLeastRuntimeFirst(t *testing.T) {
	r := newRig(t, params(true, true, 100))
	mk := func(name string, d sim.Time) *kernel.Task {
		return r.spawn(name, kernel.SetOf(5), func(th *kernel.Thread) {
			th.Run(d)
			th.Block()
			th.Run(10 * sim.Microsecond)
		})
	}
	long, short := mk("long", 200*sim.Microsecond), mk("short", 20*sim.Microsecond)
	hog := r.pinned(5, 50*sim.Microsecond)
	r.spawn("driver", kernel.SetOf(7), func(th *kernel.Thread) {
		th.Sleep(500 * sim.Microsecond)
		th.Wake(hog) // takes CPU 5 first: least runtime of all
		th.Wake(long)
		th.Wake(short)
	})
	r.run(2 * sim.Millisecond)
	var order []string
	for _, x := range r.runs {
		if x.CPU == 5 && x.At > 500*sim.Microsecond {
			order = append(order, r.k.Task(x.Next).Name())
		}
	}
	if diff := cmp.Diff([]string{"pin5", "short", "long"}, order); diff != "" {
		t.Errorf("runs on CPU 5 after the wakeups (-want +got):\n%s", diff)
	}
}

// TestDeterminism: the same scenario twice gives the same placements at
// the same times.
func TestDeterminism(t *testing.T) {
	a, _ := numaScenario(t, true)
	b, _ := numaScenario(t, true)
	if len(a.runs) == 0 {
		t.Fatal("no runs recorded")
	}
	if diff := cmp.Diff(a.runs, b.runs); diff != "" {
		t.Errorf("two runs differ (-first +second):\n%s", diff)
	}
}

// TestLoopStats: every loop that handled a message or committed is
// timed, and a loop's time grows with its work (not a constant).
func TestLoopStats(t *testing.T) {
	r, _ := numaScenario(t, true)
	loop := r.proc.Policy.(agent.StatsReporter).Stats().Loop
	if loop.Count() < 100 {
		t.Fatalf("%d loop samples, want one per scheduling event", loop.Count())
	}
	if loop.Max() <= 0 || loop.Max() > 30*sim.Microsecond {
		t.Errorf("longest loop %v, want a few µs", loop.Max())
	}
	t.Logf("%d loops, longest %v", loop.Count(), loop.Max())
}

// TestSyntheticWithHandoff runs the policy end to end on rome256: a ghOSt
// request server on 16 CPUs of two CCXs of socket 0 and 16 of socket 1,
// and a CFS thread pinned to the global agent's CPU that wakes every 2 ms,
// which only runs because the global role moves (hot handoff). No request
// is lost and the agent does not crash.
func TestSyntheticWithHandoff(t *testing.T) {
	sets := []string{
		"enclave.cpus=0-7,64-71",
		"workload.group=[" +
			"{name = \"srv\", threads = 32, class = \"ghost\", program = \"requests\", arrival = {dist = \"exponential\", rate_per_s = 200000.0}, service = {dist = \"exponential\", mean_us = 20.0}}," +
			"{name = \"cfs\", threads = 1, cpus = \"0\", program = \"periodic\", period_us = 2000.0, run_us = 100.0}]",
		"run.duration_ms=40", "run.warmup_ms=0",
	}
	spec, _, err := experiment.Load([]string{"rome256"}, sets)
	if err != nil {
		t.Fatal(err)
	}
	r, err := experiment.Run(spec, experiment.Options{Workload: "synthetic", Policy: "search", Check: true})
	if err != nil {
		t.Fatal(err)
	}
	m := r.Metrics
	if r.Ghost.AgentCrashes != 0 {
		t.Errorf("%d agent crashes", r.Ghost.AgentCrashes)
	}
	if gen, done, fly := m["requests_generated"], m["requests_completed"], m["requests_in_flight"]; gen != done+fly || fly > 50 || done == 0 {
		t.Errorf("requests: generated %v, completed %v, in flight %v", gen, done, fly)
	}
	if m["cfs.periods"] < 15 {
		t.Errorf("CFS thread on the global CPU ran %v periods in 40 ms, want ~20", m["cfs.periods"])
	}
	t.Logf("completed %v, p99 %v ns, cfs periods %v", m["requests_completed"], r.Latency["srv"].P99, m["cfs.periods"])
}
