package kernel

import (
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// TestHogsSpreadAcrossSockets starts one hog per CPU of skylake112, all on
// CPU 0 (as if forked there with fork balancing off), and checks that
// load balancing leaves exactly one on every CPU of both sockets within a
// few NUMA balance intervals (112 ms on this machine).
func TestHogsSpreadAcrossSockets(t *testing.T) {
	k := newTestKernel(t, "skylake112")
	n := k.NumCPUs()
	for i := 0; i < n; i++ {
		spawn(t, k, TaskSpec{Name: "hog", Class: ClassCFS, CPU: 0, NUMAHome: -1, Program: hog})
	}
	deadline := 4 * 112 * sim.Millisecond
	var spreadAt sim.Time = -1
	for k.Now() < deadline {
		k.Engine().Run(k.Now() + sim.Millisecond)
		if spreadAt < 0 && allOneEach(k) {
			spreadAt = k.Now()
		}
	}
	if spreadAt < 0 {
		t.Fatalf("hogs not one per CPU after %v: %v", deadline, runQueueLengths(k))
	}
	// Once spread, nothing moves them around: still one each a second on.
	k.Engine().Run(k.Now() + sim.Second)
	if !allOneEach(k) {
		t.Errorf("spread at %v but not one per CPU at %v: %v", spreadAt, k.Now(), runQueueLengths(k))
	}
	if k.Stats().LoadBalances == 0 {
		t.Error("no load balancing pass moved a task")
	}
	t.Logf("spread at %v", spreadAt)
}

func allOneEach(k *Kernel) bool {
	for c := 0; c < k.NumCPUs(); c++ {
		if k.cpus[c].nrRunning() != 1 {
			return false
		}
	}
	return true
}

func runQueueLengths(k *Kernel) map[int]int {
	out := map[int]int{}
	for c := 0; c < k.NumCPUs(); c++ {
		out[k.cpus[c].nrRunning()]++
	}
	return out
}

// TestRomeWakeupStaysInLLC: on rome256 the wakeup search for an idle CPU
// covers only the LLC, a CCX of 8 CPUs. A thread that wakes while its CCX
// is busy waits on its previous CPU although 248 CPUs are idle; on
// skylake112, whose LLC is the socket, the same thread finds an idle CPU at
// once. Reference: [L415] fair.c select_idle_sibling (sd_llc).
func TestRomeWakeupStaysInLLC(t *testing.T) {
	wait := func(machine string, ccx CPUSet) (sim.Time, int) {
		k := newTestKernel(t, machine)
		for c := ccx.First(); c >= 0; c = ccx.Next(c + 1) {
			spawn(t, k, TaskSpec{Name: "hog", Class: ClassCFS, CPU: c, Affinity: SetOf(c), NUMAHome: -1, Program: hog})
		}
		var wokeAt, ranAt sim.Time
		ranOn := -1
		spawn(t, k, TaskSpec{Name: "w", Class: ClassCFS, CPU: 0, Affinity: SetOf(0), NUMAHome: -1, Program: func(th *Thread) {
			th.Run(20 * sim.Millisecond) // share CPU 0 with its hog: equal vruntimes
			th.SetAffinity(RangeSet(0, th.k.NumCPUs()))
			th.Sleep(100 * sim.Microsecond)
			ranAt = th.Now()
			ranOn = th.Task().CPU()
		}})
		k.Engine().Run(sim.Second)
		w := k.tasks[len(k.tasks)-1]
		wokeAt = w.wokenAt
		if ranAt == 0 {
			t.Fatalf("%s: w never ran after waking", machine)
		}
		return ranAt - wokeAt, ranOn
	}
	romeWait, romeCPU := wait("rome256", SetOf(0, 1, 2, 3, 128, 129, 130, 131))
	skyWait, skyCPU := wait("skylake112", SetOf(0, 1, 2, 3, 56, 57, 58, 59))
	t.Logf("rome256: waited %v, ran on cpu%d; skylake112: waited %v, ran on cpu%d", romeWait, romeCPU, skyWait, skyCPU)
	if romeWait < sim.Millisecond {
		t.Errorf("rome256: woken thread waited only %v; want it to queue behind its CCX's hogs", romeWait)
	}
	if skyWait > 10*sim.Microsecond {
		t.Errorf("skylake112: woken thread waited %v; want an idle CPU of its LLC at once", skyWait)
	}
}

// TestRomeWokenThreadWaitsForBalancing: on rome256, a thread that wakes
// while its CCX is full stays queued there (the wakeup searches only the
// LLC) even though every other CCX is idle; it gets a CPU elsewhere only
// when load balancing pulls it, on an idle CPU's balance pass. The test
// shows the wait and the move.
func TestRomeWokenThreadWaitsForBalancing(t *testing.T) {
	k := newTestKernel(t, "rome256")
	ccx0 := SetOf(0, 1, 2, 3, 128, 129, 130, 131)
	for c := ccx0.First(); c >= 0; c = ccx0.Next(c + 1) {
		spawn(t, k, TaskSpec{Name: "hog", Class: ClassCFS, CPU: c, Affinity: SetOf(c), NUMAHome: -1, Program: hog})
	}
	var wokeAt, firstRan sim.Time
	firstCPU := -1
	spawn(t, k, TaskSpec{Name: "w", Class: ClassCFS, Nice: 5, CPU: 0, Affinity: SetOf(0), NUMAHome: -1, Program: func(th *Thread) {
		th.Run(20 * sim.Millisecond)
		th.SetAffinity(RangeSet(0, th.k.NumCPUs()))
		th.Sleep(sim.Millisecond) // long enough to be cache-cold when it wakes
		wokeAt = th.Now()
		for {
			th.Run(sim.Microsecond)
			if firstCPU < 0 {
				firstRan, firstCPU = th.Now(), th.Task().CPU()
			}
			if ccx0.Has(th.Task().CPU()) {
				continue
			}
			th.Exit() // it left CCX 0: done
		}
	}})
	before := k.Stats().LoadBalances
	k.Engine().Run(2 * sim.Second)
	w := k.tasks[len(k.tasks)-1]
	if w.State() != TaskDead {
		t.Fatalf("w never left CCX 0 (state %v on cpu %d)", w.State(), w.CPU())
	}
	t.Logf("woke at %v; first ran at %v on cpu%d; left CCX 0 at %v on cpu%d; balance passes that moved tasks: %d",
		w.wokenAt, firstRan, firstCPU, w.exitedAt, w.lastCPU, k.Stats().LoadBalances-before)
	if ccx0.Has(w.lastCPU) {
		t.Errorf("w ended on cpu%d, inside CCX 0", w.lastCPU)
	}
	if k.Stats().LoadBalances == before {
		t.Error("no balance pass moved a task: w did not leave by balancing")
	}
	if wait := w.exitedAt - wokeAt; wait < sim.Millisecond {
		t.Errorf("w left CCX 0 %v after waking: want a visible wait for balancing, not an idle CPU found at wakeup", wait)
	}
}
