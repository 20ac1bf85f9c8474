package kernel

import (
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// TestQueueProducerLockSerializes: _produce takes the queue's spinlock,
// so CPUs producing into one queue at the same instant take turns: each
// waits for the previous holder's production and gets the lock's line
// from it, all as kernel work on its own CPU; a CPU producing again after
// itself pays neither.
//
// Reference: ghost.c _produce (spin_lock(&q->lock)).
func TestQueueProducerLockSerializes(t *testing.T) {
	k := newTestKernel(t, "rome256")
	e, err := k.CreateEnclave(RangeSet(0, 256), EnclaveConfig{})
	if err != nil {
		t.Fatal(err)
	}
	q, _ := e.CreateQueue(1024)
	producers := []int{0, 64, 1, 1} // cpu64 is on the other socket; cpu1 twice
	now := sim.Us(1)
	k.Engine().Schedule(now, k.Engine().Register(sim.HandlerFunc(func(sim.Time, sim.Event) {
		for _, cpu := range producers {
			k.lockProduce(q, cpu)
		}
	})), sim.Event{})
	k.Engine().Run(now)
	p := k.costs.GhostMsgProduce
	free, holder := now, -1
	var total sim.Time
	want := map[int]sim.Time{}
	for _, cpu := range producers {
		var wait sim.Time
		if holder >= 0 && holder != cpu {
			wait = max(free-now, 0) + k.m.LineTransfer(holder, cpu, -1)
		}
		total += wait
		free, holder = now+wait+p, cpu
		want[cpu] += wait + p
	}
	for cpu, w := range want {
		if got := k.cpus[cpu].irqEnd - now; got != w {
			t.Errorf("cpu%d: kernel work %v, want %v", cpu, got, w)
		}
	}
	if got := k.Stats().GhostQueueLockWait; got != total || total == 0 {
		t.Errorf("GhostQueueLockWait %v, want %v (> 0)", got, total)
	}
	// cpu1's second production, after its own, waited for nobody: the
	// expectation above charged it p alone.
	if free != now+p || holder != 1 {
		t.Fatalf("model of the test went wrong: free %v holder %d", free, holder)
	}
}
