// Package shinjuku is the paper's ghOSt-Shinjuku policy (§4.2,
// "ghost-shinjuku") and its Shenango extension
// ("ghost-shinjuku-shenango"): one global agent (agent.CentralLoop)
// schedules every other CPU of the enclave from a FIFO of runnable tasks
// with group commits. A task that has run for Params.TimeSliceUs (30 µs
// in Fig 6) while others wait is preempted to the BACK of the FIFO, as
// the paper describes; new and woken tasks go to the back too. The
// Shenango variant makes nice-19 tasks a batch class that runs only on
// CPUs no other task wants. README.md compares both with upstream's
// schedulers/shinjuku point by point, with what is left out and why.
package shinjuku

import (
	"github.com/ghostsim/ghostsim/sim/agent"
)

func init() {
	agent.Register("ghost-shinjuku",
		"paper §4.2 Shinjuku: global agent, FIFO, preempt after time_slice_us to the back of the queue",
		New)
	agent.Register("ghost-shinjuku-shenango",
		"ghost-shinjuku plus Shenango-style sharing: nice-19 tasks (batch) get only CPUs no other task wants",
		NewShenango)
}

// Options select the variant.
type Options struct {
	// Shenango treats nice-19 tasks as a batch class below every other.
	Shenango bool
}

// BatchNice is the nice value that marks a batch task in the Shenango
// variant.
const BatchNice = 19

// Priority classes of the runqueues, highest first.
const (
	classLC    = 0 // latency-critical (all tasks without Shenango)
	classBatch = 1
	numClasses = 2
)

// task is the policy's view of a ghOSt task; agent.Task holds its run
// state, its CPU and its place in a runqueue.
type task struct {
	agent.Task
	class int
}

type scheduler struct {
	enc   *agent.Enclave
	p     agent.Params
	opts  Options
	loop  *agent.CentralLoop[task]
	rq    [numClasses]agent.RunQueue[*task]
	cpus  agent.CPUs[*task] // the task committed to each CPU, and when
	slice agent.Time

	// Scratch for one scheduling round.
	round   agent.Round[*task]
	skipped []*task
}

// New builds ghost-shinjuku.
func New(s *agent.Setup) (agent.Policy, error) { return NewWith(s, Options{}) }

// NewShenango builds ghost-shinjuku-shenango.
func NewShenango(s *agent.Setup) (agent.Policy, error) {
	return NewWith(s, Options{Shenango: true})
}

// NewWith builds the policy with opts. Its one channel is the enclave's
// default and wakes no agent: the global agent polls it.
func NewWith(s *agent.Setup, opts Options) (agent.Policy, error) {
	loop, err := agent.NewCentralLoop(s, func(agent.Gtid) *task { return &task{} })
	if err != nil {
		return nil, err
	}
	sc := &scheduler{
		enc: s.Enclave, p: s.Params, opts: opts, loop: loop,
		cpus:  agent.NewCPUs[*task](s.Enclave.Topology().NumCPUs()),
		slice: s.Params.TimeSlice(),
	}
	for c := range sc.rq {
		sc.rq[c].Costs = agent.QueueCosts{Push: s.Params.ContainerOpCycles, Pop: s.Params.ContainerOpCycles}
	}
	return sc, nil
}

// classOf maps a nice value to a priority class.
func (s *scheduler) classOf(nice int) int {
	if s.opts.Shenango && nice >= BatchNice {
		return classBatch
	}
	return classLC
}

// handler is the library's message handling (agent.Queueing) with the
// class read from TASK_NEW and TASK_PRIORITY_CHANGED.
type handler struct {
	*agent.Queueing[task, *task]
	s *scheduler
}

func (h handler) TaskNew(t *task, m agent.Message) {
	t.class = h.s.classOf(m.Nice)
	h.Queueing.TaskNew(t, m)
}

func (h handler) TaskPriorityChanged(t *task, m agent.Message) {
	c := h.s.classOf(m.Nice)
	if c == t.class {
		return
	}
	queued := h.s.rq[t.class].Remove(h.Agent, t)
	t.class = c
	if queued {
		h.s.enqueue(h.Agent, t, false)
	}
}

// Enqueue (agent.Queue): a task that lost its CPU to something else (a
// CFS task, an agent) goes first, as upstream does; one the agent
// preempted is already at the back and stays there. Every other task
// goes to the back.
func (s *scheduler) Enqueue(a *agent.Agent, t *task, m agent.Message, c agent.Cause) {
	s.enqueue(a, t, c == agent.CausePreempt)
}

// enqueue puts t at the back of its class's FIFO, or at the front (a
// queued task stays where it is).
func (s *scheduler) enqueue(a *agent.Agent, t *task, front bool) {
	if front {
		s.rq[t.class].PushFront(a, t)
	} else {
		s.rq[t.class].Push(a, t)
	}
}

// waiting returns the best class with a queued task, or -1.
func (s *scheduler) waiting() int {
	for c := range s.rq {
		if s.rq[c].Len() > 0 {
			return c
		}
	}
	return -1
}
