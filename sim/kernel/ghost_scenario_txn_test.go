package kernel

import (
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// Scenarios of transaction failures (docs/GHOST-SEMANTICS.md §3.2,
// §3.7). Association (associate-stale), a poisoned sync group and tasks
// entering an enclave are scripts (testdata/scripts/).

// TestScenarioTxnFinalStates drives one transaction into each final state
// the model can produce, in the order of _ghost_commit_txn's checks.
// CPU_OFFLINE, UNSUPPORTED_VERSION and INVALID_CPU cannot arise (no CPU
// hotplug, one ABI, Open fills the slot's CPU), nor NOT_PERMITTED (Open
// refuses another enclave's slots).
//
// Reference: docs/GHOST-SEMANTICS.md §3.2, §3.7; ghost.c _ghost_commit_txn.
func TestScenarioTxnFinalStates(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1, 2, 3), EnclaveConfig{})
	q, _ := s.e.CreateQueue(256, 0) // wakes cpu0's agent: moves its barrier
	q.SetDefault()
	var A, B, C, Y, X *Task
	s.agents("ag", func(a *sagent) {
		switch a.CPU() {
		case 3:
			a.note("agent thread exits: cpu3 has no agent")
			return
		case 1, 2:
			a.idle()
			return
		}
		a.pollFor(q, MsgTaskNew)
		a.commit(1, Txn{Gtid: Y.Gtid(), TaskBarrier: a.seq(Y.Gtid()), CommitFlags: CommitAtTxnCommit})
		a.pollFor(q, MsgTaskDead)
		a.commit(1, Txn{Gtid: B.Gtid(), TaskBarrier: a.seq(B.Gtid()), CommitFlags: CommitAtTxnCommit})
		a.pollFor(q, MsgTaskBlocked)
		try := func(what string, cpu int, tx Txn) {
			tx.CommitFlags |= CommitAtTxnCommit
			a.open(cpu, tx)
			a.Commit(SetOf(cpu))
			a.note("%-40s -> %v", what, a.TxnState(cpu).State)
		}
		bA := a.seq(A.Gtid())
		try("A to cpu1", 1, Txn{Gtid: A.Gtid(), TaskBarrier: bA})
		a.Run(sim.Us(1))
		a.open(1, Txn{Gtid: B.Gtid(), TaskBarrier: a.seq(B.Gtid())})
		a.note("%-40s -> %v", "open B on cpu1, then Abort: ok="+boolStr(a.Abort(1)), a.TxnState(1).State)
		try("bad run flags (NEED_CPU_NOT_IDLE on a task)", 1, Txn{Gtid: A.Gtid(), TaskBarrier: bA, RunFlags: RunNeedCPUNotIdle})
		try("bad commit flags (ELIDE + INC_ON_FAILURE)", 1, Txn{Gtid: A.Gtid(), TaskBarrier: bA, CommitFlags: ElideAgentBarrierInc | IncAgentBarrierOnFailure})
		try("unknown gtid 999", 1, Txn{Gtid: 999})
		try("an agent's gtid", 1, Txn{Gtid: a.Task().Gtid()})
		try("CFS task X's gtid", 1, Txn{Gtid: X.Gtid()})
		try("special gtid -3", 1, Txn{Gtid: -3})
		try("dead task Y", 1, Txn{Gtid: Y.Gtid(), TaskBarrier: a.seq(Y.Gtid())})
		try("A with an old barrier", 2, Txn{Gtid: A.Gtid(), TaskBarrier: bA - 1})
		try("blocked task B", 2, Txn{Gtid: B.Gtid(), TaskBarrier: a.seq(B.Gtid())})
		try("running A to cpu2", 2, Txn{Gtid: A.Gtid(), TaskBarrier: bA})
		try("IDLE to cpu1 with DO_NOT_PREEMPT", 1, Txn{Gtid: GtidIdle, RunFlags: RunDoNotPreempt})
		bC := a.seq(C.Gtid())
		try("runnable C to cpu3 (no agent)", 3, Txn{Gtid: C.Gtid(), TaskBarrier: bC})
		s.at(a.Now(), "CFS task X wakes on cpu2", func() { s.k.Wake(X) })
		a.Run(sim.Us(2))
		try("C to cpu2 while CFS X runs there", 2, Txn{Gtid: C.Gtid(), TaskBarrier: bC})
		b := a.Barrier()
		s.at(a.Now(), "wake B", func() { s.k.Wake(B) })
		a.Run(sim.Us(1))
		try("local commit of C, stale agent barrier", 0, Txn{Gtid: C.Gtid(), TaskBarrier: bC, AgentBarrier: b})
		a.open(1, Txn{Gtid: A.Gtid(), TaskBarrier: bA - 1, CommitFlags: CommitAtTxnCommit})
		a.open(0, Txn{Gtid: C.Gtid(), TaskBarrier: bC, AgentBarrier: a.Barrier(), CommitFlags: CommitAtTxnCommit})
		a.Commit(SetOf(0, 1))
		a.note("%-40s -> cpu1 %v, cpu0 %v", "group: stale A on cpu1, then local C", a.TxnState(1).State, a.TxnState(0).State)
		a.drain(q)
		newFIFO().global(a, q, SetOf(1, 2), B.Gtid(), C.Gtid())
	})
	A = s.ghost("A", 0, func(th *Thread) { th.Run(sim.Us(20)) })
	B = s.ghost("B", 0, func(th *Thread) { th.Block(); th.Run(sim.Us(2)) })
	C = s.ghost("C", 0, func(th *Thread) { th.Run(sim.Us(2)) })
	Y = s.ghost("Y", 0, func(th *Thread) {})
	X = spawn(t, s.k, TaskSpec{Name: "X", Class: ClassCFS, Affinity: SetOf(2), CPU: 2, NUMAHome: -1, Program: func(th *Thread) {
		th.Block()
		th.Run(sim.Us(5))
	}})
	s.run(sim.Us(200))
	s.wantDead(ClassGhost, A, B, C, Y)
	s.wantDead(ClassCFS, X)
	s.check("txn-final-states", `
One transaction into each final state: COMPLETE; ABORTED (userspace recall of a
READY txn); INVALID_FLAGS (run flags, commit flags); TARGET_NOT_FOUND (unknown
gtid); INVALID_TARGET (an agent, a CFS task, a bad special gtid); TARGET_STALE
(dead task, old task barrier); TARGET_NOT_RUNNABLE (blocked task); TARGET_ONCPU
(running task A; checked before whether the target CPU has an agent); for the
runnable C: NO_AGENT (cpu3's agent thread exited), CPU_UNAVAIL (CFS runs on the
target), AGENT_STALE (a local commit whose agent barrier moved); AGENT_STALE
also for DO_NOT_PREEMPT with a ghOSt task current; POISONED (the caller's own
txn after a failed one in the same ioctl).
Reference: docs/GHOST-SEMANTICS.md §3.2, §3.7; ghost.c _ghost_commit_txn.`)
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
