package kernel

import (
	"fmt"
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// The scenarios of docs/GHOST-SEMANTICS.md §9, one per point. Each runs a few
// ghOSt tasks under a small agent written for it and compares the trace
// with testdata/ghost/<name>.txt (see ghost_scenario_harness_test.go).

// TestScenarioAgentPreemptsOwnTask: a message routed to a per-CPU agent's
// queue wakes the agent, which preempts the ghOSt task running on its
// CPU: the task gets TASK_PREEMPT.
//
// Reference: docs/GHOST-SEMANTICS.md §9.1, §1.4 cause 1; ghost.c
// pick_next_ghost_agent.
func TestScenarioAgentPreemptsOwnTask(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1), EnclaveConfig{})
	q0, _ := s.e.CreateQueue(64, 0)
	q1, _ := s.e.CreateQueue(64, 1)
	q1.SetDefault()
	_ = q0
	s.agents("ag", func(a *sagent) {
		if a.CPU() == 0 {
			a.idle()
			return
		}
		newFIFO().local(a, q1)
	})
	s.ghost("A", 1, func(th *Thread) { th.Run(sim.Us(30)) })
	s.at(sim.Us(10), "spawn B on cpu1", func() {
		s.ghost("B", 1, func(th *Thread) { th.Run(sim.Us(5)) })
	})
	s.run(sim.Us(100))
	s.check("9.1-agent-preempts-own-task", `
§9.1: a message for a per-CPU agent's queue (TASK_NEW of B) wakes the agent on
cpu1, which preempts the running ghOSt task A: TASK_PREEMPT(A).
Reference: docs/GHOST-SEMANTICS.md §9.1, §1.4 (1); ghost.c pick_next_ghost_agent.`)
}

// TestScenarioLocalCommitBlocks: a local commit returns only when the
// agent is woken again; the agent barrier read before draining makes a
// local commit fail with AGENT_STALE, and a local yield with ESTALE, when a
// message arrived meanwhile, so the agent re-loops instead of sleeping.
//
// Reference: docs/GHOST-SEMANTICS.md §9.2, §2.5, §3.6 (1), §3.10; paper §3.2
// "Sequence numbers and transactions"; ghost.c ghost_run, _ghost_commit_txn.
func TestScenarioLocalCommitBlocks(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1), EnclaveConfig{})
	s.e.CreateQueue(64, 0)
	q1, _ := s.e.CreateQueue(64, 1)
	q1.SetDefault()
	var A *Task
	s.agents("ag", func(a *sagent) {
		if a.CPU() == 0 {
			a.idle()
			return
		}
		m := a.waitFor(q1, MsgTaskNew)
		b := a.Barrier()
		a.note("Commit A (blocks until woken)")
		a.commit(1, Txn{Gtid: m.Gtid, TaskBarrier: m.Seqnum, AgentBarrier: b, CommitFlags: CommitAtTxnCommit})
		a.note("Commit returned")

		b = a.Barrier()
		a.drain(q1) // BLOCKED(A)
		a.s.at(a.Now()+sim.Ns(500), "wake A", func() { s.k.Wake(A) })
		a.Run(sim.Us(1)) // deciding; WAKEUP(A) arrives meanwhile
		if err := a.LocalYield(b, 0); err != nil {
			a.note("LocalYield with a stale agent barrier: %v", err)
		}

		b = a.Barrier()
		var seq uint32
		for _, m := range a.drain(q1) {
			seq = m.Seqnum
		}
		a.s.at(a.Now()+sim.Ns(500), "spawn B", func() { s.ghost("B", 1, func(th *Thread) { th.Run(sim.Us(2)) }) })
		a.Run(sim.Us(1)) // deciding; TASK_NEW(B) arrives meanwhile
		st := a.commit(1, Txn{Gtid: A.Gtid(), TaskBarrier: seq, AgentBarrier: b, CommitFlags: CommitAtTxnCommit})
		a.note("Commit returned at once: %v", st)
		newFIFO().local(a, q1, A.Gtid())
	})
	A = s.ghost("A", 1, func(th *Thread) {
		th.Run(sim.Us(3))
		th.Block()
		th.Run(sim.Us(3))
	})
	s.run(sim.Us(100))
	s.wantDead(ClassGhost, A)
	s.check("9.2-local-commit-blocks", `
§9.2: a local Commit blocks the agent until it is woken (here by BLOCKED(A));
with the agent barrier read before draining, a message arriving while the agent
decides makes LocalYield fail with ESTALE and a local commit fail with
AGENT_STALE (the agent does not sleep) — the agent re-loops.
Reference: docs/GHOST-SEMANTICS.md §9.2, §2.5, §3.10; paper §3.2; ghost.c ghost_run.`)
}

// TestScenarioBarriersMoveWithoutMessages: every message production bumps
// the task barrier, even when no message is delivered (no queue yet, a
// closed queue); a commit with an old task barrier fails TARGET_STALE,
// while a remote commit ignores the agent barrier; a departed (gated) task
// cannot be committed.
//
// Reference: docs/GHOST-SEMANTICS.md §9.3, §2.3, §2.4, §2.5 ("Remote commits
// ignore the agent barrier"); ghost.c __task_deliver_common,
// _ghost_commit_txn.
func TestScenarioBarriersMoveWithoutMessages(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1), EnclaveConfig{})
	q0, _ := s.e.CreateQueue(64, 0)
	q1, _ := s.e.CreateQueue(64, 1)
	// Agents need a default queue to start (ENXIO without one); closing it
	// once they run leaves the enclave with none, so A arrives queueless.
	qa, _ := s.e.CreateQueue(64)
	qa.SetDefault()
	var A *Task
	s.agents("ag", func(a *sagent) {
		if a.CPU() == 1 {
			a.idle()
			return
		}
		for _, sw := range a.Discover() {
			a.note("discovered gtid=%d barrier=%d runnable=%v", sw.Gtid, sw.Barrier, sw.Runnable())
			st, err := a.Associate(q0, sw.Gtid, sw.Barrier)
			a.note("associate q0: status=%d err=%v", st, err)
		}
		q0.SetDefault()
		a.note("remote commit with a garbage agent barrier")
		a.commit(1, Txn{Gtid: A.Gtid(), TaskBarrier: 1, AgentBarrier: 12345, CommitFlags: CommitAtTxnCommit})
		a.waitFor(q0, MsgTaskBlocked) // seq 2
		a.s.at(a.Now()+sim.Us(1), "wake A", func() { s.k.Wake(A) })
		a.Run(sim.Us(2))
		a.note("commit A with the barrier of the last message consumed (2)")
		a.commit(1, Txn{Gtid: A.Gtid(), TaskBarrier: 2, CommitFlags: CommitAtTxnCommit})
		m := a.waitFor(q0, MsgTaskWakeup)
		a.commit(1, Txn{Gtid: A.Gtid(), TaskBarrier: m.Seqnum, CommitFlags: CommitAtTxnCommit})

		a.s.at(a.Now()+sim.Us(1), "close q0", func() { q0.Close() })
		a.Run(sim.Us(20)) // A blocks and wakes meanwhile: both messages are dropped
		sw, _ := a.StatusWord(A.Gtid())
		a.note("A's barrier is %d (last message consumed: %d); runnable=%v", sw.Barrier, m.Seqnum, sw.Runnable())
		st, err := a.Associate(q1, A.Gtid(), sw.Barrier)
		a.note("associate q1: status=%d err=%v", st, err)
		a.commit(1, Txn{Gtid: A.Gtid(), TaskBarrier: sw.Barrier, CommitFlags: CommitAtTxnCommit})
		m = a.pollFor(q1, MsgTaskDeparted) // q1 wakes cpu1's agent: poll it
		a.commit(1, Txn{Gtid: A.Gtid(), TaskBarrier: m.Seqnum, CommitFlags: CommitAtTxnCommit})
		a.idle()
	})
	qa.Close()
	A = s.ghost("A", 1, func(th *Thread) {
		th.Run(sim.Us(2))
		th.Sleep(sim.Us(3)) // BLOCKED; the agent stalls on its WAKEUP
		th.Run(sim.Us(2))
		th.Sleep(sim.Us(3)) // with q0 closed: dropped
		th.Run(sim.Us(20))
		th.SetClass(ClassCFS)
		th.Run(sim.Us(2))
	})
	s.run(sim.Us(200))
	s.wantDead(ClassCFS, A)
	s.check("9.3-barriers-move-without-messages", `
§9.3: A enters with no default queue: TASK_NEW is dropped but its barrier moves
to 1; discovery associates it with that barrier. A remote commit succeeds with a
garbage agent barrier (remote commits ignore it). A commit with the barrier of
the last message consumed fails TARGET_STALE once WAKEUP moved it. With its
queue closed, A's BLOCKED and WAKEUP are dropped yet its barrier moves. After
A departs (DEPARTED; messages gated), a commit of A fails TARGET_STALE.
Reference: docs/GHOST-SEMANTICS.md §9.3, §2.3, §2.4, §2.5; ghost.c _ghost_commit_txn.`)
}

// swFlags renders the ONCPU and RUNNABLE bits of a status word.
func swFlags(sw StatusWord) string {
	return fmt.Sprintf("barrier=%d oncpu=%v runnable=%v", sw.Barrier, sw.OnCPU(), sw.Runnable())
}

// TestScenarioOffCPUMessagesDeferred: YIELD and BLOCKED are produced only
// when the task is really off its CPU (in the schedule() that switches it
// out), and ONCPU is cleared after the message, so once an agent sees
// on_cpu() false the barrier it reads is final.
//
// Reference: docs/GHOST-SEMANTICS.md §9.4, §1.2 (YIELD, BLOCKED), §2.2
// (TASK_ONCPU); ghost.c _yield_task_ghost, ghost_produce_prev_msgs.
func TestScenarioOffCPUMessagesDeferred(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1), EnclaveConfig{})
	q, _ := s.e.CreateQueue(64) // polled by the agent of cpu0
	q.SetDefault()
	s.postInfo = func(m Message) string {
		return " [at post: " + swFlags(s.k.TaskByGtid(m.Gtid).g.sw) + "]"
	}
	var A *Task
	s.agents("ag", func(a *sagent) {
		if a.CPU() == 1 {
			a.idle()
			return
		}
		run := func(m Message) {
			a.commit(1, Txn{Gtid: A.Gtid(), TaskBarrier: m.Seqnum, CommitFlags: CommitAtTxnCommit})
		}
		run(a.pollFor(q, MsgTaskNew))
		for _, typ := range []MsgType{MsgTaskYield, MsgTaskBlocked} {
			m := a.pollFor(q, typ)
			sw, _ := a.StatusWord(A.Gtid())
			a.note("A's status word: %s", swFlags(sw))
			if typ == MsgTaskYield {
				run(m)
			}
		}
		run(a.pollFor(q, MsgTaskWakeup))
		a.pollFor(q, MsgTaskDead)
		a.idle()
	})
	A = s.ghost("A", 1, func(th *Thread) {
		th.Run(sim.Us(2))
		th.Yield()
		th.Run(sim.Us(2))
		th.Block()
		th.Run(sim.Us(2))
	})
	s.at(sim.Us(30), "wake A", func() { s.k.Wake(A) })
	s.run(sim.Us(100))
	s.check("9.4-off-cpu-messages-deferred", `
§9.4: A's YIELD and BLOCKED are posted in the schedule() that switches A out
(same instant as the switch), with ONCPU still set at the post; ONCPU is
cleared right after, so the agent reading A's status word after the message
sees oncpu=false and a final barrier. The kernel emits nothing at the start of
the sched_yield / futex syscalls.
Reference: docs/GHOST-SEMANTICS.md §9.4, §1.2, §2.2; ghost.c _yield_task_ghost.`)
}

// TestScenarioLatchedTaskDisplaced: a commit only latches the task; until
// the target CPU picks it, a newer commit to that CPU, the local agent
// running, or a CFS task displaces it, each with PREEMPT(was_latched).
//
// Reference: docs/GHOST-SEMANTICS.md §9.5, §1.4 (6), §3.7 "On success"
// (ghost_set_pnt_state), §3.8; ghost.c pick_next_ghost_agent,
// ghost_latched_task_preempted.
func TestScenarioLatchedTaskDisplaced(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1), EnclaveConfig{})
	q0, _ := s.e.CreateQueue(64, 0)
	q0.SetDefault()
	var A, B *Task
	s.agents("ag", func(a *sagent) {
		if a.CPU() == 1 {
			a.note("busy for 30us (the agent class keeps cpu1)")
			a.Run(sim.Us(30))
			a.idle()
			return
		}
		a.waitFor(q0, MsgTaskNew)
		a.drain(q0)
		commit := func(x *Task, f RunFlags) {
			a.commit(1, Txn{Gtid: x.Gtid(), TaskBarrier: a.seq(x.Gtid()), RunFlags: f, CommitFlags: CommitAtTxnCommit})
			a.drain(q0)
		}
		a.note("latch A on cpu1, deferring preemption by the agent")
		commit(A, RunDeferLatchedAgt)
		a.note("a newer commit latches B over A")
		commit(B, RunDeferLatchedAgt)
		a.note("latch A without the defer flag: the running agent displaces it")
		commit(A, 0)
		a.Run(sim.Us(1))
		a.drain(q0)
		a.note("latch B, deferring; then a CFS task wakes on cpu1")
		commit(B, RunDeferLatchedAgt)
		a.s.at(a.Now()+sim.Ns(100), "spawn CFS task C on cpu1", func() {
			s.cfs("C", 1, func(th *Thread) { th.Run(sim.Us(5)) })
		})
		a.Run(sim.Us(1))
		a.drain(q0)
		a.Run(sim.Us(40))
		a.drain(q0)
		commit(A, 0)
		a.waitFor(q0, MsgTaskDead)
		commit(B, 0)
		a.waitFor(q0, MsgTaskDead)
		a.idle()
	})
	A = s.ghost("A", 0, func(th *Thread) { th.Run(sim.Us(2)) })
	B = s.ghost("B", 0, func(th *Thread) { th.Run(sim.Us(2)) })
	s.run(sim.Us(200))
	s.wantDead(ClassGhost, A, B)
	s.check("9.5-latched-task-displaced", `
§9.5: latching is two-phase. While cpu1's agent runs: A, latched with
DEFER_LATCHED_PREEMPTION_BY_AGENT, is displaced by a newer commit of B
(PREEMPT(A) was_latched); B is displaced by a commit of A (PREEMPT(B)
was_latched); A, latched without the defer flag, is displaced as soon as cpu1
schedules its agent (PREEMPT(A) was_latched); B, latched again with the defer
flag, is displaced when CFS task C becomes runnable (PREEMPT(B) was_latched).
Reference: docs/GHOST-SEMANTICS.md §9.5, §1.4 (6), §3.7, §3.8; ghost.c
pick_next_ghost_agent.`)
}

// TestScenarioRunningTaskNotMoved: a commit never moves a running task:
// TARGET_ONCPU, also with ALLOW_TASK_ONCPU for another CPU; with
// ALLOW_TASK_ONCPU on the CPU it runs on, the commit succeeds without a
// reschedule. Once the task is off its CPU (after the PREEMPT of an
// unschedule), the commit moves it.
//
// Reference: docs/GHOST-SEMANTICS.md §9.6, §3.7 (7), §3.4 (ALLOW_TASK_ONCPU);
// ghost.c validate_next_task, validate_next_offcpu.
func TestScenarioRunningTaskNotMoved(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1, 2), EnclaveConfig{})
	q0, _ := s.e.CreateQueue(64, 0)
	q0.SetDefault()
	var A *Task
	s.agents("ag", func(a *sagent) {
		if a.CPU() != 0 {
			a.idle()
			return
		}
		m := a.waitFor(q0, MsgTaskNew)
		g := m.Gtid
		a.commit(1, Txn{Gtid: g, TaskBarrier: m.Seqnum, CommitFlags: CommitAtTxnCommit})
		a.Run(sim.Us(2))
		a.note("A runs on cpu1: move it to cpu2")
		a.commit(2, Txn{Gtid: g, TaskBarrier: m.Seqnum, CommitFlags: CommitAtTxnCommit})
		a.commit(2, Txn{Gtid: g, TaskBarrier: m.Seqnum, CommitFlags: CommitAtTxnCommit | AllowTaskOnCPU})
		a.note("ALLOW_TASK_ONCPU on the CPU A runs on: no reschedule")
		a.commit(1, Txn{Gtid: g, TaskBarrier: m.Seqnum, CommitFlags: CommitAtTxnCommit | AllowTaskOnCPU})
		a.note("unschedule cpu1, wait for A's PREEMPT, then move A")
		a.commit(1, Txn{Gtid: GtidNull, CommitFlags: CommitAtTxnCommit})
		m = a.waitFor(q0, MsgTaskPreempt)
		a.commit(2, Txn{Gtid: g, TaskBarrier: m.Seqnum, CommitFlags: CommitAtTxnCommit})
		a.waitFor(q0, MsgTaskDead)
		a.idle()
	})
	A = s.ghost("A", 1, func(th *Thread) { th.Run(sim.Us(10)) })
	s.run(sim.Us(100))
	if A.State() != TaskDead || A.LastCPU() != 2 {
		t.Errorf("A is %v, last on cpu%d; want dead on cpu2", A.State(), A.LastCPU())
	}
	s.check("9.6-running-task-not-moved", `
§9.6: while A runs on cpu1, committing it to cpu2 fails TARGET_ONCPU, with or
without ALLOW_TASK_ONCPU; ALLOW_TASK_ONCPU on cpu1 itself succeeds with no
reschedule (no switch). A NULL-gtid commit unschedules cpu1 (PREEMPT(A)); once
A is off its CPU the commit moves it to cpu2.
Reference: docs/GHOST-SEMANTICS.md §9.6, §3.7 (7), §3.4; ghost.c validate_next_offcpu.`)
}

// TestScenarioCFSPreemptsGhost: a CFS task waking on a CPU running a ghOSt
// task preempts it at once with TASK_PREEMPT; while CFS runs there, commits
// to that CPU fail CPU_UNAVAIL and the agent status word's CPU_AVAIL is
// clear; when CFS leaves, the commit succeeds.
//
// Reference: docs/GHOST-SEMANTICS.md §9.7, §6.3, §3.7 (12); ghost.c
// ghost_can_schedule.
func TestScenarioCFSPreemptsGhost(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1), EnclaveConfig{})
	q, _ := s.e.CreateQueue(64) // polled by cpu0's agent
	q.SetDefault()
	var A *Task
	s.agents("ag", func(a *sagent) {
		if a.CPU() != 0 {
			a.idle()
			return
		}
		m := a.pollFor(q, MsgTaskNew)
		a.commit(1, Txn{Gtid: m.Gtid, TaskBarrier: m.Seqnum, CommitFlags: CommitAtTxnCommit})
		m = a.pollFor(q, MsgTaskPreempt)
		for {
			sw := a.AgentStatusWord(1)
			if st := a.commit(1, Txn{Gtid: m.Gtid, TaskBarrier: m.Seqnum, CommitFlags: CommitAtTxnCommit}); st == TxnComplete {
				break
			}
			a.note("cpu1 CPU_AVAIL=%v; retry in 5us", sw.CPUAvail())
			a.Run(sim.Us(5))
		}
		a.pollFor(q, MsgTaskDead)
		a.idle()
	})
	A = s.ghost("A", 1, func(th *Thread) { th.Run(sim.Us(20)) })
	s.at(sim.Us(5), "CFS task C wakes on cpu1", func() {
		s.cfs("C", 1, func(th *Thread) { th.Run(sim.Us(8)) })
	})
	s.run(sim.Us(100))
	s.wantDead(ClassGhost, A)
	s.check("9.7-cfs-preempts-ghost", `
§9.7: CFS task C wakes on cpu1 while ghOSt task A runs there: A is preempted at
once with TASK_PREEMPT and C runs. Until C is done, committing A to cpu1 fails
CPU_UNAVAIL (cpu1's agent status word has CPU_AVAIL clear); then it succeeds.
Reference: docs/GHOST-SEMANTICS.md §9.7, §6.3, §3.7 (12); ghost.c ghost_can_schedule.`)
}

// TestScenarioGlobalAgentHandoff: the global agent busy-polls a queue
// that has no wakeup CPU and never gives its own CPU to a task; when a CFS
// task wants its CPU the agent sees BOOST_PRIO and hands the global role
// off: it pings the new CPU's agent, which preempts the ghOSt task running
// there (TASK_PREEMPT), then yields its CPU to CFS.
//
// Reference: docs/GHOST-SEMANTICS.md §9.8, §6.5, §4 "Routing, centralized
// model"; paper §3.3 "Avoiding preemption of the global agent".
func TestScenarioGlobalAgentHandoff(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1, 2), EnclaveConfig{})
	q, _ := s.e.CreateQueue(256) // no wakeup: polled
	q.SetDefault()
	global := 0
	var rq []Gtid
	running := map[int]Gtid{}
	seq := map[Gtid]uint32{}
	s.agents("ag", func(a *sagent) {
		me := a.CPU()
		for !a.Finished() {
			if global != me {
				a.sleep()
				continue
			}
			if a.AgentStatusWord(me).BoostPrio() {
				target := -1
				for c := 0; c < 3; c++ {
					if c != me && a.AgentStatusWord(c).CPUAvail() {
						target = c
						break
					}
				}
				if target >= 0 {
					a.note("BOOST_PRIO: hand the global role to cpu%d", target)
					global = target
					if g := running[target]; g != 0 {
						rq = append(rq, g) // its PREEMPT will follow
						delete(running, target)
					}
					a.Ping(target)
					a.sleep()
					continue
				}
			}
			a.Poll(q, a.Now()+sim.Us(1))
			for _, m := range a.drain(q) {
				if !m.Type.IsTaskMsg() {
					continue
				}
				seq[m.Gtid] = m.Seqnum
				switch m.Type {
				case MsgTaskNew, MsgTaskWakeup:
					rq = append(rq, m.Gtid)
				case MsgTaskDead:
					for c, g := range running {
						if g == m.Gtid {
							delete(running, c)
						}
					}
				}
			}
			for c := 0; c < 3 && len(rq) > 0; c++ {
				if c == me || running[c] != 0 || !a.AgentStatusWord(c).CPUAvail() {
					continue
				}
				g := rq[0]
				if sw, _ := a.StatusWord(g); sw.OnCPU() || sw.Barrier != seq[g] {
					continue
				}
				if a.commit(c, Txn{Gtid: g, TaskBarrier: seq[g], CommitFlags: CommitAtTxnCommit}) == TxnComplete {
					rq = rq[1:]
					running[c] = g
				}
			}
		}
	})
	var tasks []*Task
	for _, n := range []string{"A", "B", "C"} {
		tasks = append(tasks, s.ghost(n, 0, func(th *Thread) { th.Run(sim.Us(15)) }))
	}
	s.at(sim.Us(6), "CFS task X wakes on cpu0 (the global agent's CPU)", func() {
		s.cfs("X", 0, func(th *Thread) { th.Run(sim.Us(10)) })
	})
	s.run(sim.Us(150))
	s.wantDead(ClassGhost, tasks...)
	s.check("9.8-global-agent-handoff", `
§9.8: cpu0's agent is global: it busy-polls the wakeup-less queue and commits
A to cpu1 and B to cpu2, never a task to cpu0 (C waits). CFS task X wakes on
cpu0: the agent is rescheduled with BOOST_PRIO, pings cpu1's agent (which
preempts A: TASK_PREEMPT) and yields cpu0 to X. cpu1's agent is now global and
schedules the rest (cpu0 once X is done).
Reference: docs/GHOST-SEMANTICS.md §9.8, §6.5; paper §3.3.`)
}
