package kernel

import (
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// TestSyncGroupPublishesOutcome: ghost_sync_group leaves each member that
// commits successfully claimed and writes its state and commit_time only
// when it publishes the group's outcome, after the last member and the
// IPIs: COMPLETE for all of them at one commit_time, or, when the group
// failed, POISONED. A member that fails gets its state (and commit_time)
// at once, and so does each member after it, poisoned unseen.
//
// Reference: google/ghost-kernel kernel/sched/ghost.c ghost_sync_group
// (_ghost_set_txn_state over the successful cpumask at the end,
// ghost_set_txn_state / ghost_poison_txn in the loop);
// docs/GHOST-SEMANTICS.md §3.9.
func TestSyncGroupPublishesOutcome(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1, 2, 3), EnclaveConfig{})
	q, _ := s.e.CreateQueue(256)
	q.SetDefault()
	var A, B, C, D, E *Task
	type member struct {
		state TxnState
		at    sim.Time
	}
	var good, bad [3]member
	var goodOK, badOK bool
	var goodRet, badRet sim.Time
	s.agents("ag", func(a *sagent) {
		if a.CPU() != 0 {
			a.idle()
			return
		}
		a.Run(sim.Us(2))
		a.open(1, Txn{Gtid: A.Gtid(), TaskBarrier: a.seq(A.Gtid())})
		a.open(2, Txn{Gtid: B.Gtid(), TaskBarrier: a.seq(B.Gtid())})
		goodOK = a.SyncCommit(SetOf(1, 2))
		goodRet = a.Now()
		for i, cpu := range []int{1, 2} {
			tx := a.TxnState(cpu)
			good[i] = member{tx.State, tx.CommitTime}
		}
		a.Run(sim.Us(20)) // A and B finish
		a.open(1, Txn{Gtid: C.Gtid(), TaskBarrier: a.seq(C.Gtid())})
		a.open(2, Txn{Gtid: D.Gtid(), TaskBarrier: a.seq(D.Gtid()) + 5}) // stale
		a.open(3, Txn{Gtid: E.Gtid(), TaskBarrier: a.seq(E.Gtid())})
		badOK = a.SyncCommit(SetOf(1, 2, 3))
		badRet = a.Now()
		for i, cpu := range []int{1, 2, 3} {
			tx := a.TxnState(cpu)
			bad[i] = member{tx.State, tx.CommitTime}
		}
		newFIFO().global(a, q, SetOf(1, 2, 3), C.Gtid(), D.Gtid(), E.Gtid())
	})
	for _, p := range []**Task{&A, &B, &C, &D, &E} {
		*p = s.ghost("T", 0, func(th *Thread) { th.Run(sim.Us(5)) })
	}
	s.run(sim.Us(200))
	s.wantDead(ClassGhost, A, B, C, D, E)

	// The successful group: both COMPLETE at one commit_time, after the
	// second member latched.
	if !goodOK || good[0].state != TxnComplete || good[1].state != TxnComplete {
		t.Fatalf("good group: ok=%v, states %v, %v; want true, COMPLETE, COMPLETE", goodOK, good[0].state, good[1].state)
	}
	latchB := s.commitAt(2, B.Gtid(), 0)
	if good[0].at != good[1].at || good[0].at < latchB || good[0].at > goodRet {
		t.Errorf("good group: commit_time %v and %v; want one time, after B's commit at %v and by the return at %v",
			good[0].at, good[1].at, latchB, goodRet)
	}
	// The failed group: C committed, then was published POISONED after
	// D's failure and E's poisoning, which got their states at once.
	want := [3]TxnState{TxnPoisoned, TxnTargetStale, TxnPoisoned}
	if badOK || bad[0].state != want[0] || bad[1].state != want[1] || bad[2].state != want[2] {
		t.Fatalf("failed group: ok=%v, states %v, %v, %v; want false, %v, %v, %v",
			badOK, bad[0].state, bad[1].state, bad[2].state, want[0], want[1], want[2])
	}
	if !(bad[1].at < bad[2].at && bad[2].at <= bad[0].at && bad[0].at <= badRet) {
		t.Errorf("failed group: commit_time C %v, D %v, E %v; want D < E (each at once) <= C (the outcome), by the return at %v",
			bad[0].at, bad[1].at, bad[2].at, badRet)
	}
}
