package kernel

import (
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// TestIOWait: a blocking read of 50 µs costs the system call, leaves the
// CPU to another task meanwhile (the reader is blocked, not spinning),
// and ends when the device completes — a Wake during it does not end it
// early (TASK_UNINTERRUPTIBLE) but is kept for the next Block, which
// returns at once. Stats.IOWaits counts it.
func TestIOWait(t *testing.T) {
	k := newTestKernel(t, "skylake112")
	var start, done, blockDone sim.Time
	var other sim.Time
	r := spawn(t, k, TaskSpec{Name: "reader", Class: ClassCFS, CPU: 3, Affinity: SetOf(3), NUMAHome: -1, Program: func(th *Thread) {
		th.Run(sim.Us(10))
		start = th.Now()
		th.IOWait(sim.Us(50))
		done = th.Now()
		th.Block() // the Wake that came during the read
		blockDone = th.Now()
	}})
	spawn(t, k, TaskSpec{Name: "other", Class: ClassCFS, CPU: 3, Affinity: SetOf(3), NUMAHome: -1, Program: func(th *Thread) {
		th.Sleep(sim.Us(15))
		t0 := th.Now()
		th.Run(sim.Us(20)) // runs while the reader waits
		other = th.Now() - t0
	}})
	var stateMid TaskState
	k.Engine().Schedule(sim.Us(30), k.Engine().Register(sim.HandlerFunc(func(sim.Time, sim.Event) {
		stateMid = r.State()
		k.Wake(r)
	})), sim.Event{})
	k.Engine().Run(sim.Ms(1))
	c := k.Machine().Costs()
	if stateMid != TaskBlocked {
		t.Errorf("reader %v during the read, want blocked", stateMid)
	}
	// Woken from no CPU onto its idle CPU: it runs after the CFS switch.
	if got, want := done-start, c.Syscall+sim.Us(50)+c.ContextSwitchCFS; got != want {
		t.Errorf("IOWait(50us) took %v, want syscall + 50us + switch = %v", got, want)
	}
	if got, want := blockDone-done, c.Syscall; got != want {
		t.Errorf("Block after a Wake during the read took %v, want the syscall alone (%v)", got, want)
	}
	if other > sim.Us(21) {
		t.Errorf("the other task took %v for 20us of work: the reader kept the CPU", other)
	}
	if n := k.Stats().IOWaits; n != 1 {
		t.Errorf("Stats.IOWaits = %d, want 1", n)
	}
}
