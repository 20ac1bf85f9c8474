package kernel

import (
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// The scenarios of docs/GHOST-SEMANTICS.md §9, one per point, are scripts
// (testdata/scripts/9.*.txt, ghost_script_test.go) but for those that
// need Go: §9.8 here, whose global agent is an algorithm of its own;
// §9.14 (ghost_scenario_delivery_test.go); §9.15 and the group commit to
// idle targets (ghost_scenario_commit_test.go), which check times against
// the machine's costs. Each compares the trace with
// testdata/ghost/<name>.txt (see ghost_scenario_harness_test.go).

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
