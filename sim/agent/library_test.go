package agent_test

import (
	"sync"
	"testing"

	"github.com/ghostsim/ghostsim/ghosttest"
	"github.com/ghostsim/ghostsim/sim/agent"
)

// libTask is the task of the library-only test policies.
type libTask struct {
	agent.Task
	runtime agent.Time
}

// libPolicy is a centralized policy written only with the library's
// pieces — NewCentralLoop, RunQueue (a FIFO, or a heap by runtime),
// CPUs, PopRunnable and Round — and the state checks on every message.
type libPolicy struct {
	enc   *agent.Enclave
	loop  *agent.CentralLoop[libTask]
	rq    agent.RunQueue[*libTask]
	cpus  agent.CPUs[*libTask]
	round agent.Round[*libTask]
	aside []*libTask
}

type libHandler struct {
	p *libPolicy
	a *agent.Agent
}

func (h *libHandler) TaskNew(t *libTask, m agent.Message) {
	if m.Runnable {
		h.p.rq.Push(h.a, t)
	}
}

func (h *libHandler) TaskRunnable(t *libTask, m agent.Message) {
	t.Expect("lib", "TASK_WAKEUP", agent.Blocked)
	h.p.rq.Push(h.a, t)
}

func (h *libHandler) TaskBlocked(t *libTask, m agent.Message) {
	t.Expect("lib", "TASK_BLOCKED", agent.OnCPU, agent.Queued)
	h.p.cpus.Clear(t)
	h.p.rq.Remove(h.a, t)
	t.State, t.runtime = agent.Blocked, m.Runtime
}

func (h *libHandler) TaskPreempted(t *libTask, m agent.Message) {
	t.Expect("lib", "TASK_PREEMPT", agent.OnCPU, agent.Queued)
	h.p.cpus.Clear(t)
	t.runtime = m.Runtime
	h.p.rq.Push(h.a, t)
}

func (h *libHandler) TaskYield(t *libTask, m agent.Message) {
	t.Expect("lib", "TASK_YIELD", agent.OnCPU, agent.Queued)
	h.p.cpus.Clear(t)
	t.runtime = m.Runtime
	h.p.rq.Push(h.a, t)
}

func (h *libHandler) TaskDead(t *libTask, m agent.Message) {
	t.Expect("lib", "TASK_DEAD", agent.Blocked)
	h.p.rq.Remove(h.a, t)
}

func (h *libHandler) TaskDeparted(t *libTask, m agent.Message) {
	h.p.cpus.Clear(t)
	h.p.rq.Remove(h.a, t)
}

func (p *libPolicy) Run(a *agent.Agent) { p.loop.Run(a, &libHandler{p: p, a: a}, p) }

// Schedule gives every idle CPU the first task that can run now; the tasks
// set aside go back to their places after the round.
func (p *libPolicy) Schedule(a *agent.Agent) int {
	p.round.Start()
	p.aside = p.aside[:0]
	idle := a.AvailCPUs(p.enc.CPUs().AndNot(p.cpus.Busy()))
	idle.Remove(p.loop.Global.CPU())
	for cpu := idle.First(); cpu >= 0; cpu = idle.Next(cpu + 1) {
		t, ok := p.rq.PopRunnable(a, &p.aside, nil)
		if !ok {
			break
		}
		p.round.Run(a, cpu, t)
	}
	n := p.round.Commit(a, "lib", func(t *libTask, cpu int, ok bool) {
		if !ok {
			p.rq.Requeue(a, t)
			return
		}
		if prev := p.cpus.Assign(cpu, t, a.Now()); prev != nil {
			panic("lib: committed to a busy CPU")
		}
	})
	for i := len(p.aside) - 1; i >= 0; i-- {
		p.rq.Requeue(a, p.aside[i])
	}
	return n
}

// NextWake: look again soon while tasks sit aside (no message may come
// for a task still getting off its CPU).
func (p *libPolicy) NextWake(now agent.Time) agent.Time {
	if len(p.aside) > 0 {
		return now + agent.Microsecond
	}
	return agent.Never
}

var registerLibOnce sync.Once

// TestLibraryPolicies runs policies made only of the library's pieces on
// every ghosttest scenario, with the kernel's invariant checker on: they
// must lose no task, crash no agent (a state check that fails is a
// crash) and leave no task waiting.
func TestLibraryPolicies(t *testing.T) {
	registerLibOnce.Do(func() {
		for _, heap := range []bool{false, true} {
			name := "lib-fifo"
			if heap {
				name = "lib-heap"
			}
			agent.Register(name, "test: a centralized policy of library pieces only", func(s *agent.Setup) (agent.Policy, error) {
				loop, err := agent.NewCentralLoop(s, func(agent.Gtid) *libTask { return &libTask{} })
				if err != nil {
					return nil, err
				}
				c := s.Params.ContainerOpCycles
				p := &libPolicy{enc: s.Enclave, loop: loop, cpus: agent.NewCPUs[*libTask](s.Enclave.Topology().NumCPUs())}
				p.rq.Costs = agent.QueueCosts{Push: c, Pop: c, Remove: c}
				if heap {
					p.rq.Key = func(t *libTask) int64 { return int64(t.runtime) }
				}
				return p, nil
			})
		}
	})
	for _, policy := range []string{"lib-fifo", "lib-heap"} {
		for _, sc := range ghosttest.Scenarios() {
			t.Run(policy+"/"+sc.Name, func(t *testing.T) {
				ghosttest.Run(t, policy, sc.Name).RequireNoLostTasks()
			})
		}
	}
}
