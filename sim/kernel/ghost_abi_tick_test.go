package kernel

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// TestCommitAtTickControl sets commit_at_tick against a control without
// it. A greedy transaction the agent opens and never submits is taken:
//
//   - on a target running a task, at the target's next tick, with or
//     without the tunable: the tick interrupts user mode, and every return
//     to user mode commits the CPU's greedy transaction
//     (exit_to_user_mode_prepare -> ghost_commit_greedy_txn);
//   - on an idle target that does not tick (NO_HZ), only with the tunable:
//     the tick of any CPU of the enclave commits its own greedy
//     transaction and kicks every other CPU with one
//     (tick_handler -> ghost_commit_all_greedy_txns), here the agent's CPU;
//     without it the transaction waits (an idle CPU's interrupts return to
//     the kernel, not to user mode).
//
// Reference: google/ghost-kernel kernel/entry/common.c
// exit_to_user_mode_prepare; kernel/sched/ghost.c tick_handler,
// ghost_commit_all_greedy_txns; docs/GHOST-SEMANTICS.md §3.6.
func TestCommitAtTickControl(t *testing.T) {
	for _, tc := range []struct {
		tunable, busy bool
		want          sim.Time // when A's transaction commits on cpu1 (-1: not by the end)
	}{
		{tunable: true, busy: true, want: sim.Ms(1)},
		{tunable: false, busy: true, want: sim.Ms(1)},
		{tunable: true, busy: false, want: sim.Ms(1)},
		{tunable: false, busy: false, want: -1},
	} {
		t.Run(fmt.Sprintf("commit_at_tick=%v,target busy=%v", tc.tunable, tc.busy), func(t *testing.T) {
			s := newScenario(t, "skylake112", SetOf(0, 1, 2), EnclaveConfig{CommitAtTick: tc.tunable})
			q, _ := s.e.CreateQueue(64)
			q.SetDefault()
			var A, B *Task
			s.agents("ag", func(a *sagent) {
				if a.CPU() != 0 {
					a.idle()
					return
				}
				a.Run(sim.Us(10))
				if tc.busy {
					a.commit(1, Txn{Gtid: B.Gtid(), TaskBarrier: a.seq(B.Gtid()), CommitFlags: CommitAtTxnCommit})
				}
				a.Run(sim.Us(10))
				a.open(1, Txn{Gtid: A.Gtid(), TaskBarrier: a.seq(A.Gtid())}) // greedy, never submitted
				a.Run(sim.Ms(2))                                             // cpu0 keeps ticking
				a.idle()
			})
			// A waits on cpu2's run queue: cpu2 ticks (an idle CPU with
			// ghOSt tasks queued keeps its tick), cpu1 does not while idle.
			A = s.ghost("A", 2, func(th *Thread) { th.Run(sim.Us(5)) })
			if tc.busy {
				B = s.ghost("B", 1, func(th *Thread) { th.Run(sim.Ms(3)) })
			}
			s.run(sim.Us(1500))
			if testing.Verbose() {
				for _, l := range s.lines {
					t.Log(l)
				}
			}
			got := sim.Time(-1)
			for _, c := range s.commits {
				if c.cpu == 1 && c.gtid == A.Gtid() {
					got = c.at
					break
				}
			}
			// A tick at 1ms, plus a line transfer or an IPI's flight.
			if (tc.want < 0) != (got < 0) || (got >= 0 && (got < tc.want || got > tc.want+sim.Us(5))) {
				t.Errorf("A's transaction committed on cpu1 at %v, want %v (-1: not by 1.5ms)", got, tc.want)
			}
			if st := s.k.cpus[1].g.txn.State; got >= 0 && st != TxnComplete {
				t.Errorf("A's transaction ended %v, want TXN_COMPLETE", st)
			}
		})
	}
}

// TestTickCommitInAgentContext: a tick that finds the CPU's agent running
// commits the greedy transaction on its return to user mode, but does not
// reschedule (_ghost_commit_txn: an asynchronous commit in agent context
// leaves resched false, agents having absolute priority): the latched task
// waits for the agent to block and then runs. Rescheduling at once would
// have the running agent displace the new latch (PREEMPT(was_latched)).
//
// Reference: google/ghost-kernel kernel/sched/ghost.c _ghost_commit_txn
// ("asynchronously committed in agent context"), pick_next_ghost_agent.
func TestTickCommitInAgentContext(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1), EnclaveConfig{})
	q, _ := s.e.CreateQueue(64)
	q.SetDefault()
	var A *Task
	s.agents("ag", func(a *sagent) {
		if a.CPU() == 1 {
			a.Run(sim.Us(1500)) // busy through cpu1's tick at 1ms
			a.idle()
			return
		}
		a.Run(sim.Us(10))
		a.open(1, Txn{Gtid: A.Gtid(), TaskBarrier: a.seq(A.Gtid())}) // greedy, never submitted
		a.idle()
	})
	A = s.ghost("A", 0, func(th *Thread) { th.Run(sim.Us(5)) })
	s.run(sim.Ms(2))
	s.wantDead(ClassGhost, A)
	commit := s.commitAt(1, A.Gtid(), 0)
	if commit < sim.Ms(1) || commit > sim.Ms(1)+sim.Us(5) {
		t.Errorf("A committed on cpu1 at %v, want at its tick (1ms)", commit)
	}
	if in := s.switchAt(1, A, 0); in < sim.Us(1500) {
		t.Errorf("A switched in on cpu1 at %v, before the agent blocked (1.5ms)", in)
	}
	for _, l := range s.lines {
		if strings.Contains(l, "was_latched") {
			t.Errorf("the latch was displaced: %s", l)
		}
	}
}
