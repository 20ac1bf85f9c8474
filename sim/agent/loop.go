package agent

import (
	"errors"
	"fmt"
)

// Drain consumes every message waiting on ch for agent a and hands each to
// h through d, as the first step of every scheduling loop in
// ghost-userspace (BasicDispatchScheduler's message loop). msgCycles, when
// positive, is charged per message: the policy's own lookup of the task.
// It returns the number of messages handled.
func Drain[T any](a *Agent, ch *Channel, d *Dispatcher[T], h TaskHandler[T], msgCycles int64) int {
	n := 0
	for {
		m, ok := ch.Consume(a)
		if !ok {
			return n
		}
		if msgCycles > 0 {
			a.ChargeCycles(msgCycles)
		}
		d.Dispatch(m, h)
		n++
	}
}

// Retry is how soon a centralized agent looks again, when no message is
// bound to wake it first, at work a round had to leave: a task still
// getting off its last CPU or with a message in flight, or a CPU it
// counts as idle that CFS holds. The real agent spins and would look on
// its next loop; a microsecond is a few such loops (an estimate). A
// policy's NextWake returns now + Retry then.
const Retry = Microsecond

// ErrNoTaskCPU is NewCentralLoop's error for an enclave of one CPU: the
// global agent would spin there and no task could ever run.
var ErrNoTaskCPU = errors.New("no CPU for tasks")

// CentralPolicy is what CentralLoop needs from a centralized policy: its
// scheduling decisions and when it must look again.
type CentralPolicy interface {
	// Schedule is one scheduling round of the global agent a, after the
	// channel was drained; it returns how many transactions it committed.
	Schedule(a *Agent) int
	// NextWake is when the global agent must look again although no
	// message arrived (a slice expiry, a retry); Never when only a
	// message can make a new decision possible.
	NextWake(now Time) Time
}

// CentralLoop is the loop of every agent thread of a centralized policy,
// as in ghost-userspace's centralized schedulers and the paper's Fig 4:
// the global agent drains the policy's channel and schedules, then polls
// the channel until the next message or NextWake; the other agents sleep
// in LocalYield until a hot handoff pings one of them into the role. On
// the global agent's first round it adopts the tasks already in the
// enclave (discovery, for an in-place upgrade); when it was boosted
// because CFS wants its CPU it hands the role off first. Set the fields
// before the first Run.
type CentralLoop[T any] struct {
	Global     *Global
	Channel    *Channel
	Dispatcher *Dispatcher[T]
	// MsgCycles is charged per message handled (0: nothing beyond the
	// library's costs).
	MsgCycles int64
	// Stats, when set, receives the duration of every round that handled
	// a message or committed a transaction (Stats.Loop), the policy's
	// computation included.
	Stats *Stats

	discovered bool
}

// Run is the body of agent thread a (Policy.Run of a centralized policy).
// h handles the messages: make it once per agent thread (a pointer), as
// converting a struct value to the interface at each message allocates.
func (l *CentralLoop[T]) Run(a *Agent, h TaskHandler[T], p CentralPolicy) {
	for !a.Finished() {
		barrier := a.Barrier()
		if !l.Global.Is(a) {
			a.LocalYield(barrier, 0)
			continue
		}
		if !l.discovered {
			// Tasks already in the enclave (an in-place upgrade): adopt them.
			l.discovered = true
			l.Dispatcher.DiscoverTasks(a, l.Channel, h)
		}
		if a.BoostedPriority() && l.Global.Handoff(a) {
			continue
		}
		start := a.Now()
		msgs := Drain(a, l.Channel, l.Dispatcher, h, l.MsgCycles)
		if committed := p.Schedule(a); l.Stats != nil && (msgs > 0 || committed > 0) {
			a.Flush()
			l.Stats.Loop.Record(a.Now() - start)
		}
		l.Channel.Poll(a, p.NextWake(a.Now()))
	}
}

// Targets returns the CPUs a round may give a task: the enclave's, but
// the global agent's, which it spins on.
func (l *CentralLoop[T]) Targets() CPUSet {
	s := l.Global.enc.CPUs()
	s.Remove(l.Global.CPU())
	return s
}

// NewCentralLoop returns the loop of a centralized policy with what every
// one starts from: a channel of Params.QueueElems slots that wakes no
// agent (the global agent polls it) and is the enclave's default, so
// every task's and agent's messages arrive there; the global agent's role,
// starting on Params.GlobalCPU; and a dispatcher whose tasks newTask
// makes. Set MsgCycles and Stats on it as needed.
func NewCentralLoop[T any, P interface {
	*T
	TaskPtr
}](s *Setup, newTask func(Gtid) *T) (*CentralLoop[T], error) {
	global := NewGlobal(s.Enclave, s.Params.GlobalCPU)
	if s.Enclave.CPUs().Len() <= 1 {
		return nil, fmt.Errorf("%w: the global agent spins on CPU %d, the enclave's only one", ErrNoTaskCPU, global.CPU())
	}
	ch, err := s.Enclave.MakeChannel(s.Params.QueueElems)
	if err != nil {
		return nil, err
	}
	ch.SetEnclaveDefault()
	return &CentralLoop[T]{
		Global:     global,
		Channel:    ch,
		Dispatcher: NewDispatcher(newTask, func(t *T) *Task { return P(t).base() }),
	}, nil
}

// PerCPUPolicy is what PerCPULoop needs from a per-CPU policy: its
// decision for one CPU.
type PerCPUPolicy interface {
	// Schedule decides for agent a's own CPU, after a's channel was
	// drained: typically a local commit (Agent.RunLocal), which blocks
	// the agent until it is needed again, or a LocalYield. barrier is
	// the agent barrier read before the drain, for either call.
	Schedule(a *Agent, barrier uint32)
}

// PerCPULoop is the loop of every agent thread of a per-CPU policy, as
// ghost-userspace's per-CPU FIFO (FifoAgent::AgentThread) and the paper's
// Fig 3: each CPU's agent has a channel of its own that wakes it; it reads
// its agent barrier, drains its channel and schedules its CPU. The first
// CPU's channel is the enclave's default, where TASK_NEW arrives; that
// CPU's agent adopts the tasks already in the enclave (discovery, for an
// in-place upgrade) before its first round. Make it with NewPerCPULoop.
type PerCPULoop[T any] struct {
	// Channels are the agents' channels, by CPU (nil outside the
	// enclave).
	Channels   []*Channel
	Dispatcher *Dispatcher[T]

	first      int // the CPU whose channel is the default
	discovered bool
}

// NewPerCPULoop makes a channel of Params.QueueElems slots for each CPU of
// the enclave, waking that CPU's agent, the first CPU's the enclave's
// default, and a dispatcher whose tasks newTask makes.
func NewPerCPULoop[T any, P interface {
	*T
	TaskPtr
}](s *Setup, newTask func(Gtid) *T) (*PerCPULoop[T], error) {
	cpus := s.Enclave.CPUs()
	l := &PerCPULoop[T]{
		Channels:   make([]*Channel, s.Enclave.Topology().NumCPUs()),
		Dispatcher: NewDispatcher(newTask, func(t *T) *Task { return P(t).base() }),
		first:      cpus.First(),
	}
	for c := cpus.First(); c >= 0; c = cpus.Next(c + 1) {
		ch, err := s.Enclave.MakeChannel(s.Params.QueueElems, c)
		if err != nil {
			return nil, err
		}
		l.Channels[c] = ch
	}
	l.Channels[l.first].SetEnclaveDefault()
	return l, nil
}

// Migrate moves task t to cpu, as upstream's FifoScheduler::Migrate and
// docs/GHOST-SEMANTICS.md §4 order it: associate t with cpu's channel at
// barrier, so its messages go there; then enqueue, which must put t in
// cpu's runqueue; then ping cpu's agent, unless it is a's own, so it sees
// t. barrier is the seqnum of the message being handled (upstream passes
// msg.seqnum(); inside a handler it is also t.Seqnum). When the
// association fails (ESTALE: a newer message about t is on its way to
// its old channel) nothing else happens and Migrate reports false.
func (l *PerCPULoop[T]) Migrate(a *Agent, t *Task, cpu int, barrier uint32, enqueue func()) bool {
	if _, err := l.Channels[cpu].AssociateTask(a, t.Gtid, barrier); err != nil {
		return false
	}
	enqueue()
	if cpu != a.CPU().ID {
		a.Ping(cpu)
	}
	return true
}

// Run is the body of agent thread a (Policy.Run of a per-CPU policy). h
// handles the messages: make it once per agent thread (a pointer), as
// converting a struct value to the interface at each message allocates.
func (l *PerCPULoop[T]) Run(a *Agent, h TaskHandler[T], p PerCPUPolicy) {
	me := a.CPU().ID
	ch := l.Channels[me]
	// The agent's own messages (its CPU's) go to its channel.
	for {
		if _, err := ch.AssociateTask(a, a.Gtid(), a.Barrier()); err == nil {
			break
		}
	}
	if me == l.first && !l.discovered {
		// Tasks already in the enclave (an in-place upgrade) report to
		// the default channel, this CPU's.
		l.discovered = true
		l.Dispatcher.DiscoverTasks(a, ch, h)
	}
	for !a.Finished() {
		barrier := a.Barrier()
		Drain(a, ch, l.Dispatcher, h, 0)
		p.Schedule(a, barrier)
	}
}
