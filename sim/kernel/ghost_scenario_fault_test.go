package kernel

import (
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// Scenarios of agent faults: an agent crash in the middle of a commit
// (killed from the trace's commit callback). A hung agent and the
// watchdog, enclave isolation and a killed agent process (§9.10) are
// scripts (testdata/scripts/watchdog.txt, enclave-isolation.txt,
// 9.10-*.txt).

// TestScenarioCrashMidCommit: the agent process dies while its global
// agent is inside a group commit ioctl, after the first transaction
// latched and before the others and the IPIs. No task is lost: the
// latched one gets PREEMPT(was_latched), the claimed-but-uncommitted
// transactions die with NO_AGENT, and every task later runs to completion,
// under a new agent process (upgrade) or under CFS after the enclave is
// destroyed.
//
// Reference: docs/GHOST-SEMANTICS.md §5.5 (agent exit), §5.6, §5.7, §3.6;
// paper §3.4 "Fault Isolation and Dynamic Upgrades".
func TestScenarioCrashMidCommit(t *testing.T) {
	for _, then := range []string{"upgrade", "destroy"} {
		t.Run(then, func(t *testing.T) {
			s := newScenario(t, "skylake112", SetOf(0, 1, 2, 3), EnclaveConfig{})
			q, _ := s.e.CreateQueue(256)
			q.SetDefault()
			var tasks []*Task
			p := s.agents("old", func(a *sagent) {
				if a.CPU() != 0 {
					a.idle()
					return
				}
				for len(a.drain(q)) < 3 {
					a.Poll(q, sim.Never)
				}
				for i, x := range tasks {
					a.open(i+1, Txn{Gtid: x.Gtid(), TaskBarrier: 1, CommitFlags: CommitAtTxnCommit})
				}
				// Kill the process 10ns after the first transaction latched,
				// while the ioctl works on the second.
				s.onCommit = func(r commitRecord) {
					if r.gtid == tasks[0].Gtid() && r.state == TxnComplete && s.onCommit != nil {
						s.onCommit = nil
						s.at(r.at+sim.Ns(10), "the agent process crashes inside its commit ioctl", func() { s.procs[0].Kill(true, nil) })
					}
				}
				a.Commit(SetOf(1, 2, 3))
				panic("the commit ioctl returned to a dead agent")
			})
			s.crashOK[p] = true
			for _, n := range []string{"A", "B", "C"} {
				tasks = append(tasks, s.ghost(n, 0, func(th *Thread) { th.Run(sim.Us(10)) }))
			}
			switch then {
			case "upgrade":
				s.at(sim.Us(20), "start a new agent process", func() {
					q2, _ := s.e.CreateQueue(256)
					q2.SetDefault()
					s.agents("new", func(a *sagent) {
						if a.CPU() != 0 {
							a.idle()
							return
						}
						var known []Gtid
						for _, sw := range a.Discover() {
							if _, err := a.Associate(q2, sw.Gtid, sw.Barrier); err == nil && sw.Runnable() {
								known = append(known, sw.Gtid)
							}
						}
						newFIFO().global(a, q2, SetOf(1, 2, 3), known...)
					})
				})
			case "destroy":
				s.at(sim.Us(20), "destroy the enclave", func() { s.k.DestroyEnclave(s.e) })
			}
			s.run(sim.Us(200))
			want := ClassGhost
			if then == "destroy" {
				want = ClassCFS
			}
			for _, x := range tasks {
				if x.State() != TaskDead || x.Class() != want {
					t.Errorf("%v is %v in %v, want dead in %v", x, x.State(), x.Class(), want)
				}
			}
			if s.k.Stats().AgentCrashes != 1 {
				t.Errorf("%d agent crashes, want 1", s.k.Stats().AgentCrashes)
			}
			s.check("crash-mid-commit-"+then, `
The global agent commits A, B, C to cpu1-3 in one ioctl; its process is killed
right after A latched on cpu1, with B's and C's transactions claimed but not
committed and no IPI sent. A's latch is dropped with PREEMPT(was_latched); the
other two transactions end NO_AGENT; nothing runs while there is no agent.
Then (`+then+`) every task runs to completion: a new agent process discovers
them and schedules them, or the enclave is destroyed and they run under CFS.
Reference: docs/GHOST-SEMANTICS.md §5.5, §5.6, §5.7, §3.6; paper §3.4.`)
		})
	}
}
