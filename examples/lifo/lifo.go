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

type task struct {
	agent.Task
	cpu, last int // where it runs and where it last ran, -1 for none
	queued    bool
}

type policy struct {
	enc    *agent.Enclave
	global *agent.Global
	loop   agent.CentralLoop[task]
	stack  agent.FIFO[*task] // the top (newest) at the front

	running []*task // by CPU
	reqs    []*agent.RunRequest
	picked  []*task
}

// New makes the policy's channel (polled by the global agent, the
// enclave's default) and its state.
func New(s *agent.Setup) (agent.Policy, error) {
	ch, err := s.Enclave.MakeChannel(s.Params.QueueElems)
	if err != nil {
		return nil, err
	}
	ch.SetEnclaveDefault()
	p := &policy{enc: s.Enclave, global: agent.NewGlobal(s.Enclave, s.Params.GlobalCPU),
		running: make([]*task, s.Enclave.Topology().NumCPUs())}
	d := agent.NewDispatcher(func(agent.Gtid) *task { return &task{cpu: -1, last: -1} }, func(t *task) *agent.Task { return &t.Task })
	p.loop = agent.CentralLoop[task]{Global: p.global, Channel: ch, Dispatcher: d}
	return p, nil
}

// Run is every agent thread's body: the library's global-agent loop.
func (p *policy) Run(a *agent.Agent) { p.loop.Run(a, &handler{p: p}, p) }

type handler struct {
	p *policy
}

func (h *handler) TaskNew(t *task, m agent.Message) {
	if m.Runnable {
		h.p.push(t)
	}
}
func (h *handler) TaskRunnable(t *task, m agent.Message)  { h.p.push(t) }
func (h *handler) TaskBlocked(t *task, m agent.Message)   { h.p.off(t) }
func (h *handler) TaskPreempted(t *task, m agent.Message) { h.p.off(t); h.p.push(t) }
func (h *handler) TaskYield(t *task, m agent.Message)     { h.p.off(t); h.p.pushBottom(t) }
func (h *handler) TaskDead(t *task, m agent.Message)      { h.p.forget(t) }
func (h *handler) TaskDeparted(t *task, m agent.Message)  { h.p.forget(t) }

func (p *policy) push(t *task) {
	if !t.queued {
		p.stack.PushFront(t)
		t.queued = true
	}
}

// pushBottom queues a task that yielded under all the others: a yield
// asks to let them run (a LIFO that put it on top would starve the rest,
// which ghosttest's churn scenario catches).
func (p *policy) pushBottom(t *task) {
	if !t.queued {
		p.stack.PushBack(t)
		t.queued = true
	}
}

func (p *policy) off(t *task) {
	if t.cpu >= 0 && p.running[t.cpu] == t {
		p.running[t.cpu] = nil
	}
	t.cpu = -1
}

func (p *policy) forget(t *task) {
	p.off(t)
	p.stack.Remove(t)
	t.queued = false
}

// Schedule gives each idle CPU the newest runnable task, nearest its last
// CPU (agent.Topology.NearestIn), in one group commit.
func (p *policy) Schedule(a *agent.Agent) int {
	if p.stack.Len() == 0 {
		return 0
	}
	var idle agent.CPUSet
	cpus := p.enc.CPUs()
	for cpu := cpus.First(); cpu >= 0; cpu = cpus.Next(cpu + 1) {
		if cpu != p.global.CPU() && p.running[cpu] == nil {
			idle.Add(cpu)
		}
	}
	idle = a.AvailCPUs(idle) // not those a CFS task holds
	p.reqs, p.picked = p.reqs[:0], p.picked[:0]
	for p.stack.Len() > 0 && !idle.Empty() {
		t, _ := p.stack.PopFront()
		t.queued = false
		cpu := idle.First()
		if t.last >= 0 {
			cpu, _, _ = p.enc.Topology().NearestIn(t.last, idle)
		}
		idle.Remove(cpu)
		r := a.RunRequest(cpu)
		r.Open(agent.RunRequestOptions{Target: t.Gtid, TargetBarrier: t.Seqnum, CommitFlags: agent.CommitAtTxnCommit})
		p.reqs, p.picked = append(p.reqs, r), append(p.picked, t)
	}
	a.CommitGroup("example-lifo", p.reqs, func(i int, ok bool) {
		t, cpu := p.picked[i], p.reqs[i].CPU()
		if !ok {
			p.push(t) // stale or busy: next round
			return
		}
		t.cpu, t.last, p.running[cpu] = cpu, cpu, t
	})
	return len(p.reqs)
}

// NextWake: only a message frees a CPU or queues a task.
func (p *policy) NextWake(agent.Time) agent.Time { return agent.Never }
