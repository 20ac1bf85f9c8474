// Package fifocentral is the centralized FIFO policy ("fifo-central"):
// one global agent polls one channel and schedules every other CPU of the
// enclave with group commits, as ghost-userspace's
// schedulers/fifo/centralized and the paper's Fig 4. The other agents
// sleep; when CFS wants the global agent's CPU, the role moves (hot
// handoff).
package fifocentral

import (
	"github.com/ghostsim/ghostsim/sim/agent"
)

func init() {
	agent.Register("fifo-central", "one global agent, FIFO runqueue, group commits, hot handoff (paper Fig 4)", New)
}

// Options select variants of the centralized FIFO.
type Options struct {
	// StrictFIFO queues every task at the back: no boost for wakeups,
	// preemptions or failed commits (the round-robin policy of Fig 5).
	StrictFIFO bool
}

// task is the policy's view of a ghOSt task; agent.Task holds its run
// state, its CPU and its place in the runqueue.
type task struct {
	agent.Task
	last      int // where it last ran, -1 before it ever did
	prioBoost bool
	preempted bool
	// The fast path (bpf.go): the CPU whose ring holds its entry (-1:
	// none), the entry's slot and barrier.
	pubCPU     int
	pubSeq     uint64
	pubBarrier uint32
}

type scheduler struct {
	enc   *agent.Enclave
	p     agent.Params
	loop  *agent.CentralLoop[task]
	rq    agent.RunQueue[*task]
	cpus  agent.CPUs[*task] // the task committed to each CPU, and when
	slice agent.Time
	opts  Options
	bpf   *bpfPath // nil without Params.BPF

	// Scratch for one scheduling round.
	round    agent.Round[*task]
	yielding []*task
}

// New makes the global channel: no wakeup (the global agent polls it),
// the enclave's default, so every task's and CPU's messages go there.
func New(s *agent.Setup) (agent.Policy, error) { return NewWith(s, Options{}) }

// NewWith is New with variant options.
func NewWith(s *agent.Setup, opts Options) (agent.Policy, error) {
	loop, err := agent.NewCentralLoop(s, func(agent.Gtid) *task { return &task{last: -1, pubCPU: -1} })
	if err != nil {
		return nil, err
	}
	sc := &scheduler{
		enc: s.Enclave, p: s.Params, loop: loop,
		rq:    agent.RunQueue[*task]{Costs: agent.QueueCosts{Push: s.Params.ContainerOpCycles, Pop: s.Params.ContainerOpCycles}},
		cpus:  agent.NewCPUs[*task](s.Enclave.Topology().NumCPUs()),
		slice: s.Params.TimeSlice(),
		opts:  opts,
	}
	if s.Params.BPF {
		if sc.bpf, err = newBPFPath(sc); err != nil {
			return nil, err
		}
	}
	return sc, nil
}

// handler is the library's message handling (agent.Queueing) plus the
// fast path's TASK_ON_CPU (bpf.go).
type handler struct {
	*agent.Queueing[task, *task]
	s *scheduler
}

// Enqueue (agent.Queue): a wakeup that is not deferrable is boosted, a
// task that lost its CPU is marked preempted (a task already queued only
// gets the flag, as upstream).
func (s *scheduler) Enqueue(a *agent.Agent, t *task, m agent.Message, c agent.Cause) {
	switch c {
	case agent.CauseWakeup:
		t.prioBoost = !m.Deferrable
	case agent.CausePreempt:
		t.preempted = true
	}
	s.enqueue(a, t)
}

// enqueue: to the front if boosted or preempted, else to the back (a
// queued task stays where it is).
func (s *scheduler) enqueue(a *agent.Agent, t *task) {
	if (t.prioBoost || t.preempted) && !s.opts.StrictFIFO {
		s.rq.PushFront(a, t)
	} else {
		s.rq.Push(a, t)
	}
}
