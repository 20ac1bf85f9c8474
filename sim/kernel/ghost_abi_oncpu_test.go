package kernel

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// TestAllowTaskOnCPUDisplacesLatch: a commit of the task already running
// on the target (ALLOW_TASK_ONCPU) while another task is latched there
// (committed, the target not yet rescheduled) takes the already-on-CPU
// path, which recreates the state right after the running task got on
// the CPU with ghost_set_pnt_state(rq, NULL, ...): the latched task loses
// its latch with TASK_PREEMPT(was_latched), as any displaced latch does,
// instead of being dropped without a message (and stranded, since the
// agent believes it latched). Likewise for IDLE on an idle CPU with a
// latch pending.
//
// Reference: google/ghost-kernel kernel/sched/ghost.c _ghost_commit_txn
// ("'next' is already oncpu but a different task may be latched"),
// ghost_set_pnt_state, ghost_latched_task_preempted.
func TestAllowTaskOnCPUDisplacesLatch(t *testing.T) {
	for _, idle := range []bool{false, true} {
		t.Run(fmt.Sprintf("idle=%v", idle), func(t *testing.T) {
			s := newScenario(t, "skylake112", SetOf(0, 1), EnclaveConfig{})
			q, _ := s.e.CreateQueue(64)
			q.SetDefault()
			s.agents("ag", func(a *sagent) { a.idle() })
			T := s.ghost("T", 0, func(th *Thread) { th.Run(sim.Us(50)) })
			U := s.ghost("U", 0, func(th *Thread) { th.Run(sim.Us(5)) })
			k := s.k
			commit := func(tx Txn) TxnState {
				tx.State, tx.CPU = TxnState(0), 1 // claimed by cpu0's agent
				tx.CommitFlags |= CommitAtTxnCommit
				k.cpus[1].g.txn = tx
				st, _ := k.commitTxn(0, 1, s.e.Agent(0), false, false)
				return st
			}
			if !idle {
				s.at(sim.Us(5), "", func() {
					if st := commit(Txn{Gtid: T.Gtid(), TaskBarrier: T.g.sw.Barrier}); st != TxnComplete {
						t.Fatalf("T to cpu1: %v", st)
					}
					k.resched(1)
				})
			}
			s.at(sim.Us(10), "", func() {
				want := T
				if idle {
					want = nil
				}
				if cur := k.Current(1); cur != want {
					t.Fatalf("cpu1 runs %v, want %v", cur, want)
				}
				// U latched on cpu1; in the same event, before cpu1
				// reschedules, the running T (or IDLE) again.
				if st := commit(Txn{Gtid: U.Gtid(), TaskBarrier: U.g.sw.Barrier}); st != TxnComplete {
					t.Fatalf("U to cpu1: %v", st)
				}
				again := Txn{Gtid: T.Gtid(), TaskBarrier: T.g.sw.Barrier, CommitFlags: AllowTaskOnCPU}
				if idle {
					again = Txn{Gtid: GtidIdle, CommitFlags: AllowTaskOnCPU}
				}
				if st := commit(again); st != TxnComplete {
					t.Fatalf("%d to cpu1 with ALLOW_TASK_ONCPU: %v", again.Gtid, st)
				}
				if k.cpus[1].g.latched != nil {
					t.Errorf("cpu1 still has %v latched", k.cpus[1].g.latched)
				}
			})
			s.run(sim.Us(12))
			n := 0
			for _, l := range s.lines {
				if strings.Contains(l, " post ") && strings.Contains(l, "MSG_TASK_PREEMPT gtid="+fmt.Sprint(U.Gtid())) && strings.Contains(l, "was_latched") {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d TASK_PREEMPT(was_latched) for U, want 1:\n%s", n, strings.Join(s.lines, "\n"))
			}
		})
	}
}
