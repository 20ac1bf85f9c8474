package kernel

import (
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// Scenarios of how commits land (docs/GHOST-SEMANTICS.md §9.11, §9.12,
// §9.15 and the group commit to idle targets): what a commit does to the
// task it displaces, a sync group's all or nothing, and where the CPU time
// of a group commit goes (see ghost_scenario_test.go for §9.1–9.8).

// TestScenarioElidePreempt: a commit with ELIDE_PREEMPT displaces the
// running ghOSt task without a TASK_PREEMPT (the agent must infer it);
// without the flag the displaced task gets TASK_PREEMPT.
//
// Reference: docs/GHOST-SEMANTICS.md §9.11, §3.3, §3.8 (_pick_next_task_ghost);
// ghost.c _pick_next_task_ghost.
func TestScenarioElidePreempt(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1), EnclaveConfig{})
	q, _ := s.e.CreateQueue(64)
	q.SetDefault()
	var A, B *Task
	s.agents("ag", func(a *sagent) {
		if a.CPU() != 0 {
			a.idle()
			return
		}
		a.pollFor(q, MsgTaskNew) // both NEWs are drained
		run := func(x *Task, f RunFlags) {
			a.commit(1, Txn{Gtid: x.Gtid(), TaskBarrier: a.seq(x.Gtid()), RunFlags: f, CommitFlags: CommitAtTxnCommit})
			a.Run(sim.Us(3))
			a.drain(q)
		}
		run(A, 0)
		a.note("commit B over running A, no flag")
		run(B, 0)
		a.note("commit A over running B with ELIDE_PREEMPT")
		run(A, RunElidePreempt)
		a.note("B was displaced silently; commit it once A is done")
		a.pollFor(q, MsgTaskDead)
		run(B, 0)
		a.pollFor(q, MsgTaskDead)
		a.idle()
	})
	A = s.ghost("A", 0, func(th *Thread) { th.Run(sim.Us(8)) })
	B = s.ghost("B", 0, func(th *Thread) { th.Run(sim.Us(8)) })
	s.run(sim.Us(100))
	preempts := 0
	for _, l := range s.lines {
		if contains(l, "post") && contains(l, "MSG_TASK_PREEMPT") {
			preempts++
		}
	}
	if preempts != 1 || A.State() != TaskDead || B.State() != TaskDead {
		t.Errorf("%d PREEMPT messages (want 1); A %v, B %v (want dead)", preempts, A.State(), B.State())
	}
	s.check("9.11-elide-preempt", `
§9.11: B committed over running A: TASK_PREEMPT(A). A committed over running B
with ELIDE_PREEMPT: B is switched out with no message at all.
Reference: docs/GHOST-SEMANTICS.md §9.11, §3.3, §3.8; ghost.c _pick_next_task_ghost.`)
}

// TestScenarioSyncGroup: a sync-group commit is all or nothing: when every
// member validates, all run; when one fails, the members after it are
// POISONED and those already latched are pulled back without a message,
// so no member runs.
//
// Reference: docs/GHOST-SEMANTICS.md §9.12, §3.9; ghost.c ghost_sync_group.
func TestScenarioSyncGroup(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1, 2), EnclaveConfig{})
	q, _ := s.e.CreateQueue(64)
	q.SetDefault()
	var tasks []*Task
	s.agents("ag", func(a *sagent) {
		if a.CPU() != 0 {
			a.idle()
			return
		}
		for len(a.drain(q)) < 4 {
			a.Poll(q, sim.Never)
		}
		A, B, C, D := tasks[0].Gtid(), tasks[1].Gtid(), tasks[2].Gtid(), tasks[3].Gtid()
		group := func(what string, ga, gb Gtid, ba, bb uint32) {
			a.open(1, Txn{Gtid: ga, TaskBarrier: ba})
			a.open(2, Txn{Gtid: gb, TaskBarrier: bb})
			ok := a.SyncCommit(SetOf(1, 2))
			a.note("%s: SyncCommit -> %v (cpu1 %v, cpu2 %v)", what, ok, a.TxnState(1).State, a.TxnState(2).State)
		}
		group("A on cpu1 + B on cpu2", A, B, 1, 1)
		a.pollFor(q, MsgTaskDead)
		for !(tasks[0].State() == TaskDead && tasks[1].State() == TaskDead) {
			a.pollFor(q, MsgTaskDead)
		}
		group("C on cpu1 + D on cpu2 with a stale barrier", C, D, 1, 7)
		group("C on cpu1 with a stale barrier + D on cpu2", C, D, 7, 1)
		a.Run(sim.Us(10))
		a.drain(q)
		group("C on cpu1 + D on cpu2", C, D, 1, 1)
		for !(tasks[2].State() == TaskDead && tasks[3].State() == TaskDead) {
			a.pollFor(q, MsgTaskDead)
		}
		a.idle()
	})
	for _, n := range []string{"A", "B", "C", "D"} {
		tasks = append(tasks, s.ghost(n, 0, func(th *Thread) { th.Run(sim.Us(5)) }))
	}
	s.run(sim.Us(200))
	s.wantDead(ClassGhost, tasks...)
	s.check("9.12-sync-group", `
§9.12: a sync group {A on cpu1, B on cpu2} succeeds and both run. {C on cpu1,
D with a stale barrier on cpu2}: C validates and latches first, D fails
TARGET_STALE, and C is pulled back without any message — nothing runs. {C with a
stale barrier, D}: C fails, D is POISONED. Then {C, D} succeeds.
Reference: docs/GHOST-SEMANTICS.md §9.12, §3.9; ghost.c ghost_sync_group.`)
}

// TestScenarioCostPlacement: where simulated CPU time goes for N remote
// transactions. With COMMIT_AT_TXN_COMMIT the agent's CPU commits every
// transaction inline (commit work plus the target run-queue lock line
// each) and then sends one IPI batch; the targets only take the IPI. With
// greedy transactions (no commit flags, Submit) the agent pays the system
// call and the IPI batch, and each target commits its own transaction on
// IRQ exit.
//
// Reference: docs/GHOST-SEMANTICS.md §9.15, §3.6 (1, 2); paper §3.2 "Group
// commits", Table 3 rows 6–7; ghost.c ghost_commit_txn,
// ghost_commit_greedy_txn.
func TestScenarioCostPlacement(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1, 2, 3), EnclaveConfig{})
	q, _ := s.e.CreateQueue(256)
	q.SetDefault()
	var tasks []*Task
	targets := []int{1, 2, 3}
	var t0, t1, t2, t3, empty sim.Time
	s.agents("ag", func(a *sagent) {
		if a.CPU() != 0 {
			a.idle()
			return
		}
		seq := map[Gtid]uint32{}
		consume := func() {
			for _, m := range a.drain(q) {
				seq[m.Gtid] = m.Seqnum
			}
		}
		for len(seq) < 6 {
			a.Poll(q, sim.Never)
			consume()
		}
		for i, c := range targets {
			a.commit(c, Txn{Gtid: tasks[3+i].Gtid(), TaskBarrier: 1, CommitFlags: CommitAtTxnCommit})
		}
		a.Run(sim.Us(5))
		t0 = a.Now()
		a.Commit(CPUSet{})
		empty = a.Now() - t0
		a.note("an empty commit ioctl takes %v (the fixed cost)", empty)
		a.note("group commit of A, B, C to cpu1-3 with COMMIT_AT_TXN_COMMIT")
		for i, c := range targets {
			a.open(c, Txn{Gtid: tasks[i].Gtid(), TaskBarrier: seq[tasks[i].Gtid()], CommitFlags: CommitAtTxnCommit})
		}
		t0 = a.Now()
		a.Commit(SetOf(targets...))
		t1 = a.Now()
		a.note("Commit took %v on the agent's CPU", t1-t0)
		a.Run(sim.Us(5))
		consume()
		a.note("greedy submit of D, E, F to cpu1-3 (no commit flags)")
		for i, c := range targets {
			a.open(c, Txn{Gtid: tasks[3+i].Gtid(), TaskBarrier: seq[tasks[3+i].Gtid()]})
		}
		t2 = a.Now()
		a.Submit(SetOf(targets...))
		t3 = a.Now()
		a.note("Submit took %v on the agent's CPU", t3-t2)
		a.Run(sim.Us(5))
		consume()
		var known []Gtid
		for _, x := range tasks[:3] {
			known = append(known, x.Gtid())
		}
		newFIFO().global(a, q, SetOf(targets...), known...)
	})
	for _, n := range []string{"A", "B", "C", "D", "E", "F"} {
		tasks = append(tasks, s.ghost(n, 0, func(th *Thread) { th.Run(sim.Us(20)) }))
	}
	s.run(sim.Us(300))
	s.wantDead(ClassGhost, tasks...)

	k := s.k
	m := k.Machine()
	costs := k.costs
	// COMMIT_AT_TXN_COMMIT: the agent's CPU does all the commit work and
	// one ICR write (cpu1-3 share an x2APIC cluster).
	want := empty + costs.IPISend
	for i, c := range targets {
		want += costs.GhostTxnCommit + m.LineTransfer(0, c, -1)
		if at := s.commitAt(c, tasks[i].Gtid(), t0); at <= t0 || at > t1 {
			t.Errorf("inline commit on cpu%d at %v, outside the agent's Commit [%v, %v]", c, at, t0, t1)
		}
		// The target only takes the IPI, then switches.
		if got, w := s.switchAt(c, tasks[i], t1), t1+m.IPIFlight(0, c)+costs.IPIReceive; got != w {
			t.Errorf("cpu%d switched to %v at %v, want IPI arrival + handler = %v", c, tasks[i], got, w)
		}
	}
	if t1-t0 != want {
		t.Errorf("inline group commit took %v on the agent's CPU, want empty ioctl + 3 × (commit + rq line) + 1 IPI = %v", t1-t0, want)
	}
	// Greedy: the agent pays the syscall and one ICR write; each target
	// commits its own transaction on IRQ exit.
	if w := empty + costs.IPISend; t3-t2 != w {
		t.Errorf("greedy submit took %v on the agent's CPU, want empty ioctl + 1 IPI = %v", t3-t2, w)
	}
	for i, c := range targets {
		x := tasks[3+i]
		arrive := t3 + m.IPIFlight(0, c)
		if at := s.commitAt(c, x.Gtid(), t3); at != arrive {
			t.Errorf("greedy commit on cpu%d at %v, want at IPI arrival %v", c, at, arrive)
		}
		w := arrive + costs.IPIReceive + m.LineTransfer(0, c, -1) + costs.GhostTxnCommit
		if got := s.switchAt(c, x, t3); got != w {
			t.Errorf("cpu%d switched to %v at %v, want IPI arrival + handler + slot line + commit = %v", c, x, got, w)
		}
	}
	s.check("9.15-cost-placement", `
§9.15: A, B, C committed to busy cpu1-3 in one COMMIT_AT_TXN_COMMIT ioctl: the
three commits happen on the agent's CPU during its call (each paying the commit
work and the target's run-queue line), then one IPI batch; each target switches
after the IPI handler. D, E, F submitted greedily: the agent's call is only the
syscall and the IPI batch; each target commits its own transaction on IRQ exit
(paying the slot's line and the commit) and switches after that.
Reference: docs/GHOST-SEMANTICS.md §9.15, §3.6; paper §3.2, Table 3 rows 6–7.`)
}

// TestScenarioGroupCommitIdleTargets: A, B, C committed in one
// COMMIT_AT_TXN_COMMIT ioctl to cpu1-3, idle and polling. The commit of
// each transaction sets its target's need-resched flag under the target's
// run-queue lock (set_nr_and_not_polling in _ghost_commit_txn), so each
// target leaves idle as soon as its own transaction is committed — a line
// transfer later — while the agent goes on with the next; no IPI is sent.
//
// Reference: ghost.c _ghost_commit_txn ("Elide the reschedule IPI if
// TIF_NEED_RESCHED is already set or if the target CPU is polling for
// it"), ioctl_ghost_commit_txn; docs/GHOST-SEMANTICS.md §3.6 (1).
func TestScenarioGroupCommitIdleTargets(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1, 2, 3), EnclaveConfig{})
	q, _ := s.e.CreateQueue(256)
	q.SetDefault()
	var tasks []*Task
	targets := []int{1, 2, 3}
	var t0, t1 sim.Time
	s.agents("ag", func(a *sagent) {
		if a.CPU() != 0 {
			a.idle()
			return
		}
		seq := map[Gtid]uint32{}
		for len(seq) < 3 {
			a.Poll(q, sim.Never)
			for _, m := range a.drain(q) {
				seq[m.Gtid] = m.Seqnum
			}
		}
		a.note("group commit of A, B, C to idle cpu1-3 with COMMIT_AT_TXN_COMMIT")
		for i, c := range targets {
			a.open(c, Txn{Gtid: tasks[i].Gtid(), TaskBarrier: seq[tasks[i].Gtid()], CommitFlags: CommitAtTxnCommit})
		}
		t0 = a.Now()
		a.Commit(SetOf(targets...))
		t1 = a.Now()
		a.note("Commit took %v on the agent's CPU", t1-t0)
		newFIFO().global(a, q, SetOf(targets...))
	})
	for _, n := range []string{"A", "B", "C"} {
		tasks = append(tasks, s.ghost(n, 0, func(th *Thread) { th.Run(sim.Us(20)) }))
	}
	s.run(sim.Us(300))
	s.wantDead(ClassGhost, tasks...)

	m := s.k.Machine()
	for i, c := range targets {
		commit, in := s.commitAt(c, tasks[i].Gtid(), 0), s.switchAt(c, tasks[i], 0)
		if want := commit + m.LineTransfer(0, c, -1); in != want {
			t.Errorf("cpu%d switched to %v at %v, want its commit (%v) + the flag's line transfer = %v", c, tasks[i], in, commit, want)
		}
		if c != targets[len(targets)-1] && in >= t1 {
			t.Errorf("cpu%d switched to %v at %v, after the agent's Commit ended (%v): it should not wait for the ioctl", c, tasks[i], in, t1)
		}
	}
	if ipis := s.k.Stats().IPIs; ipis != 0 {
		t.Errorf("%d IPIs, want none (every target was polling)", ipis)
	}
	s.check("group-commit-idle-targets", `
A, B, C committed in one COMMIT_AT_TXN_COMMIT ioctl to idle, polling cpu1-3: each
commit sets its target's need-resched flag (set_nr_and_not_polling under the target's
run-queue lock), so each target leaves idle a line transfer after its own commit while
the agent commits the next; no IPI.
Reference: ghost.c _ghost_commit_txn, ioctl_ghost_commit_txn; docs/GHOST-SEMANTICS.md §3.6.`)
}
