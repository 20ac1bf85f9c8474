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

// task is the policy's view of a ghOSt task; agent.Task holds its run
// state, the CPU it was committed to and its place in its runqueue.
type task struct {
	agent.Task
	home      int // the CPU it is assigned to, -1 before placement
	prioBoost bool
}

// scheduler is shared by the process's agent threads (like upstream's
// FifoScheduler, whose per-CPU state is indexed by CPU).
type scheduler struct {
	loop *agent.PerCPULoop[task]
	rq   []agent.RunQueue[*task] // by CPU
	cpus agent.CPUs[*task]       // the task each CPU's agent committed there
	ids  []int                   // the enclave's CPUs
	next int                     // round-robin placement
}

// New makes the per-CPU channels (each waking its own CPU's agent, the
// first the enclave's default, where TASK_NEW arrives) and runqueues.
func New(s *agent.Setup) (agent.Policy, error) {
	loop, err := agent.NewPerCPULoop(s, func(agent.Gtid) *task { return &task{home: -1} })
	if err != nil {
		return nil, err
	}
	n := s.Enclave.Topology().NumCPUs()
	sc := &scheduler{loop: loop, rq: make([]agent.RunQueue[*task], n), cpus: agent.NewCPUs[*task](n), ids: s.Enclave.CPUs().Slice()}
	for _, c := range sc.ids {
		sc.rq[c].Costs = agent.QueueCosts{Push: s.Params.ContainerOpCycles, Pop: s.Params.ContainerOpCycles}
	}
	return sc, nil
}

// handler is the library's message handling (agent.Queueing) plus the
// retried placement of TaskAffinityChanged and TaskPriorityChanged.
type handler struct {
	*agent.Queueing[task, *task]
	s *scheduler
}

// Enqueue (agent.Queue): a task never placed gets a CPU now; a placed
// one goes back on its CPU's runqueue, at the front when it was
// preempted or woken (unless deferrable).
func (s *scheduler) Enqueue(a *agent.Agent, t *task, m agent.Message, c agent.Cause) {
	switch c {
	case agent.CauseWakeup:
		t.prioBoost = !m.Deferrable
	case agent.CausePreempt:
		t.prioBoost = true
	}
	if t.home < 0 {
		s.place(a, t, m)
		return
	}
	s.enqueue(a, t)
}

// enqueue puts t on its CPU's runqueue: boosted tasks at the front; a
// queued task stays where it is.
func (s *scheduler) enqueue(a *agent.Agent, t *task) {
	if t.prioBoost {
		s.rq[t.home].PushFront(a, t)
	} else {
		s.rq[t.home].Push(a, t)
	}
}

// place assigns a CPU round-robin (AssignCpu) and migrates the task there
// at the seqnum of the message being handled (associate it with that
// CPU's channel, queue it, ping that agent). Tasks never move again. When
// a newer message of the task is on its way to the old channel (ESTALE)
// the association fails and the task stays runnable but unplaced (Queued
// with no home) until that message places it (upstream CHECKs that the
// association succeeds, so its agent would crash here).
func (s *scheduler) place(a *agent.Agent, t *task, m agent.Message) {
	cpu := s.ids[s.next%len(s.ids)]
	s.next++
	if !s.loop.Migrate(a, &t.Task, cpu, m.Seqnum, func() { t.home = cpu; s.enqueue(a, t) }) {
		t.State = agent.Queued
	}
}

// TaskAffinityChanged and TaskPriorityChanged change nothing a per-CPU
// FIFO decides on; they are the newer messages that can follow a runnable
// task's TASK_NEW or TASK_WAKEUP, so they place a task whose placement
// failed ESTALE. Without them it would never run: a runnable task gets no
// wakeup.
func (h handler) TaskAffinityChanged(t *task, m agent.Message) { h.retryPlace(t, m) }
func (h handler) TaskPriorityChanged(t *task, m agent.Message) { h.retryPlace(t, m) }

func (h handler) retryPlace(t *task, m agent.Message) {
	if t.home < 0 && t.State == agent.Queued {
		h.s.place(h.Agent, t, m)
	}
}
