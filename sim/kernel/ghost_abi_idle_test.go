package kernel

import (
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// TestCommitIdleGtid drives _ghost_commit_txn's handling of the IDLE gtid
// (and the NULL gtid beside it) one transaction at a time, straight
// through commitTxn, on CPUs in known states: cpu1 idle, cpu2 running the
// CFS task X, cpu3 running the ghOSt task A. Upstream `next` is the idle
// task for IDLE (NULL for NULL), so IDLE is checked like a task:
// validate_next_offcpu fails it TARGET_ONCPU on a CPU already running
// idle unless ALLOW_TASK_ONCPU; DO_NOT_PREEMPT and ghost_can_schedule
// (CPU_UNAVAIL) apply to it; and with ALLOW_TASK_ONCPU on an idle CPU it
// takes the already-on-CPU path: no agent-barrier increment, no
// reschedule, only the run flags (NEED_CPU_NOT_IDLE) latched. NULL is not
// checked for DO_NOT_PREEMPT (`next && (run_flags & DO_NOT_PREEMPT)`).
//
// Reference: google/ghost-kernel kernel/sched/ghost.c _ghost_commit_txn,
// validate_next_offcpu, ghost_can_schedule; docs/GHOST-SEMANTICS.md §3.7.
func TestCommitIdleGtid(t *testing.T) {
	type result struct {
		state   TxnState
		resched bool
		barrier uint32 // the target's agent barrier after the commit, less before
	}
	cases := []struct {
		name string
		cpu  int
		tx   Txn
		want result
	}{
		{"IDLE to idle cpu1", 1, Txn{Gtid: GtidIdle}, result{TxnTargetOnCPU, false, 0}},
		{"IDLE+ALLOW_TASK_ONCPU to idle cpu1", 1, Txn{Gtid: GtidIdle, CommitFlags: AllowTaskOnCPU, RunFlags: RunNeedCPUNotIdle}, result{TxnComplete, false, 0}},
		{"NULL to idle cpu1", 1, Txn{Gtid: GtidNull}, result{TxnComplete, true, 1}},
		{"IDLE to cpu2 (CFS X runs)", 2, Txn{Gtid: GtidIdle}, result{TxnCPUUnavail, false, 0}},
		{"IDLE+ALLOW_TASK_ONCPU to cpu2 (CFS X runs)", 2, Txn{Gtid: GtidIdle, CommitFlags: AllowTaskOnCPU}, result{TxnCPUUnavail, false, 0}},
		{"IDLE+DO_NOT_PREEMPT to cpu3 (ghOSt A runs)", 3, Txn{Gtid: GtidIdle, RunFlags: RunDoNotPreempt}, result{TxnAgentStale, false, 0}},
		{"NULL+DO_NOT_PREEMPT to cpu3 (ghOSt A runs)", 3, Txn{Gtid: GtidNull, RunFlags: RunDoNotPreempt}, result{TxnComplete, true, 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newScenario(t, "skylake112", SetOf(0, 1, 2, 3), EnclaveConfig{})
			q, _ := s.e.CreateQueue(64)
			q.SetDefault()
			s.agents("ag", func(a *sagent) { a.idle() })
			X := s.cfs("X", 2, func(th *Thread) { th.Run(sim.Ms(1)) })
			A := s.ghost("A", 3, func(th *Thread) { th.Run(sim.Ms(1)) })
			var got result
			s.at(sim.Us(5), "", func() {
				k := s.k
				c := &k.cpus[3]
				// Put A on cpu3 as a commit would have.
				c.g.txn = Txn{State: TxnState(0), CPU: 3, Gtid: A.Gtid(), TaskBarrier: A.g.sw.Barrier, CommitFlags: CommitAtTxnCommit}
				if st, _ := k.commitTxn(0, 3, s.e.Agent(0), false, false); st != TxnComplete {
					t.Fatalf("committing A to cpu3: %v", st)
				}
				k.resched(3)
			})
			s.at(sim.Us(10), "", func() {
				k := s.k
				if k.Current(1) != nil || k.Current(2) != X || k.Current(3) != A {
					t.Fatalf("cpu1..3 run %v, %v, %v; want idle, X, A", k.Current(1), k.Current(2), k.Current(3))
				}
				c := &k.cpus[tc.cpu]
				before := c.g.agentBarrier
				tx := tc.tx
				tx.State, tx.CPU = TxnState(0), tc.cpu // claimed by cpu0's agent
				tx.CommitFlags |= CommitAtTxnCommit
				c.g.txn = tx
				got.state, got.resched = k.commitTxn(0, tc.cpu, s.e.Agent(0), false, false)
				got.barrier = c.g.agentBarrier - before
				if got.state == TxnComplete && tx.RunFlags&RunNeedCPUNotIdle != 0 && c.g.runFlags&RunNeedCPUNotIdle == 0 {
					t.Errorf("NEED_CPU_NOT_IDLE not latched on cpu%d", tc.cpu)
				}
			})
			s.run(sim.Us(20))
			if got != tc.want {
				t.Errorf("got %v resched=%v barrier+%d, want %v resched=%v barrier+%d",
					got.state, got.resched, got.barrier, tc.want.state, tc.want.resched, tc.want.barrier)
			}
		})
	}
}
