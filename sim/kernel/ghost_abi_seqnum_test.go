package kernel

import (
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// TestCommitCPUSeqnum pins how a successful commit moves the target CPU's
// cpu_seqnum: ghost_set_pnt_state increments it (a latch, NULL, IDLE, or
// the already-on-CPU path's reset), and _ghost_commit_txn increments it
// again for the transaction's own output (txn->cpu_seqnum =
// ++rq->ghost.cpu_seqnum); a ping (the AGENT gtid) has only the latter, and
// a failure neither.
//
// Reference: google/ghost-kernel kernel/sched/ghost.c _ghost_commit_txn,
// ghost_set_pnt_state.
func TestCommitCPUSeqnum(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1), EnclaveConfig{})
	q, _ := s.e.CreateQueue(64)
	q.SetDefault()
	s.agents("ag", func(a *sagent) { a.idle() })
	T := s.ghost("T", 0, func(th *Thread) { th.Run(sim.Us(50)) })
	k := s.k
	type step struct {
		name  string
		tx    Txn
		delta uint64 // cpu1's cpu_seqnum, after less before
		ok    bool
	}
	var got []string
	s.at(sim.Us(5), "", func() {
		c := &k.cpus[1]
		for _, st := range []step{
			{"T (latched)", Txn{Gtid: T.Gtid(), TaskBarrier: T.g.sw.Barrier}, 2, true},
			{"ping", Txn{Gtid: GtidAgent}, 1, true},
			{"stale T", Txn{Gtid: T.Gtid(), TaskBarrier: T.g.sw.Barrier + 1}, 0, false},
			// NULL displaces the latched T: its PREEMPT(was_latched)
			// takes one more (task_deliver_msg_preempt's ++cpu_seqnum).
			{"NULL", Txn{Gtid: GtidNull}, 3, true},
			{"IDLE+ALLOW_TASK_ONCPU on idle cpu1", Txn{Gtid: GtidIdle, CommitFlags: AllowTaskOnCPU}, 2, true},
		} {
			before := c.g.cpuSeqnum
			tx := st.tx
			tx.State, tx.CPU = TxnState(0), 1
			tx.CommitFlags |= CommitAtTxnCommit
			c.g.txn = tx
			state, _ := k.commitTxn(0, 1, s.e.Agent(0), false, false)
			if (state == TxnComplete) != st.ok || c.g.cpuSeqnum-before != st.delta {
				t.Errorf("%s: %v, cpu_seqnum +%d; want ok=%v, +%d", st.name, state, c.g.cpuSeqnum-before, st.ok, st.delta)
			}
			if st.ok && c.g.txn.CPUSeqnum != c.g.cpuSeqnum {
				t.Errorf("%s: txn cpu_seqnum %d, want the CPU's %d", st.name, c.g.txn.CPUSeqnum, c.g.cpuSeqnum)
			}
			got = append(got, st.name)
		}
	})
	s.run(sim.Us(6))
	if len(got) != 5 {
		t.Fatalf("ran %d steps", len(got))
	}
}
