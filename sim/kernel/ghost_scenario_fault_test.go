package kernel

import (
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// Scenarios of agent faults: a hung agent and the watchdog, an agent
// crash in the middle of a commit, enclave isolation, and a killed agent
// process (docs/GHOST-SEMANTICS.md §9.10: no agent, no execution).

// TestScenarioWatchdog: an agent process that stops scheduling (hung)
// leaves runnable ghOSt tasks waiting; once one has waited longer than
// runnable_timeout, the watchdog (checked at ticks) destroys the enclave
// and every task goes back to CFS and finishes there.
//
// Reference: docs/GHOST-SEMANTICS.md §5.8, §5.7; paper §3.4 "ghOSt watchdog";
// ghost.c check_runnable_timeout.
func TestScenarioWatchdog(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1, 2), EnclaveConfig{RunnableTimeout: sim.Ms(2)})
	q, _ := s.e.CreateQueue(256)
	q.SetDefault()
	p := s.agents("ag", func(a *sagent) {
		if a.CPU() == 0 {
			newFIFO().global(a, q, SetOf(1, 2))
		}
		a.idle()
	})
	var tasks []*Task
	for _, n := range []string{"A", "B", "C"} {
		tasks = append(tasks, s.ghost(n, 0, func(th *Thread) {
			for i := 0; i < 4; i++ {
				th.Run(sim.Us(300))
				th.Sleep(sim.Us(100))
			}
		}))
	}
	s.at(sim.Us(500), "the agent process hangs", p.Hang)
	s.run(sim.Ms(10))
	s.wantDead(ClassCFS, tasks...)
	if n := s.k.Stats().WatchdogDestroys; n != 1 || !s.e.Dying() {
		t.Errorf("%d watchdog destructions (want 1), enclave dying %v", n, s.e.Dying())
	}
	s.check("watchdog", `
The agent process hangs at 500us: nothing schedules ghOSt tasks any more. B has
been runnable on cpu2's queue since 402us (no free CPU), C since 703us on cpu1,
A since 803us on cpu2. At the 3ms ticks (cpu1 first) C has waited over the 2ms
runnable_timeout: the watchdog destroys the enclave, its agents are killed and
every task moves to CFS (DEPARTED into a queue nobody reads), where A, B and C
all finish.
Reference: docs/GHOST-SEMANTICS.md §5.8, §5.7; paper §3.4; ghost.c check_runnable_timeout.`)
}

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

// TestScenarioEnclaveIsolation: two enclaves side by side, each with its
// own agent process and queue. Destroying one moves its tasks to CFS;
// the other's agent keeps scheduling its own tasks, which finish as ghOSt
// tasks.
//
// Reference: paper §3 "Partitioning the machine", §3.4 ("Destroying the
// enclave kills all the agents in that enclave, keeping other enclaves in
// the system intact"); docs/GHOST-SEMANTICS.md §5.2, §5.7.
func TestScenarioEnclaveIsolation(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1), EnclaveConfig{})
	e1 := s.e
	e2, err := s.k.CreateEnclave(SetOf(2, 3), EnclaveConfig{})
	if err != nil {
		t.Fatal(err)
	}
	start := func(e *Enclave, name string) {
		q, _ := e.CreateQueue(256)
		q.SetDefault()
		first := e.CPUs().First()
		s.agentsIn(e, name, func(a *sagent) {
			if a.CPU() == first {
				newFIFO().global(a, q, e.CPUs().AndNot(SetOf(first)))
			}
			a.idle()
		})
	}
	start(e1, "one")
	start(e2, "two")
	prog := func(th *Thread) {
		for i := 0; i < 4; i++ {
			th.Run(sim.Us(10))
			th.Sleep(sim.Us(5))
		}
	}
	var t1, t2 []*Task
	for _, n := range []string{"A", "B"} {
		t1 = append(t1, s.ghostIn(e1, n, 0, prog))
	}
	for _, n := range []string{"X", "Y"} {
		t2 = append(t2, s.ghostIn(e2, n, 2, prog))
	}
	s.at(sim.Us(30), "destroy enclave 0", func() { s.k.DestroyEnclave(e1) })
	s.run(sim.Us(300))
	s.wantDead(ClassCFS, t1...)
	s.wantDead(ClassGhost, t2...)
	later := 0
	for _, r := range s.switches {
		if r.At > sim.Us(30) && r.CPU == 3 && r.Next >= 0 && s.k.tasks[r.Next].class == ClassGhost {
			later++
		}
	}
	if later == 0 {
		t.Errorf("no ghOSt task switched in on enclave 1's cpu3 after enclave 0 was destroyed")
	}
	if e2.Dying() || !s.procs[1].Alive() {
		t.Errorf("enclave 1 dying %v, its agent process alive %v", e2.Dying(), s.procs[1].Alive())
	}
	s.check("enclave-isolation", `
Enclave 0 (cpu0-1, agents "one") and enclave 1 (cpu2-3, agents "two") each run
a global agent on their first CPU scheduling two tasks on the other. Destroying
enclave 0 at 30us kills its agents and moves A and B to CFS (DEPARTED), where
they finish; enclave 1's agent keeps scheduling X and Y on cpu3, and they
finish as ghOSt tasks.
Reference: paper §3, §3.4; docs/GHOST-SEMANTICS.md §5.2, §5.7.`)
}

// TestScenarioNoAgentNoExecution: killing the agent process forces the
// running ghOSt tasks off their CPUs and nothing runs them until a new
// agent process attaches and discovers them (status words, then
// association with its queue using their barriers).
//
// Reference: docs/GHOST-SEMANTICS.md §9.10, §5.5, §5.6; paper §3.4 "Dynamic
// upgrades and rollbacks".
func TestScenarioNoAgentNoExecution(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1, 2), EnclaveConfig{})
	q, _ := s.e.CreateQueue(64)
	q.SetDefault()
	global := func(a *sagent, q *Queue, known []Gtid) { newFIFO().global(a, q, SetOf(1, 2), known...) }
	s.agents("old", func(a *sagent) {
		if a.CPU() == 0 {
			global(a, q, nil)
		}
		a.idle()
	})
	var tasks []*Task
	for _, n := range []string{"A", "B"} {
		tasks = append(tasks, s.ghost(n, 0, func(th *Thread) { th.Run(sim.Us(20)) }))
	}
	s.at(sim.Us(10), "kill the agent process", func() { s.procs[0].Kill(false, nil) })
	s.at(sim.Us(40), "start a new agent process", func() {
		q2, _ := s.e.CreateQueue(64)
		q2.SetDefault()
		s.agents("new", func(a *sagent) {
			if a.CPU() != 0 {
				a.idle()
				return
			}
			var known []Gtid
			for _, sw := range a.Discover() {
				st, err := a.Associate(q2, sw.Gtid, sw.Barrier)
				a.note("discovered gtid=%d barrier=%d runnable=%v; associate: status=%d err=%v", sw.Gtid, sw.Barrier, sw.Runnable(), st, err)
				if err == nil && sw.Runnable() {
					known = append(known, sw.Gtid)
				}
			}
			global(a, q2, known)
		})
	})
	s.run(sim.Us(200))
	s.wantDead(ClassGhost, tasks...)
	for _, r := range s.switches {
		if r.At > sim.Us(10) && r.At < sim.Us(40) && r.Next >= 0 && s.k.tasks[r.Next].class == ClassGhost {
			t.Errorf("ghOSt task %v ran at %v with no agent", s.k.tasks[r.Next], r.At)
		}
	}
	s.check("9.10-no-agent-no-execution", `
§9.10: A and B run on cpu1 and cpu2. Killing the agent process at 10us detaches
every agent; the running ghOSt tasks are forced off (their PREEMPT goes to the
old queue, unread) and no ghOSt task runs while there is no agent. A new agent
process at 40us discovers the tasks from their status words, associates them
with its queue at their barrier and schedules them again; both finish.
Reference: docs/GHOST-SEMANTICS.md §9.10, §5.5, §5.6; paper §3.4.`)
}
