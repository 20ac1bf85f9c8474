// Package lifo is an example of a ghOSt policy written outside the
// project's policies/, as a user's module would write one, using only the
// public API: sim/agent for the policy and ghosttest (in lifo_test.go) to
// check it. It is a centralized LIFO: the global agent runs the most
// recently woken task first (a task that yields goes under all the
// others), on the idle CPU nearest where it last ran.
//
// Importing the package registers the policy as "example-lifo"; a program
// that also imports the ghostsim packages runs it like any built-in one.
package lifo

import "github.com/ghostsim/ghostsim/sim/agent"

func init() {
	agent.Register("example-lifo", "example: a centralized LIFO with topology-aware placement (examples/lifo)", New)
}

// task embeds agent.Task: gtid, seqnum, its run state, the CPU it runs on
// and its place in the stack.
type task struct {
	agent.Task
	last int // where it last ran, -1 for never
}

type policy struct {
	enc   *agent.Enclave
	loop  *agent.CentralLoop[task]
	stack agent.RunQueue[*task] // a FIFO with the top (newest) at the front
	cpus  agent.CPUs[*task]     // the task committed to each CPU
	round agent.Round[*task]    // the transactions of one round, reused
}

// New makes the library's centralized loop (its channel, polled by the
// global agent and the enclave's default, and its task table) and the
// policy's state.
func New(s *agent.Setup) (agent.Policy, error) {
	loop, err := agent.NewCentralLoop(s, func(agent.Gtid) *task { return &task{last: -1} })
	if err != nil {
		return nil, err
	}
	return &policy{enc: s.Enclave, loop: loop, cpus: agent.NewCPUs[*task](s.Enclave.Topology().NumCPUs())}, nil
}

// Run is every agent thread's body: the library's global-agent loop, with
// the library's message handling (agent.Queueing: each message checked
// against the task's state, as upstream's FifoTaskState checks; the CPU
// table kept; blocked, dead and departed tasks out of the stack).
func (p *policy) Run(a *agent.Agent) {
	p.loop.Run(a, agent.NewQueueing(a, "example-lifo", p, &p.cpus), p)
}

// Enqueue is where a task that became runnable goes (agent.Queue): on
// top, except a task that yielded, which goes under all the others: a
// yield asks to let them run (a LIFO that put it on top would starve the
// rest, which ghosttest's churn scenario catches).
func (p *policy) Enqueue(a *agent.Agent, t *task, m agent.Message, c agent.Cause) {
	if c == agent.CauseYield {
		p.stack.Push(a, t)
	} else {
		p.stack.PushFront(a, t)
	}
}

// Schedule gives each idle CPU the newest runnable task, nearest its last
// CPU (agent.Topology.NearestIn), in one group commit.
func (p *policy) Schedule(a *agent.Agent) int {
	if p.stack.Len() == 0 {
		return 0
	}
	idle := a.AvailCPUs(p.loop.Targets().AndNot(p.cpus.Busy())) // not those a CFS task holds
	p.round.Start()
	for p.stack.Len() > 0 && !idle.Empty() {
		t, _ := p.stack.Pop(a)
		cpu := idle.First()
		if t.last >= 0 {
			cpu, _, _ = p.enc.Topology().NearestIn(t.last, idle)
		}
		idle.Remove(cpu)
		p.round.Run(a, cpu, t)
	}
	return p.round.Commit(a, "example-lifo", func(t *task, cpu int, ok bool) {
		if !ok {
			p.stack.PushFront(a, t) // stale or busy: next round
			return
		}
		p.cpus.Assign(cpu, t, a.Now())
		t.last = cpu
	})
}

// NextWake: only a message frees a CPU or queues a task.
func (p *policy) NextWake(agent.Time) agent.Time { return agent.Never }
