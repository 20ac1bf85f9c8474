package search

import (
	"github.com/ghostsim/ghostsim/sim/agent"
)

func init() {
	agent.Register("search", "one global agent, least-runtime-first heap, NUMA/CCX placement with hold-back (paper §4.4)", New)
}

// cyclesPerCPUConsidered is the policy's work per CPU a placement search
// looks at: a test of one bit of the idle map, L1-resident, and a branch
// (one 4-cycle L1 load, [AT-ROME]). An estimate: the paper gives only the
// heuristics' size (57 lines), not their cost.
const cyclesPerCPUConsidered = 4

// thread is the policy's state of one ghOSt thread; agent.Task holds its
// run state, the CPU it was committed to and its place in the heap.
type thread struct {
	agent.Task
	// runtime is the thread's elapsed CPU time, from its last TASK_NEW,
	// BLOCKED, PREEMPT or YIELD message: the heap key.
	runtime agent.Time
	// last is where it last ran (-1: never).
	last int
	// mask is the thread's cpumask (read only with Params.NUMA);
	// restricted is set when it excludes some CPU of the enclave.
	mask       agent.CPUSet
	restricted bool
	// since is when the agent saw it become runnable (wakeup, preemption,
	// TASK_NEW); held records that a hold-back was counted for this wait.
	since agent.Time
	held  bool
	// dist is the distance of the CPU a round picked from last, until
	// the commit's outcome is known.
	dist agent.Distance
	// pubRing is the CCX ring holding the thread's entry (-1: none), with
	// the entry's slot and barrier (bpf.go).
	pubRing    int
	pubSeq     uint64
	pubBarrier uint32
}

type scheduler struct {
	enc  *agent.Enclave
	topo *agent.Topology
	p    agent.Params
	hold agent.Time
	loop *agent.CentralLoop[thread]
	// rq is the heap, least runtime first (the key is the runtime when
	// the thread entered; a requeued thread keeps its place).
	rq agent.RunQueue[*thread]
	// cpus is the thread committed to each CPU (none: idle by the
	// agent's bookkeeping).
	cpus agent.CPUs[*thread]

	stats                       *agent.Stats
	cHold, cNUMA, cNew, cFailed int
	cPlace                      [agent.NumDistances]int

	// bpf is the fast path's state, nil without Params.BPF (bpf.go).
	bpf *bpfPath

	// Scratch for one scheduling round.
	round     agent.Round[*thread]
	skipped   []*thread
	retry     bool       // look again soon
	holdUntil agent.Time // earliest hold-back expiry (Never: none)
}

// placeNames are the placement counters by distance from the thread's
// last CPU, indexed by agent.Distance.
var placeNames = [agent.NumDistances]string{"place_same_cpu", "place_smt", "place_ccx", "place_socket", "place_remote"}

// New makes the global channel (polled: no wakeup; the enclave's default,
// so every thread's messages go there) and the global agent's state.
func New(s *agent.Setup) (agent.Policy, error) {
	p, err := options(s.Params)
	if err != nil {
		return nil, err
	}
	loop, err := agent.NewCentralLoop(s, func(agent.Gtid) *thread { return &thread{last: -1, pubRing: -1} })
	if err != nil {
		return nil, err
	}
	topo := s.Enclave.Topology()
	sc := &scheduler{
		enc: s.Enclave, topo: topo, p: p, loop: loop,
		hold:  agent.Time(p.HoldUs * float64(agent.Microsecond)),
		cpus:  agent.NewCPUs[*thread](topo.NumCPUs()),
		stats: agent.NewStats(),
	}
	loop.MsgCycles, loop.Stats = s.Params.ContainerOpCycles, sc.stats // a gtid → thread lookup per message
	c := s.Params.ContainerOpCycles
	sc.rq = agent.RunQueue[*thread]{Key: func(t *thread) int64 { return int64(t.runtime) },
		Costs: agent.QueueCosts{Push: c, Pop: c, Remove: c}} // per level: an indexed heap, a removal is a sift
	sc.cHold = sc.stats.Counter("holdbacks")
	sc.cNUMA = sc.stats.Counter("numa_skips")
	for d, name := range placeNames {
		sc.cPlace[d] = sc.stats.Counter(name)
	}
	sc.cNew = sc.stats.Counter("place_new")
	sc.cFailed = sc.stats.Counter("commit_failures")
	if s.Params.BPF {
		if sc.bpf, err = newBPFPath(sc); err != nil {
			return nil, err
		}
	}
	return sc, nil
}

// Stats returns the policy's loop times and counters (agent.StatsReporter).
func (s *scheduler) Stats() *agent.Stats { return s.stats }

type handler struct {
	s *scheduler
	a *agent.Agent
}

// TaskNew reads the thread's cpumask (the paper's THREAD_CREATED carries
// it; here a sched_getaffinity) and queues it if runnable.
func (h *handler) TaskNew(t *thread, m agent.Message) {
	t.runtime = m.Runtime
	h.s.readMask(h.a, t)
	if m.Runnable {
		h.s.enqueue(h.a, t)
	}
}

func (h *handler) TaskRunnable(t *thread, m agent.Message) {
	t.Expect("search", "TASK_WAKEUP", agent.Blocked)
	if t.last < 0 && m.LastRanCPU >= 0 {
		t.last = m.LastRanCPU // a thread adopted by discovery
	}
	h.s.enqueue(h.a, t)
}

// TaskBlocked: usually on its CPU; queued when discovery after an upgrade
// queued a thread that was still running (it leaves the heap then).
func (h *handler) TaskBlocked(t *thread, m agent.Message) {
	t.Expect("search", "TASK_BLOCKED", agent.OnCPU, agent.Queued)
	h.s.forget(h.a, t)
	t.runtime = m.Runtime
	t.State = agent.Blocked
}

// TaskPreempted: CFS took its CPU (or a hot handoff's ping did); it goes
// back in the heap by its runtime.
func (h *handler) TaskPreempted(t *thread, m agent.Message) {
	t.Expect("search", "TASK_PREEMPT", agent.OnCPU, agent.Queued)
	h.s.revoke(h.a, t)
	h.s.cpus.Clear(t)
	t.runtime = m.Runtime
	h.s.enqueue(h.a, t)
}

func (h *handler) TaskYield(t *thread, m agent.Message) {
	t.Expect("search", "TASK_YIELD", agent.OnCPU, agent.Queued)
	h.s.revoke(h.a, t)
	h.s.cpus.Clear(t)
	t.runtime = m.Runtime
	h.s.enqueue(h.a, t)
}

// TaskDead: a dying thread blocks first (its BLOCKED came before).
func (h *handler) TaskDead(t *thread, m agent.Message) {
	t.Expect("search", "TASK_DEAD", agent.Blocked)
	h.s.forget(h.a, t)
}

func (h *handler) TaskDeparted(t *thread, m agent.Message) { h.s.forget(h.a, t) }

func (h *handler) TaskAffinityChanged(t *thread, m agent.Message) {
	if h.s.revoke(h.a, t) && t.Queued() {
		defer h.s.publish(h.a, t) // at its new barrier, in a ring its mask allows
	}
	h.s.readMask(h.a, t)
}

// readMask reads t's cpumask when the NUMA heuristic is on (off, the
// policy ignores masks and does not pay for the system call). A mask
// with no CPU of the enclave is ignored rather than starving the thread.
func (s *scheduler) readMask(a *agent.Agent, t *thread) {
	if !s.p.NUMA {
		return
	}
	mask, ok := a.TaskAffinity(t.Gtid)
	cpus := s.enc.CPUs()
	t.mask = mask
	t.restricted = ok && !mask.And(cpus).Empty() && !cpus.AndNot(mask).Empty()
}

// forget takes t off its CPU, out of the heap and out of the fast path.
func (s *scheduler) forget(a *agent.Agent, t *thread) {
	s.revoke(a, t)
	s.cpus.Clear(t)
	s.rq.Remove(a, t)
}

// enqueue puts a newly runnable t in the heap, after the threads of equal
// runtime already there.
func (s *scheduler) enqueue(a *agent.Agent, t *thread) {
	if t.Queued() {
		return
	}
	t.since, t.held = a.Now(), false
	s.rq.Push(a, t)
	s.publish(a, t)
}

// requeue puts t back at the place it had (a skipped thread, a failed
// commit).
func (s *scheduler) requeue(a *agent.Agent, t *thread) {
	s.rq.Requeue(a, t)
	s.publish(a, t)
}
