package kernel

import (
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// Scenarios of where the CPU time of a group commit goes
// (docs/GHOST-SEMANTICS.md §9.15 and the group commit to idle targets),
// checked against the machine's costs. What a commit does to the task it
// displaces (§9.11) and a sync group's all or nothing (§9.12) are scripts
// (testdata/scripts/9.11-*.txt, 9.12-*.txt).

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
