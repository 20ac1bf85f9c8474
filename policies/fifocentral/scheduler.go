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

type task struct {
	agent.Task
	state     agent.RunState
	cpu       int // where it runs, -1 when not on a CPU
	last      int // where it last ran, -1 before it ever did
	queued    bool
	prioBoost bool
	preempted bool
	// The fast path (bpf.go): the CPU whose ring holds its entry (-1:
	// none), the entry's slot and barrier.
	pubCPU     int
	pubSeq     uint64
	pubBarrier uint32
}

type scheduler struct {
	enc     *agent.Enclave
	p       agent.Params
	ch      *agent.Channel
	d       *agent.Dispatcher[task]
	global  *agent.Global
	rq      agent.FIFO[*task]
	current []*task      // by CPU
	since   []agent.Time // by CPU: when its current task was committed
	slice   agent.Time
	opts    Options

	loop agent.CentralLoop[task]
	bpf  *bpfPath // nil without Params.BPF

	// Scratch for one scheduling round.
	reqs     []*agent.RunRequest
	assigned []*task
	yielding []*task
}

// New makes the global channel: no wakeup (the global agent polls it),
// the enclave's default, so every task's and CPU's messages go there.
func New(s *agent.Setup) (agent.Policy, error) { return NewWith(s, Options{}) }

// NewWith is New with variant options.
func NewWith(s *agent.Setup, opts Options) (agent.Policy, error) {
	ch, err := s.Enclave.MakeChannel(s.Params.QueueElems)
	if err != nil {
		return nil, err
	}
	ch.SetEnclaveDefault()
	n := s.Enclave.Topology().NumCPUs()
	sc := &scheduler{
		enc: s.Enclave, p: s.Params, ch: ch,
		global:  agent.NewGlobal(s.Enclave, s.Params.GlobalCPU),
		current: make([]*task, n), since: make([]agent.Time, n),
		slice: s.Params.TimeSlice(),
		opts:  opts,
	}
	sc.d = agent.NewDispatcher(func(agent.Gtid) *task { return &task{cpu: -1, last: -1, pubCPU: -1} }, func(t *task) *agent.Task { return &t.Task })
	if s.Params.BPF {
		b, err := newBPFPath(sc)
		if err != nil {
			return nil, err
		}
		sc.bpf = b
	}
	sc.loop = agent.CentralLoop[task]{Global: sc.global, Channel: ch, Dispatcher: sc.d}
	return sc, nil
}

type handler struct {
	s *scheduler
	a *agent.Agent
}

func (h handler) TaskNew(t *task, m agent.Message) {
	if m.Runnable {
		h.s.enqueue(h.a, t)
	}
}

func (h handler) TaskRunnable(t *task, m agent.Message) {
	t.state.Expect("fifo-central", "TASK_WAKEUP", t.Gtid, agent.Blocked)
	t.prioBoost = !m.Deferrable
	h.s.enqueue(h.a, t)
}

// TaskBlocked: usually on its CPU; queued when a slice-expiry commit put
// it back in the FIFO as it blocked (it leaves the FIFO then).
func (h handler) TaskBlocked(t *task, m agent.Message) {
	t.state.Expect("fifo-central", "TASK_BLOCKED", t.Gtid, agent.OnCPU, agent.Queued)
	h.s.remove(t)
	t.state = agent.Blocked
}

// TaskPreempted: a task already queued only gets the flag (upstream);
// otherwise it goes back at the front.
func (h handler) TaskPreempted(t *task, m agent.Message) {
	t.state.Expect("fifo-central", "TASK_PREEMPT", t.Gtid, agent.OnCPU, agent.Queued)
	h.s.offCPU(t)
	t.preempted = true
	h.s.enqueue(h.a, t)
}

func (h handler) TaskYield(t *task, m agent.Message) {
	t.state.Expect("fifo-central", "TASK_YIELD", t.Gtid, agent.OnCPU, agent.Queued)
	h.s.offCPU(t)
	h.s.enqueue(h.a, t)
}

// TaskDead: a dying task blocks first (its BLOCKED came before).
func (h handler) TaskDead(t *task, m agent.Message) {
	t.state.Expect("fifo-central", "TASK_DEAD", t.Gtid, agent.Blocked)
	h.s.remove(t)
}

func (h handler) TaskDeparted(t *task, m agent.Message) { h.s.remove(t) }

func (s *scheduler) offCPU(t *task) {
	if t.cpu >= 0 && s.current[t.cpu] == t {
		s.current[t.cpu] = nil
	}
	t.cpu = -1
}

func (s *scheduler) remove(t *task) {
	s.offCPU(t)
	if t.queued {
		s.rq.Remove(t)
		t.queued = false
	}
}

// enqueue: to the front if boosted or preempted, else to the back.
func (s *scheduler) enqueue(a *agent.Agent, t *task) {
	if t.queued {
		return
	}
	a.ChargeCycles(s.p.ContainerOpCycles)
	if (t.prioBoost || t.preempted) && !s.opts.StrictFIFO {
		s.rq.PushFront(t)
	} else {
		s.rq.PushBack(t)
	}
	t.queued = true
	t.state = agent.Queued
}
