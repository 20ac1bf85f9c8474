package kernel

import (
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// Scenarios of transaction and association failures
// (docs/GHOST-SEMANTICS.md §3.2, §3.7, §4 "Associate").

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
		try("NULL to cpu1 with DO_NOT_PREEMPT", 1, Txn{Gtid: GtidNull, RunFlags: RunDoNotPreempt})
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

// TestScenarioAssociateStale: ASSOCIATE_QUEUE with the seqnum of the last
// message consumed fails with ESTALE while a newer message for the task
// sits unread in its old queue (re-associating would split its message
// stream); after draining it, the association succeeds and later messages
// go to the new queue.
//
// Reference: docs/GHOST-SEMANTICS.md §4 "Associate", §2.5 (ASSOC_QUEUE); paper
// §3.1 "Moving threads between queues/CPUs"; ghost.c ghost_associate_queue.
func TestScenarioAssociateStale(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1), EnclaveConfig{})
	q0, _ := s.e.CreateQueue(64)
	q1, _ := s.e.CreateQueue(64)
	q0.SetDefault()
	var A *Task
	s.agents("ag", func(a *sagent) {
		if a.CPU() != 0 {
			a.idle()
			return
		}
		m := a.pollFor(q0, MsgTaskNew)
		a.commit(1, Txn{Gtid: m.Gtid, TaskBarrier: m.Seqnum, CommitFlags: CommitAtTxnCommit})
		m = a.pollFor(q0, MsgTaskBlocked)
		a.s.at(a.Now(), "wake A", func() { s.k.Wake(A) })
		a.Run(sim.Us(1))
		a.note("q0 holds %d unread message(s) for A", q0.Len())
		st, err := a.Associate(q1, A.Gtid(), m.Seqnum)
		a.note("associate A with q1 at seq %d: status=%d err=%v", m.Seqnum, st, err)
		m = a.drain(q0)[0]
		st, err = a.Associate(q1, A.Gtid(), m.Seqnum)
		a.note("associate A with q1 at seq %d: status=%d err=%v", m.Seqnum, st, err)
		st, err = a.Associate(q1, A.Gtid(), m.Seqnum)
		a.note("again: status=%d (ALREADY=%d) err=%v", st, AssocAlready, err)
		a.commit(1, Txn{Gtid: m.Gtid, TaskBarrier: m.Seqnum, CommitFlags: CommitAtTxnCommit})
		a.pollFor(q1, MsgTaskDead)
		a.idle()
	})
	A = s.ghost("A", 1, func(th *Thread) {
		th.Run(sim.Us(2))
		th.Block()
		th.Run(sim.Us(2))
	})
	s.run(sim.Us(100))
	s.wantDead(ClassGhost, A)
	s.check("associate-stale", `
A's WAKEUP (seq 3) is unread in q0 when the agent associates A with q1 using the
seq of the last message it consumed (2): ESTALE. After draining q0 it succeeds
(and reports ALREADY when repeated); A's later messages go to q1.
Reference: docs/GHOST-SEMANTICS.md §4, §2.5; paper §3.1; ghost.c ghost_associate_queue.`)
}

// TestScenarioSyncGroupPoisoned: one bad member poisons a sync group: no
// member runs. A member already latched is pulled back without a message,
// one that already got on its CPU is yanked off without a message (its
// rendezvous is poisoned), and a task that was running on a member's CPU
// before the group is unaffected by the failed group.
//
// Reference: docs/GHOST-SEMANTICS.md §9.12, §3.9, §1.4 (7); ghost.c
// ghost_sync_group, wait_for_rendezvous.
func TestScenarioSyncGroupPoisoned(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1, 2, 3), EnclaveConfig{})
	q, _ := s.e.CreateQueue(256)
	q.SetDefault()
	var E, F, C, D, G *Task
	s.agents("ag", func(a *sagent) {
		if a.CPU() != 0 {
			a.idle()
			return
		}
		for len(a.drain(q)) < 5 {
			a.Poll(q, sim.Never)
		}
		a.commit(1, Txn{Gtid: E.Gtid(), TaskBarrier: 1, CommitFlags: CommitAtTxnCommit})
		a.commit(2, Txn{Gtid: F.Gtid(), TaskBarrier: 1, CommitFlags: CommitAtTxnCommit})
		a.Run(sim.Us(3))
		a.note("sync group: C on cpu1 (E runs there), G on cpu2 (F blocks there meanwhile), D with a stale barrier on cpu3")
		a.open(1, Txn{Gtid: C.Gtid(), TaskBarrier: 1})
		a.open(2, Txn{Gtid: G.Gtid(), TaskBarrier: 1})
		a.open(3, Txn{Gtid: D.Gtid(), TaskBarrier: 9})
		ok := a.SyncCommit(SetOf(1, 2, 3))
		a.note("SyncCommit -> %v (cpu1 %v, cpu2 %v, cpu3 %v)", ok, a.TxnState(1).State, a.TxnState(2).State, a.TxnState(3).State)
		a.Run(sim.Us(5))
		a.drain(q)
		a.note("E on cpu%d (%v); C %v on cpu%d; G %v on cpu%d", E.CPU(), E.State(), C.State(), C.CPU(), G.State(), G.CPU())
		var known []Gtid
		for _, x := range []*Task{C, G, D} {
			known = append(known, x.Gtid())
		}
		newFIFO().global(a, q, SetOf(2, 3), known...)
	})
	E = s.ghost("E", 0, func(th *Thread) { th.Run(sim.Us(30)) })
	F = s.ghost("F", 0, func(th *Thread) { th.Run(sim.Ns(3450)); th.Block() })
	for _, n := range []string{"C", "D", "G"} {
		x := s.ghost(n, 0, func(th *Thread) { th.Run(sim.Us(5)) })
		switch n {
		case "C":
			C = x
		case "D":
			D = x
		case "G":
			G = x
		}
	}
	s.run(sim.Us(200))
	s.wantDead(ClassGhost, E, C, D, G)
	s.check("sync-group-poisoned", `
A sync group {C on cpu1, G on cpu2, D with a stale barrier on cpu3}: C and G
validate and latch, D fails TARGET_STALE, so the group fails. Meanwhile F
blocked on cpu2, so G got on cpu2 before the failure was published: G is yanked
off with no message. C, still latched, is pulled back with no message. E, which
was running on cpu1 before the group, keeps running. No member ran.
Reference: docs/GHOST-SEMANTICS.md §9.12, §3.9, §1.4 (7); ghost.c ghost_sync_group.`)
}

// TestScenarioDepartedTaskReenters: a task that left ghOSt (DEPARTED,
// messages gated) and enters the enclave again gets a new incarnation:
// TASK_NEW, with its barrier continuing from where it was, so seqnums per
// task keep increasing; the agent schedules it again.
//
// Reference: docs/GHOST-SEMANTICS.md §2.4, §1.2 (TASK_NEW (e), DEPARTED), §5.3.
func TestScenarioDepartedTaskReenters(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1), EnclaveConfig{})
	q, _ := s.e.CreateQueue(64)
	q.SetDefault()
	var A *Task
	s.agents("ag", func(a *sagent) {
		if a.CPU() == 0 {
			newFIFO().global(a, q, SetOf(1))
		}
		a.idle()
	})
	A = s.ghost("A", 1, func(th *Thread) {
		th.Run(sim.Us(2))
		th.SetClass(ClassCFS)
		th.Run(sim.Us(2))
		th.Block()
		th.Run(sim.Us(2))
	})
	s.at(sim.Us(20), "A (blocked, CFS) enters the enclave again; then it is woken", func() {
		if err := s.k.EnterEnclave(A, s.e); err != nil {
			t.Error(err)
		}
		s.k.Wake(A)
	})
	s.run(sim.Us(100))
	s.wantDead(ClassGhost, A)
	s.check("departed-task-reenters", `
A leaves ghOSt (DEPARTED, seq 2) and runs under CFS; blocked, it enters the
enclave again: TASK_NEW (blocked) with seq 3, then its wakeup TASK_WAKEUP seq 4
— the barrier continues across incarnations — and the agent runs it again.
Reference: docs/GHOST-SEMANTICS.md §2.4, §1.2, §5.3.`)
}

// TestScenarioRunningTaskEnters: a task that enters ghOSt while running
// keeps its CPU until it passes through schedule(); only then is TASK_NEW
// (runnable) produced, and no TASK_PREEMPT for that same switch. A task
// running on a CPU outside the enclave is moved to an enclave CPU's run
// queue when it is switched out.
//
// Reference: docs/GHOST-SEMANTICS.md §1.2 (TASK_NEW (b)), §1.4 (a PREEMPT only
// if NEW, YIELD or BLOCKED were not produced for the switch), §5.3.
func TestScenarioRunningTaskEnters(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1), EnclaveConfig{})
	q, _ := s.e.CreateQueue(64)
	q.SetDefault()
	s.agents("ag", func(a *sagent) {
		if a.CPU() == 0 {
			newFIFO().global(a, q, SetOf(1))
		}
		a.idle()
	})
	prog := func(th *Thread) { th.Run(sim.Us(10)) }
	A := s.cfs("A", 1, prog)
	B := s.cfs("B", 2, prog)
	s.at(sim.Us(3), "A (running on cpu1) and B (running on cpu2, outside the enclave) enter it", func() {
		for _, x := range []*Task{A, B} {
			if err := s.k.EnterEnclave(x, s.e); err != nil {
				t.Error(err)
			}
		}
	})
	s.run(sim.Us(100))
	for _, x := range []*Task{A, B} {
		if x.State() != TaskDead || x.Class() != ClassGhost {
			t.Errorf("%v is %v in %v, want dead in ghost", x, x.State(), x.Class())
		}
	}
	s.check("running-task-enters", `
CFS tasks A (on enclave cpu1) and B (on cpu2, outside the enclave) enter the
enclave while running. Their CPUs reschedule at once; TASK_NEW (runnable) is
produced as each is switched out — with no TASK_PREEMPT for that switch — and
each waits, on an enclave CPU's run queue, for the agent, which runs both on
cpu1.
Reference: docs/GHOST-SEMANTICS.md §1.2, §1.4, §5.3.`)
}
