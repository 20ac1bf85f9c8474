package kernel

import (
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// Scenarios of what the kernel does on its own, with no commit: the
// tick's messages (docs/GHOST-SEMANTICS.md §9.14), whose agent routes its
// own CPU's messages and keeps the messages it queues. Where a waking task
// is queued (§9.9) and what a full queue drops (§9.13) are scripts
// (testdata/scripts/9.9-*.txt, 9.13-*.txt).

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
