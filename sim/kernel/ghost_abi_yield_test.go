package kernel

import (
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// TestLocalYieldRelatches: an agent's local yield (GHOST_IOC_RUN with the
// NULL gtid) re-latches whatever a remote agent latched on its CPU
// meanwhile, with the yield's run flags: ghost_run calls
// ghost_set_pnt_state(rq, rq->ghost.latched_task, run_flags), so the
// latched task keeps its latch but loses the run flags it was committed
// with, and the CPU's cpu_seqnum moves by one.
//
// Reference: google/ghost-kernel kernel/sched/ghost.c ghost_run,
// ghost_set_pnt_state.
func TestLocalYieldRelatches(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1), EnclaveConfig{})
	q, _ := s.e.CreateQueue(64)
	q.SetDefault()
	s.agents("ag", func(a *sagent) {
		if a.CPU() == 1 {
			a.Run(sim.Us(10)) // running while cpu0's agent latches X here
			b := a.Barrier()
			if err := a.LocalYield(b, 0); err != nil {
				a.note("LocalYield: %v", err)
			}
		}
		a.idle()
	})
	X := s.ghost("X", 0, func(th *Thread) { th.Run(sim.Us(20)) })
	k := s.k
	c := &k.cpus[1]
	var seq uint64
	s.at(sim.Us(5), "", func() {
		c.g.txn = Txn{State: TxnState(0), CPU: 1, Gtid: X.Gtid(), TaskBarrier: X.g.sw.Barrier,
			RunFlags: RunRTLAOnPreempt, CommitFlags: CommitAtTxnCommit | ElideAgentBarrierInc}
		if st, _ := k.commitTxn(0, 1, s.e.Agent(0), false, false); st != TxnComplete {
			t.Fatalf("X to cpu1: %v", st)
		}
		// No reschedule: cpu1's agent runs on and yields at 10us.
		seq = c.g.cpuSeqnum
	})
	// Step to the yield: once cpu1's agent is off its CPU (blocked in
	// run), X is latched or running there.
	s.run(sim.Us(6))
	for k.Current(1) == s.e.Agent(1) && s.k.Now() < sim.Us(30) {
		s.run(s.k.Now() + sim.Ns(10))
	}
	flags, seqAfter, latched := c.g.runFlags, c.g.cpuSeqnum, c.g.latched
	if flags&RunRTLAOnPreempt != 0 {
		t.Errorf("after the yield cpu1's run flags are %#x; want the yield's (0), not X's RTLA_ON_PREEMPT", flags)
	}
	if seqAfter != seq+1 {
		t.Errorf("cpu_seqnum %d after the yield, want %d (+1)", seqAfter, seq+1)
	}
	if latched != X && k.Current(1) != X {
		t.Errorf("X neither latched nor running on cpu1 (latched %v, current %v)", latched, k.Current(1))
	}
}
