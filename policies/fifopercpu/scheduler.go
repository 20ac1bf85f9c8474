// Package fifopercpu is the per-CPU FIFO policy ("fifo-percpu"): one agent
// per CPU, each scheduling its own CPU with local blocking commits, as
// ghost-userspace's schedulers/fifo/per_cpu and the paper's Fig 3.
package fifopercpu

import (
	"github.com/ghostsim/ghostsim/sim/agent"
)

func init() {
	agent.Register("fifo-percpu", "per-CPU FIFO agents with local blocking commits (paper Fig 3)", New)
}

// task is the policy's view of a ghOSt task.
type task struct {
	agent.Task
	cpu       int // the CPU it is assigned to, -1 before placement
	queued    bool
	prioBoost bool
}

// scheduler is shared by the process's agent threads (like upstream's
// FifoScheduler, whose per-CPU state is indexed by CPU).
type scheduler struct {
	enc        *agent.Enclave
	p          agent.Params
	chans      []*agent.Channel // by CPU
	def        *agent.Channel
	d          *agent.Dispatcher[task]
	rq         []agent.FIFO[*task] // by CPU
	current    []*task             // by CPU
	cpus       []int
	next       int // round-robin placement
	discovered bool
}

// New makes the per-CPU channels (each waking its own CPU's agent) and
// takes the first as the enclave's default, where TASK_NEW arrives.
func New(s *agent.Setup) (agent.Policy, error) {
	n := s.Enclave.Topology().NumCPUs()
	sc := &scheduler{
		enc: s.Enclave, p: s.Params,
		chans: make([]*agent.Channel, n), rq: make([]agent.FIFO[*task], n), current: make([]*task, n),
	}
	set := s.Enclave.CPUs()
	for c := set.First(); c >= 0; c = set.Next(c + 1) {
		ch, err := s.Enclave.MakeChannel(s.Params.QueueElems, c)
		if err != nil {
			return nil, err
		}
		sc.chans[c] = ch
		sc.cpus = append(sc.cpus, c)
	}
	sc.def = sc.chans[sc.cpus[0]]
	sc.def.SetEnclaveDefault()
	sc.d = agent.NewDispatcher(func(g agent.Gtid) *task { return &task{cpu: -1} }, func(t *task) *agent.Task { return &t.Task })
	return sc, nil
}

// handler binds message callbacks to the agent that drains them.
type handler struct {
	s *scheduler
	a *agent.Agent
}

func (h handler) TaskNew(t *task, m agent.Message) {
	if m.Runnable {
		h.s.place(h.a, t)
	}
}

// TaskRunnable (MSG_TASK_WAKEUP): a task placed before goes back on its
// CPU's runqueue; a task never placed gets a CPU now.
func (h handler) TaskRunnable(t *task, m agent.Message) {
	t.prioBoost = !m.Deferrable
	if t.cpu < 0 {
		h.s.place(h.a, t)
		return
	}
	h.s.enqueue(h.a, t)
}

func (h handler) TaskBlocked(t *task, m agent.Message) { h.s.offCPU(t) }

func (h handler) TaskPreempted(t *task, m agent.Message) {
	h.s.offCPU(t)
	t.prioBoost = true
	h.s.enqueue(h.a, t)
}

func (h handler) TaskYield(t *task, m agent.Message) {
	h.s.offCPU(t)
	h.s.enqueue(h.a, t)
}

func (h handler) TaskDead(t *task, m agent.Message) { h.s.remove(t) }

func (h handler) TaskDeparted(t *task, m agent.Message) { h.s.remove(t) }

func (s *scheduler) offCPU(t *task) {
	if t.cpu >= 0 && s.current[t.cpu] == t {
		s.current[t.cpu] = nil
	}
}

func (s *scheduler) remove(t *task) {
	s.offCPU(t)
	if t.queued && t.cpu >= 0 {
		s.rq[t.cpu].Remove(t)
		t.queued = false
	}
}

// enqueue puts t on its CPU's runqueue: boosted tasks (preempted, woken)
// at the front.
func (s *scheduler) enqueue(a *agent.Agent, t *task) {
	if t.queued {
		return
	}
	a.ChargeCycles(s.p.ContainerOpCycles)
	if t.prioBoost {
		s.rq[t.cpu].PushFront(t)
	} else {
		s.rq[t.cpu].PushBack(t)
	}
	t.queued = true
}

// place assigns a CPU round-robin (AssignCpu) and migrates the task there:
// associate it with that CPU's channel, queue it, ping that agent. Tasks
// never move again.
func (s *scheduler) place(a *agent.Agent, t *task) {
	cpu := s.cpus[s.next%len(s.cpus)]
	s.next++
	t.cpu = cpu
	if _, err := s.chans[cpu].AssociateTask(a, t.Gtid, t.Seqnum); err != nil {
		// A message is on its way to the old channel (ESTALE): it will
		// arrive there, and the task is placed then.
		t.cpu = -1
		return
	}
	s.enqueue(a, t)
	if cpu != a.CPU().ID {
		a.Ping(cpu)
	}
}
