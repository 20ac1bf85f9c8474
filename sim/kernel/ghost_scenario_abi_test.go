package kernel

import (
	"fmt"
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// Scenarios for the ABI elements of abi.go that the §9 checklist does not
// pin: each shows a message produced, or a flag or tunable honoured, as
// docs/GHOST-SEMANTICS.md and ghost.c say (the kernel README's table
// "Every ABI element" lists them all). Most are scripts
// (testdata/scripts/); these need Go: a probe run, or no golden at all.

// countPosts counts the trace's posted messages of type typ.
func (s *scenario) countPosts(typ MsgType) int {
	n := 0
	for _, l := range s.lines {
		if contains(l, " post ") && contains(l, " "+typ.String()+" ") {
			n++
		}
	}
	return n
}

// TestScenarioPriorityChanged: a nice change of a ghOSt task sends
// TASK_PRIORITY_CHANGED and forces the running task off (PREEMPT); while
// the task's TASK_NEW is still held (it entered ghOSt running and has not
// been switched out yet) nothing is sent: the held TASK_NEW carries the new
// nice.
//
// Reference: docs/GHOST-SEMANTICS.md §1.2, §1.4 (5); ghost.c
// task_deliver_msg_priority_changed, _set_next_task_ghost.
func TestScenarioPriorityChanged(t *testing.T) {
	// A probe run finds when A's setpriority completes; the scenario then
	// has A enter the enclave at that very instant, before the
	// setpriority's effect (same-time events run in the order they were
	// scheduled) and before the reschedule that entering asks for.
	var niceAt sim.Time
	priorityScenario(t, -1, &niceAt)
	s, B := priorityScenario(t, niceAt, nil)
	s.wantDead(ClassGhost, B)
	if n := s.countPosts(MsgTaskPriorityChanged); n != 1 {
		t.Errorf("%d TASK_PRIORITY_CHANGED, want 1 (B's)", n)
	}
	s.check("priority-changed", `
A runs in CFS on cpu1 and enters the enclave while running, at the instant its
setpriority(nice 5) completes: TASK_NEW is held, so the nice change sends
nothing, and the TASK_NEW produced when A is forced off carries nice=5. B, a
known ghOSt task, changes its nice while running: TASK_PRIORITY_CHANGED(-3),
then it is forced off (PREEMPT).
Reference: docs/GHOST-SEMANTICS.md §1.2, §1.4; ghost.c
task_deliver_msg_priority_changed, _set_next_task_ghost.`)
}

// priorityScenario builds and runs TestScenarioPriorityChanged's
// scenario; A enters the enclave at enter (never if negative), and
// niceAt, if not nil, receives when A's SetNice returned.
func priorityScenario(t *testing.T, enter sim.Time, niceAt *sim.Time) (*scenario, *Task) {
	s := newScenario(t, "skylake112", SetOf(0, 1), EnclaveConfig{})
	q, _ := s.e.CreateQueue(64)
	q.SetDefault()
	s.postInfo = func(m Message) string {
		if m.Type == MsgTaskNew || m.Type == MsgTaskPriorityChanged {
			return fmt.Sprintf(" nice=%d", m.Nice)
		}
		return ""
	}
	var A, B *Task
	s.agents("ag", func(a *sagent) {
		if a.CPU() != 0 {
			a.idle()
			return
		}
		newFIFO().global(a, q, SetOf(1))
	})
	A = s.cfs("A", 1, func(th *Thread) {
		th.Run(sim.Us(10))
		th.SetNice(5)
		if niceAt != nil {
			*niceAt = th.Now()
		}
		th.Run(sim.Us(5))
	})
	if enter >= 0 {
		s.at(enter, "A (running, CFS) enters the enclave", func() {
			if err := s.k.EnterEnclave(A, s.e); err != nil {
				t.Fatal(err)
			}
		})
	}
	s.at(sim.Us(40), "spawn ghOSt task B", func() {
		B = s.ghost("B", 1, func(th *Thread) {
			th.Run(sim.Us(5))
			th.SetNice(-3)
			th.Run(sim.Us(5))
		})
	})
	s.run(sim.Us(120))
	return s, B
}

// TestStartAgentsNeedsDefaultQueue: agents started on an enclave with no
// default queue are refused with ENXIO, as ghOSt's become agent refuses
// an agent with no queue of its own when the enclave has no default; with
// one they start.
//
// Reference: docs/GHOST-SEMANTICS.md §5.4; ghost.c ctl_become_agent,
// ghost_prep_agent.
func TestStartAgentsNeedsDefaultQueue(t *testing.T) {
	k := newTestKernel(t, "skylake112")
	e, err := k.CreateEnclave(SetOf(0, 1), EnclaveConfig{})
	if err != nil {
		t.Fatal(err)
	}
	idle := func(a *AgentThread) {
		for !a.Finished() {
			_ = a.LocalYield(a.Barrier(), 0)
		}
	}
	if p, err := e.StartAgents("ag", idle); err == nil || p != nil || !contains(err.Error(), "ENXIO") {
		t.Fatalf("StartAgents with no default queue: %v, %v; want ENXIO", p, err)
	}
	if e.Agent(0) != nil || e.ctlOpen != 0 {
		t.Fatalf("a refused StartAgents left an agent (%v) or a ctl fd open (%d)", e.Agent(0), e.ctlOpen)
	}
	q, _ := e.CreateQueue(64)
	q.SetDefault()
	if _, err := e.StartAgents("ag", idle); err != nil {
		t.Fatalf("StartAgents with a default queue: %v", err)
	}
	k.Engine().Run(sim.Us(10))
}

// TestSyncGroupReleasesOwnership: a successful sync group releases the
// ownership of its transactions (sync_group_owner back to -1); a failed
// one leaves it with the owner, who inspects the states.
//
// Reference: docs/GHOST-SEMANTICS.md §3.9; ghost.c ghost_sync_group.
func TestSyncGroupReleasesOwnership(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1, 2), EnclaveConfig{})
	q, _ := s.e.CreateQueue(64)
	q.SetDefault()
	var A, B *Task
	var okOwners, failOwners [2]int
	var ok1, ok2 bool
	s.agents("ag", func(a *sagent) {
		if a.CPU() != 0 {
			a.idle()
			return
		}
		seq := map[Gtid]uint32{}
		for len(seq) < 2 {
			a.Poll(q, sim.Never)
			for _, m := range a.drain(q) {
				seq[m.Gtid] = m.Seqnum
			}
		}
		a.open(1, Txn{Gtid: A.Gtid(), TaskBarrier: seq[A.Gtid()], CommitFlags: CommitAtTxnCommit, SyncGroupOwner: 0})
		a.open(2, Txn{Gtid: B.Gtid(), TaskBarrier: seq[B.Gtid()], CommitFlags: CommitAtTxnCommit, SyncGroupOwner: 0})
		ok1 = a.SyncCommit(SetOf(1, 2))
		okOwners = [2]int{a.TxnState(1).SyncGroupOwner, a.TxnState(2).SyncGroupOwner}
		a.Run(sim.Us(30)) // A and B finish
		a.drain(q)
		a.open(1, Txn{Gtid: A.Gtid(), TaskBarrier: 1, CommitFlags: CommitAtTxnCommit, SyncGroupOwner: 0})
		a.open(2, Txn{Gtid: GtidIdle, CommitFlags: CommitAtTxnCommit, SyncGroupOwner: 0})
		ok2 = a.SyncCommit(SetOf(1, 2))
		failOwners = [2]int{a.TxnState(1).SyncGroupOwner, a.TxnState(2).SyncGroupOwner}
		a.idle()
	})
	A = s.ghost("A", 1, func(th *Thread) { th.Run(sim.Us(5)) })
	B = s.ghost("B", 2, func(th *Thread) { th.Run(sim.Us(5)) })
	s.run(sim.Us(100))
	if !ok1 || okOwners != [2]int{-1, -1} {
		t.Errorf("successful group: ok=%v, owners %v after it, want -1 -1 (released)", ok1, okOwners)
	}
	if ok2 || failOwners != [2]int{0, 0} {
		t.Errorf("failed group: ok=%v, owners %v after it, want 0 0 (kept by cpu0)", ok2, failOwners)
	}
}
