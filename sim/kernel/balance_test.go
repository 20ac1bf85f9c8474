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
