// Package shinjuku is the paper's ghOSt-Shinjuku policy (§4.2,
// "ghost-shinjuku") and its Shenango extension
// ("ghost-shinjuku-shenango").
//
// ghost-shinjuku: one global agent, starting on Params.GlobalCPU, polls
// one channel and schedules every other CPU of the enclave from a FIFO of
// runnable tasks, with group commits as fifo-central does. A task that
// has run for Params.TimeSliceUs (30 µs in Fig 6) while others wait is
// preempted and goes to the BACK of the FIFO, as the paper describes.
// Upstream's agent (ghost-userspace schedulers/shinjuku) does not elide
// the kernel's TASK_PREEMPT for its own preemptions and its TaskPreempted
// moves the task to the front (docs/GHOST-SEMANTICS.md §7.4); here the agent
// requeues the preempted task at the back itself and a later PREEMPT for
// a task already queued leaves it where it is. New and woken tasks also go
// to the back (a FIFO of requests, as in Shinjuku's dispatcher); upstream
// puts wakeups in front.
//
// ghost-shinjuku-shenango adds the paper's Shenango-style sharing with a
// batch app: tasks at nice 19 are batch (there is no PrioTable in the
// simulator; nice is what a ghOSt agent learns of a task from TASK_NEW and
// TASK_PRIORITY_CHANGED), every other task is latency-critical. Batch
// tasks run only on CPUs no latency-critical task wants: a latency-
// critical task that becomes runnable takes an idle CPU if there is one,
// else displaces a batch task at once. Batch tasks run until they block
// or are displaced (no slice among themselves: a batch app needs no µs
// round robin, and rotating it would only load the agent).
//
// Upstream's PrioTable (work classes, QoS, idle sched items) and its
// repeatable tasks are left out: the RocksDB harness marks a worker
// runnable exactly when it has a request, which the kernel's own
// BLOCKED/WAKEUP already tell.
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
