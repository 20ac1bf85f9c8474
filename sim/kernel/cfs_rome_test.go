package kernel

import (
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// romeSpread starts n CFS hogs on CPU 0 of rome256 (all CPUs allowed)
// and samples, every millisecond up to limit, how the running hogs are
// spread. It returns when each socket first had its share running (n/2
// each), when each CCX did (n/32 each), and when every CPU ran one hog;
// sim.Never for a level never reached.
func romeSpread(t testing.TB, n int, limit sim.Time) (socket, ccx, cpu sim.Time) {
	k := newTestKernel(t, "rome256")
	k.check = false // 256 CPUs: the per-event sweep is too slow here
	k.eng.AfterEvent = nil
	for i := 0; i < n; i++ {
		spawn(t, k, TaskSpec{Name: "hog", Class: ClassCFS, CPU: 0, NUMAHome: -1, Program: hog})
	}
	m := k.Machine()
	socket, ccx, cpu = sim.Never, sim.Never, sim.Never
	perSocket := make([]int, 2)
	perCCX := make([]int, m.NumCCXs())
	for now := sim.Time(0); now <= limit && cpu == sim.Never; now += sim.Millisecond {
		k.Engine().Run(now)
		clear(perSocket)
		clear(perCCX)
		busy := 0
		for c := 0; c < k.NumCPUs(); c++ {
			if k.cpus[c].curr != nil {
				busy++
				perSocket[m.CPU(c).Socket]++
				perCCX[m.CPU(c).CCX]++
			}
		}
		all := func(xs []int, want int) bool {
			for _, x := range xs {
				if x < want {
					return false
				}
			}
			return true
		}
		if socket == sim.Never && all(perSocket, n/2) {
			socket = now
		}
		if ccx == sim.Never && all(perCCX, n/len(perCCX)) {
			ccx = now
		}
		if testing.Verbose() && (now%(sim.Second) == 0) {
			t.Logf("%v busy %d sockets %v ccx %v", now, busy, perSocket, perCCX)
		}
		if busy == k.NumCPUs() {
			cpu = now
		}
	}
	return socket, ccx, cpu
}

// TestRomeCFSSpread measures how long CFS takes to spread a burst of 256
// threads, all started on CPU 0, over rome256's 2 sockets, 32 CCXs and 256
// CPUs (CFS-ROME.md explains the numbers; -v logs the spread each
// second). Socket 0 fills within a second; the second socket fills only
// through NUMA-level balancing, a few threads per pass, which takes about
// 10 s. The bounds pin that: a change to the balancing that speeds it up
// or slows it down should update CFS-ROME.md's warm-up advice.
func TestRomeCFSSpread(t *testing.T) {
	if testing.Short() {
		t.Skip("rome256 spread: a second or two of wall time")
	}
	socket, ccx, cpu := romeSpread(t, 256, 60*sim.Second)
	t.Logf("256 hogs from cpu0 on rome256: sockets even after %v, every CCX full after %v, every CPU busy after %v", socket, ccx, cpu)
	if ccx < 5*sim.Second || ccx > 20*sim.Second || socket > ccx {
		t.Errorf("spread after %v (sockets %v), want 5–20 s as CFS-ROME.md says", ccx, socket)
	}
}
