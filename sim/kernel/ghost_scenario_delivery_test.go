package kernel

import (
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// Scenarios of what the kernel does on its own, with no commit (docs/
// GHOST-SEMANTICS.md §9.9, §9.13, §9.14): where a waking task is queued,
// what a full queue drops, and the tick's messages (see
// ghost_scenario_test.go for §9.1–9.8).

// TestScenarioTasksStayOnLastCPU: a waking ghOSt task is queued on the CPU
// it last ran on (the kernel never load-balances ghOSt tasks); only a
// commit moves it.
//
// Reference: docs/GHOST-SEMANTICS.md §9.9, §6.2; ghost.c select_task_rq_ghost.
func TestScenarioTasksStayOnLastCPU(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1, 2), EnclaveConfig{})
	q, _ := s.e.CreateQueue(64)
	q.SetDefault()
	var A *Task
	s.agents("ag", func(a *sagent) {
		if a.CPU() != 0 {
			a.idle()
			return
		}
		m := a.pollFor(q, MsgTaskNew)
		a.commit(1, Txn{Gtid: m.Gtid, TaskBarrier: m.Seqnum, CommitFlags: CommitAtTxnCommit})
		m = a.pollFor(q, MsgTaskWakeup)
		a.note("WAKEUP: last_ran_cpu=%d wake_up_cpu=%d waker_cpu=%d; A is queued on cpu%d", m.LastRanCPU, m.WakeUpCPU, m.WakerCPU, A.CPU())
		a.Run(sim.Us(20))
		a.note("20us later A is still queued on cpu%d (cpu2 idle all along)", A.CPU())
		a.commit(2, Txn{Gtid: m.Gtid, TaskBarrier: m.Seqnum, CommitFlags: CommitAtTxnCommit})
		a.note("after the commit to cpu2, A is on cpu%d", A.CPU())
		a.pollFor(q, MsgTaskDead)
		a.idle()
	})
	A = s.ghost("A", 1, func(th *Thread) {
		th.Run(sim.Us(2))
		th.Sleep(sim.Us(2))
		th.Run(sim.Us(2))
	})
	s.run(sim.Us(100))
	if A.State() != TaskDead || A.LastCPU() != 2 {
		t.Errorf("A is %v, last on cpu%d; want dead on cpu2", A.State(), A.LastCPU())
	}
	s.check("9.9-tasks-stay-on-last-cpu", `
§9.9: A last ran on cpu1; when it wakes it is queued on cpu1's run queue and
stays there (cpu2 is idle, nothing balances it) until the agent commits it to
cpu2, which moves it.
Reference: docs/GHOST-SEMANTICS.md §9.9, §6.2; ghost.c select_task_rq_ghost.`)
}

// TestScenarioQueueOverflow: a message that does not fit in a full queue
// is dropped (Overflow counts it), but the task barrier still moves, so
// the seqnums an agent sees for a task keep strictly increasing, with a
// gap; the agent recovers the lost state from the status word.
//
// Reference: docs/GHOST-SEMANTICS.md §9.13, §1.1 "Ring buffer layout"; ghost.c
// _produce.
func TestScenarioQueueOverflow(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1), EnclaveConfig{})
	q, _ := s.e.CreateQueue(8) // one TASK_NEW (7 slots) fills it
	q.SetDefault()
	var A *Task
	seen := map[Gtid][]uint32{}
	s.agents("ag", func(a *sagent) {
		if a.CPU() != 0 {
			a.idle()
			return
		}
		consume := func() {
			for _, m := range a.drain(q) {
				seen[m.Gtid] = append(seen[m.Gtid], m.Seqnum)
			}
		}
		a.Poll(q, sim.Never)
		consume()
		a.commit(1, Txn{Gtid: A.Gtid(), TaskBarrier: 1, CommitFlags: CommitAtTxnCommit})
		a.note("busy for 10us without draining the queue")
		a.Run(sim.Us(10))
		consume()
		a.note("queue overflowed %d times: rescan A's status word", q.Overflow())
		sw, _ := a.StatusWord(A.Gtid())
		a.note("A: %s", swFlags(sw))
		a.commit(1, Txn{Gtid: A.Gtid(), TaskBarrier: sw.Barrier, CommitFlags: CommitAtTxnCommit})
		for A.State() != TaskDead {
			a.Poll(q, sim.Never)
			consume()
		}
		a.idle()
	})
	A = s.ghost("A", 1, func(th *Thread) {
		th.Run(sim.Us(2))
		th.Sleep(sim.Us(1))
		th.Run(sim.Us(2))
	})
	s.run(sim.Us(100))
	if q.Overflow() == 0 || A.State() != TaskDead {
		t.Errorf("overflow %d (want > 0), A %v (want dead)", q.Overflow(), A.State())
	}
	for g, seqs := range seen {
		for i := 1; i < len(seqs); i++ {
			if seqs[i] <= seqs[i-1] {
				t.Errorf("gtid %d: seqnums %v do not strictly increase", g, seqs)
			}
		}
	}
	s.check("9.13-queue-overflow", `
§9.13: an 8-slot queue holds one message of 5–7 slots. While the agent does not
drain it, A's BLOCKED fits but its WAKEUP is dropped (overflow), yet A's barrier
moves to 3; the agent recovers A's runnable state from its status word. When A
exits, BLOCKED needs NOP padding to the ring's end and fills it, so DEAD is
dropped too: the agent sees seqnums 1, 2, 4 — strictly increasing, with gaps.
Reference: docs/GHOST-SEMANTICS.md §9.13, §1.1; ghost.c _produce.`)
}

// TestScenarioCPUTick: with deliver_ticks, MSG_CPU_TICK goes to a CPU's
// agent at each tick while a ghOSt task or the agent itself is current —
// preempting the running ghOSt task, as any message for the local agent
// does — and never while the CPU runs CFS or is idle.
//
// Reference: docs/GHOST-SEMANTICS.md §9.14, §6.7, §1.3; ghost.c task_tick_ghost.
func TestScenarioCPUTick(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1), EnclaveConfig{DeliverTicks: true})
	s.e.CreateQueue(64, 0)
	q1, _ := s.e.CreateQueue(64, 1)
	q1.SetDefault()
	var A *Task
	s.agents("ag", func(a *sagent) {
		if a.CPU() != 1 {
			a.idle()
			return
		}
		if _, err := a.Associate(q1, a.Task().Gtid(), a.Barrier()); err != nil {
			panic(err)
		}
		var rq []Message
		for A.State() != TaskDead {
			b := a.Barrier()
			for _, m := range a.drain(q1) {
				if m.Type == MsgTaskNew || m.Type == MsgTaskPreempt {
					rq = append(rq, m)
				}
			}
			if len(rq) > 0 && A.State() != TaskDead {
				m := rq[0]
				if a.commit(1, Txn{Gtid: m.Gtid, TaskBarrier: m.Seqnum, AgentBarrier: b, CommitFlags: CommitAtTxnCommit}) == TxnComplete {
					rq = rq[1:]
				}
				continue
			}
			a.LocalYield(b, 0)
		}
		a.drain(q1)
		a.note("A is dead; the agent computes for 1ms")
		a.Run(sim.Ms(1))
		a.drain(q1)
		a.idle()
	})
	A = s.ghost("A", 1, func(th *Thread) { th.Run(sim.Us(1500)) })
	s.at(sim.Us(2600), "CFS task C wakes on cpu1 for 1.5ms", func() {
		s.cfs("C", 1, func(th *Thread) { th.Run(sim.Us(1500)) })
	})
	s.run(sim.Ms(6))
	s.check("9.14-cpu-tick", `
§9.14: with deliver_ticks, the 1ms tick sends MSG_CPU_TICK to cpu1's agent while
ghOSt task A runs (the agent wakes and A gets TASK_PREEMPT) and while the agent
itself computes (no preemption: the agent is current); none while CFS task C
runs (ticks at 3ms, 4ms) nor while cpu1 idles.
Reference: docs/GHOST-SEMANTICS.md §9.14, §6.7, §1.3; ghost.c task_tick_ghost.`)
}
