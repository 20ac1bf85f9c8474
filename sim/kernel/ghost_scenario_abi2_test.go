package kernel

import (
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// More scenarios for ABI elements the §9 checklist does not pin (see
// ghost_scenario_abi_test.go and the kernel README's table "Every ABI
// element"): the RTLA run flags, which count the agent's wakeups with and
// without the flag. CPU availability messages, COMMIT_AT_SCHEDULE,
// SEND_TASK_ON_CPU, commit_at_tick and wake_on_waker_cpu are scripts
// (testdata/scripts/).

// rtlaScenario commits ghOSt task A to cpu1 from cpu0's agent with run
// flags rf; A then does what ev says (CFS task C preempts it, it blocks,
// it yields) on a polling queue that wakes no agent. It returns the
// scenario and how many times cpu1's agent woke.
func rtlaScenario(t *testing.T, rf RunFlags, ev string) (*scenario, int) {
	s := newScenario(t, "skylake112", SetOf(0, 1), EnclaveConfig{})
	q, _ := s.e.CreateQueue(64)
	q.SetDefault()
	var A *Task
	wakes := 0
	s.agents("ag", func(a *sagent) {
		if a.CPU() == 1 {
			for !a.Finished() {
				a.sleep()
				wakes++
				a.note("cpu1's agent runs")
			}
			return
		}
		a.pollFor(q, MsgTaskNew)
		a.note("commit A to cpu1 with run flags %#x", uint32(rf))
		a.commit(1, Txn{Gtid: A.Gtid(), TaskBarrier: a.seq(A.Gtid()), RunFlags: rf, CommitFlags: CommitAtTxnCommit})
		a.Run(sim.Us(40))
		a.drain(q)
		a.idle()
	})
	A = s.ghost("A", 1, func(th *Thread) {
		th.Run(sim.Us(5))
		switch ev {
		case "block":
			th.Block()
		case "yield":
			th.Yield()
		}
		th.Run(sim.Us(5))
	})
	if ev == "preempt" {
		s.at(sim.Us(4), "CFS task C wakes on cpu1", func() { s.cfs("C", 1, func(th *Thread) { th.Run(sim.Us(3)) }) })
	}
	s.run(sim.Us(100))
	return s, wakes
}

// TestScenarioRTLA: RTLA_ON_PREEMPT, RTLA_ON_BLOCKED and RTLA_ON_YIELD
// keep applying to the latched task after its pick: when it is preempted,
// blocks or yields, the CPU's own agent is scheduled although the message
// goes to a queue that wakes nobody; RTLA_ON_IDLE runs the agent instead of
// idle once the CPU has nothing else. Without the flag the agent sleeps on.
//
// Reference: docs/GHOST-SEMANTICS.md §3.3; ghost.c ghost_task_preempted,
// ghost_task_blocked, ghost_task_yield (rq->ghost.run_flags &
// RTLA_ON_*: schedule_agent), _pick_next_task_ghost (RTLA_ON_IDLE).
func TestScenarioRTLA(t *testing.T) {
	for _, c := range []struct {
		name, ev string
		rf       RunFlags
		doc      string
	}{
		{"rtla-on-preempt", "preempt", RunRTLAOnPreempt, `
A is committed to cpu1 with RTLA_ON_PREEMPT on a polling queue (it wakes no
agent). CFS task C preempts A: TASK_PREEMPT(A) is produced and cpu1's own agent
is scheduled (it runs before C, boosted), although no queue wakes it.
Reference: docs/GHOST-SEMANTICS.md §3.3, §6.3; ghost.c ghost_task_preempted.`},
		{"rtla-on-blocked", "block", RunRTLAOnBlocked, `
A is committed to cpu1 with RTLA_ON_BLOCKED on a polling queue (it wakes no
agent). A blocks: TASK_BLOCKED(A) is produced and cpu1's own agent is scheduled
although no queue wakes it.
Reference: docs/GHOST-SEMANTICS.md §3.3; ghost.c ghost_task_blocked.`},
		{"rtla-on-yield", "yield", RunRTLAOnYield, `
A is committed to cpu1 with RTLA_ON_YIELD on a polling queue (it wakes no
agent). A yields: TASK_YIELD(A) is produced and cpu1's own agent is scheduled
although no queue wakes it; A stays runnable, unscheduled.
Reference: docs/GHOST-SEMANTICS.md §3.3; ghost.c ghost_task_yield.`},
		{"rtla-on-idle", "block", RunRTLAOnIdle, `
A is committed to cpu1 with RTLA_ON_IDLE on a polling queue (it wakes no agent).
A blocks and cpu1 has nothing else to run: the agent runs instead of idle.
Reference: docs/GHOST-SEMANTICS.md §3.3, §6.5; ghost.c _pick_next_task_ghost.`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, n := rtlaScenario(t, 0, c.ev); n != 0 {
				t.Errorf("without the flag cpu1's agent woke %d times, want 0", n)
			}
			s, n := rtlaScenario(t, c.rf, c.ev)
			if n != 1 {
				t.Errorf("with the flag cpu1's agent woke %d times, want 1", n)
			}
			s.check(c.name, c.doc)
		})
	}
}
