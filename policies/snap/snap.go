// Package snap is the ghOSt policy of the paper's §4.3 that replaces
// MicroQuanta for Google Snap's packet-processing workers ("snap"): a
// centralized FIFO. One global agent (agent.CentralLoop, hot handoff when
// CFS wants its CPU) keeps two FIFO runqueues, Snap workers and
// antagonists, and gives workers strict priority: each round it places
// every runnable worker first — on an idle CPU nearest its last one
// (agent.Topology.NearestIn), else over an antagonist, which goes back to
// its queue — then antagonists on the idle CPUs left. It never takes a
// CPU from CFS (a ghOSt commit cannot), and a worker that CFS preempts
// comes back as TASK_PREEMPTED and is placed on another idle CPU at once:
// the relocation the paper credits for ghOSt's lower 64 kB tails.
//
// The policy tells workers from antagonists by the nice value in TASK_NEW
// (ghOSt's TASK_NEW payload carries it): below 0 is a worker. The paper
// does not say how its policy tells them apart; workloads/snap runs its
// workers at nice -10 and the antagonists at nice 19 under both systems.
package snap

import (
	"github.com/ghostsim/ghostsim/sim/agent"
)

func init() {
	agent.Register("snap", "centralized FIFO, Snap workers strictly above antagonists, nearest idle CPU (paper §4.3)", New)
}

// cyclesPerPlacement is the policy's work to place one thread: a
// find-first-set over a 2-word idle mask and the cache-distance walk of
// NearestIn, charged per CPU considered (L1-resident bit tests, 4 cycles
// each, as policies/search; an estimate).
const cyclesPerCPUConsidered = 4

// task is the policy's view of a thread; agent.Task holds its run state,
// the CPU it was committed to and its place in its queue.
type task struct {
	agent.Task
	worker    bool
	last      int // where it last ran (-1: never)
	preempted bool
}

type scheduler struct {
	enc                       *agent.Enclave
	topo                      *agent.Topology
	p                         agent.Params
	loop                      *agent.CentralLoop[task]
	workers                   agent.RunQueue[*task]
	ants                      agent.RunQueue[*task]
	cpus                      agent.CPUs[*task] // the thread committed to each CPU
	stats                     *agent.Stats
	cOverAnt, cMoved, cFailed int

	retry bool
	// Scratch for one round.
	round   agent.Round[*task]
	skipped []*task
}

// New makes the global channel (the enclave's default, polled by the
// global agent).
func New(s *agent.Setup) (agent.Policy, error) {
	loop, err := agent.NewCentralLoop(s, func(agent.Gtid) *task { return &task{last: -1} })
	if err != nil {
		return nil, err
	}
	n := s.Enclave.Topology().NumCPUs()
	sc := &scheduler{enc: s.Enclave, topo: s.Enclave.Topology(), p: s.Params, loop: loop, cpus: agent.NewCPUs[*task](n), stats: agent.NewStats()}
	loop.MsgCycles, loop.Stats = s.Params.ContainerOpCycles, sc.stats
	// Pushes are charged, pops are not (as this policy always charged).
	sc.workers.Costs = agent.QueueCosts{Push: s.Params.ContainerOpCycles}
	sc.ants.Costs = sc.workers.Costs
	sc.cOverAnt = sc.stats.Counter("worker_over_antagonist")
	sc.cMoved = sc.stats.Counter("worker_moved")
	sc.cFailed = sc.stats.Counter("commit_failed")
	return sc, nil
}

// Stats returns the policy's counters and loop times.
func (s *scheduler) Stats() *agent.Stats { return s.stats }

// Run is every agent thread's loop.
func (s *scheduler) Run(a *agent.Agent) {
	s.loop.Run(a, &handler{agent.NewQueueing(a, "snap", s, &s.cpus), s}, s)
}

// NextWake: look again soon when a round left work that CFS or an
// in-flight message held back; otherwise only a message can help.
func (s *scheduler) NextWake(now agent.Time) agent.Time {
	if s.retry {
		return now + agent.Retry
	}
	return agent.Never
}

// handler is the library's message handling (agent.Queueing) with the
// thread's kind read from TASK_NEW and its moves counted.
type handler struct {
	*agent.Queueing[task, *task]
	s *scheduler
}

func (h *handler) TaskNew(t *task, m agent.Message) {
	t.worker = m.Nice < 0
	h.Queueing.TaskNew(t, m)
}

// TaskPreempted: CFS (or a worker, for an antagonist) took its CPU; it
// goes back at the front of its queue and is placed again this round. An
// antagonist a worker displaced is still OnCPU until this message.
func (h *handler) TaskPreempted(t *task, m agent.Message) {
	if t.worker && t.CPU() >= 0 {
		h.s.stats.Add(h.s.cMoved, 1)
	}
	h.Queueing.TaskPreempted(t, m)
}

// Enqueue (agent.Queue): a preempted thread goes to the front.
func (s *scheduler) Enqueue(a *agent.Agent, t *task, m agent.Message, c agent.Cause) {
	if c == agent.CausePreempt {
		t.preempted = true
	}
	s.enqueue(a, t)
}

func (s *scheduler) queue(t *task) *agent.RunQueue[*task] {
	if t.worker {
		return &s.workers
	}
	return &s.ants
}

// enqueue: a preempted thread to the front of its queue, others to the
// back; a queued thread stays where it is, and keeps its flag.
func (s *scheduler) enqueue(a *agent.Agent, t *task) {
	if t.Queued() {
		return
	}
	if t.preempted {
		s.queue(t).PushFront(a, t)
	} else {
		s.queue(t).Push(a, t)
	}
	t.preempted = false
}

// Schedule is one round: workers on idle CPUs or over antagonists, then
// antagonists on the idle CPUs left; one group commit.
func (s *scheduler) Schedule(a *agent.Agent) int {
	s.retry = false
	if s.workers.Len() == 0 && s.ants.Len() == 0 {
		return 0
	}
	var free, antCPUs agent.CPUSet
	set := s.loop.Targets()
	for cpu := set.First(); cpu >= 0; cpu = set.Next(cpu + 1) {
		switch cur := s.cpus.Of(cpu); {
		case cur == nil:
			free.Add(cpu)
		case !cur.worker:
			antCPUs.Add(cpu)
		}
	}
	idle := a.AvailCPUs(free)
	antCPUs = a.AvailCPUs(antCPUs)
	if idle != free && s.workers.Len()+s.ants.Len() > 0 {
		s.retry = true // CFS may give CPUs back without a message
	}
	s.round.Start()
	s.skipped = s.skipped[:0]
	// Threads still getting off a CPU, or with a message in flight, sit
	// out the round (skipped).
	for s.workers.Len() > 0 && !(idle.Empty() && antCPUs.Empty()) {
		t, ok := s.workers.PopRunnable(a, &s.skipped, nil)
		if !ok {
			break
		}
		pool := &idle
		if idle.Empty() {
			pool = &antCPUs
			s.stats.Add(s.cOverAnt, 1)
		}
		s.open(a, t, pool)
	}
	for s.ants.Len() > 0 && !idle.Empty() {
		t, ok := s.ants.PopRunnable(a, &s.skipped, nil)
		if !ok {
			break
		}
		s.open(a, t, &idle)
	}
	if len(s.skipped) > 0 {
		s.retry = true
	}
	for _, t := range s.skipped {
		t.preempted = true // keep its place
		s.enqueue(a, t)
	}
	return s.round.Commit(a, "snap", func(t *task, cpu int, ok bool) {
		if !ok {
			s.stats.Add(s.cFailed, 1)
			t.preempted = true
			s.enqueue(a, t)
			s.retry = true
			return
		}
		s.cpus.Assign(cpu, t, a.Now()) // an antagonist displaced: its PREEMPT requeues it
		t.last = cpu
	})
}

// open places t on the CPU of pool nearest its last CPU and opens the
// transaction.
func (s *scheduler) open(a *agent.Agent, t *task, pool *agent.CPUSet) {
	cpu := pool.First()
	considered := 1
	if t.last >= 0 {
		cpu, _, considered = s.topo.NearestIn(t.last, *pool)
	}
	a.ChargeCycles(cyclesPerCPUConsidered * int64(considered))
	s.round.Run(a, cpu, t)
	pool.Remove(cpu)
}
