package kernel

import (
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// Scenarios of an enclave's lifetime: an ephemeral enclave dies with the
// last open fd of its ctl file, so an agent crash with no successor
// falls back to CFS, while an in-place upgrade (whose new process opens
// the enclave before the old one dies) keeps it; a persistent enclave
// outlives its agents.
//
// Reference: docs/GHOST-SEMANTICS.md §5.1 (ctl "create ... ephemeral"), §5.6,
// §5.7; paper §3.1 ("if one or several of the agents crash, the system
// will fall back to the default scheduler") and §3.4.

// ephemeralScenario starts a global FIFO agent process ("old") on cpu0 of
// an enclave of cpu0-2 and three ghOSt tasks that run 300us and sleep
// 100us four times.
func ephemeralScenario(t *testing.T, ephemeral bool) (*scenario, *AgentProcess, []*Task) {
	s := newScenario(t, "skylake112", SetOf(0, 1, 2), EnclaveConfig{Ephemeral: ephemeral})
	q, _ := s.e.CreateQueue(256)
	q.SetDefault()
	p := s.agents("old", func(a *sagent) {
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
	return s, p, tasks
}

// TestScenarioEphemeralCrash: the agent process of an ephemeral enclave
// crashes and nothing else holds the enclave open: its ctl fd's last
// close destroys the enclave (the workqueue tears it down at once), every
// task moves to CFS with DEPARTED and finishes there. The same crash in a
// persistent enclave leaves the tasks in ghOSt, runnable and never
// picked: without a watchdog they never finish.
func TestScenarioEphemeralCrash(t *testing.T) {
	s, p, tasks := ephemeralScenario(t, true)
	s.crashOK[p] = true
	s.at(sim.Us(500), "the agent process crashes", func() { p.Kill(true, nil) })
	s.run(sim.Ms(10))
	s.wantDead(ClassCFS, tasks...)
	cause, at := s.e.Destroyed()
	if cause != DestroyOwnerExit || at != sim.Us(500) || s.k.Stats().EnclaveDestroys != 1 || s.k.Stats().AgentCrashes != 1 {
		t.Errorf("destroyed by %q at %v, %d destroys, %d crashes; want owner_exit at 500us, 1, 1",
			cause, at, s.k.Stats().EnclaveDestroys, s.k.Stats().AgentCrashes)
	}
	if _, err := s.e.StartAgents("late", func(*AgentThread) {}); err == nil {
		t.Errorf("agents started on a destroyed enclave")
	}
	s.check("ephemeral-crash", `
An ephemeral enclave (cpu0-2): the global agent on cpu0 runs A, B and C on
cpu1-2. Its process crashes at 500us, while C and A run and B waits (woken at
402us, not yet committed). The process held the only open fd of the enclave's
ctl file, so the enclave is marked dying and its destruction queued. C and A
lose their CPUs to the agents' exit (PREEMPT: no agent, no ghOSt task runs);
then the workqueue moves all three runnable tasks to CFS (DEPARTED into a
queue nobody reads), where they finish, spread over cpu1-3 by CFS.
Reference: docs/GHOST-SEMANTICS.md §5.1, §5.7; paper §3.1, §3.4.`)

	t.Run("persistent", func(t *testing.T) {
		s, p, tasks := ephemeralScenario(t, false)
		s.crashOK[p] = true
		s.at(sim.Us(500), "the agent process crashes", func() { p.Kill(true, nil) })
		s.run(sim.Ms(10))
		if s.e.Dying() || s.k.Stats().EnclaveDestroys != 0 {
			t.Errorf("persistent enclave dying %v after its agent crashed, %d destroys", s.e.Dying(), s.k.Stats().EnclaveDestroys)
		}
		for _, x := range tasks {
			if x.State() == TaskDead || x.Class() != ClassGhost {
				t.Errorf("%v is %v in %v; want stranded in ghost", x, x.State(), x.Class())
			}
		}
	})
}

// TestScenarioEphemeralUpgrade: an in-place upgrade of an ephemeral
// enclave's agent. The new process opens the enclave's ctl before the
// old one is killed, so the old process's close is not the last and the
// enclave lives through the blackout; the new process attaches, discovers
// the tasks and schedules them to completion. It then closes the fd it
// opened first: it still holds its own.
func TestScenarioEphemeralUpgrade(t *testing.T) {
	s, p, tasks := ephemeralScenario(t, true)
	var ctl *Ctl
	s.at(sim.Us(500), "the new agent process opens the enclave; the old one is killed", func() {
		var err error
		if ctl, err = s.e.OpenCtl(); err != nil {
			t.Fatal(err)
		}
		p.Kill(false, nil)
	})
	s.at(sim.Us(520), "the new agent process starts", func() {
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
			newFIFO().global(a, q2, SetOf(1, 2), known...)
		})
		ctl.Close()
	})
	s.run(sim.Ms(10))
	s.wantDead(ClassGhost, tasks...)
	if s.e.Dying() || s.k.Stats().EnclaveDestroys != 0 {
		t.Errorf("enclave dying %v, %d destroys; want it alive through the upgrade", s.e.Dying(), s.k.Stats().EnclaveDestroys)
	}
	s.check("ephemeral-upgrade", `
An ephemeral enclave (cpu0-2) whose global agent runs A, B and C on cpu1-2.
At 500us an upgrade: the new agent process opens the enclave's ctl file, then
the old process is killed; its fd is not the last, so the enclave lives.
Nothing runs A, B or C while no agent is attached. At 520us the new process
attaches, discovers the three tasks from their status words and schedules
them to completion as ghOSt tasks.
Reference: docs/GHOST-SEMANTICS.md §5.6, §5.1; paper §3.4 "Dynamic Upgrades".`)
}
