package kernel

import (
	"fmt"

	"github.com/ghostsim/ghostsim/sim"
)

// This file is ghOSt's message queues (docs/GHOST-SEMANTICS.md §4) and message
// production (§1): the ring with its slot accounting and overflow, wakeup
// configuration, association, and who produces which message when.

// Message is one ghOSt message (struct ghost_msg and its payload). Only
// the fields of its type are meaningful.
type Message struct {
	Type   MsgType
	Seqnum uint32 // the task barrier (task messages) or agent barrier (CPU messages) after the bump
	Gtid   Gtid   // the task; for CPU_NOT_IDLE the task the CPU switched to (next_gtid)
	CPU    int

	Runnable   bool     // TASK_NEW
	Nice       int      // TASK_NEW, TASK_PRIORITY_CHANGED
	Runtime    sim.Time // NEW, BLOCKED, PREEMPT, YIELD
	CPUSeqnum  uint64   // BLOCKED, PREEMPT, YIELD, DEPARTED, ON_CPU
	WasLatched bool     // PREEMPT
	WasCurrent bool     // DEPARTED
	Deferrable bool     // WAKEUP
	LastRanCPU int      // WAKEUP
	WakeUpCPU  int      // WAKEUP
	WakerCPU   int      // WAKEUP (-1: not a CPU)
	CommitTime sim.Time // ON_CPU

	// producer is the CPU that wrote the message (for the consumer's
	// cache-line transfer), -1 for none.
	producer int
	slots    int
	pad      int // NOP padding placed before it in the ring, freed with it
}

func (m Message) String() string {
	if m.Type.IsTaskMsg() {
		return fmt.Sprintf("%v gtid=%d seq=%d", m.Type, m.Gtid, m.Seqnum)
	}
	return fmt.Sprintf("%v cpu=%d seq=%d", m.Type, m.CPU, m.Seqnum)
}

// MaxQueueElems is GHOST_MAX_QUEUE_ELEMS, the largest ring in slots.
const MaxQueueElems = 65536

// Queue is a ghOSt message queue: a ring of 8-byte slots written by the
// kernel and read by agents. A message that does not fit is dropped and
// counted in Overflow (fatal for ghost-userspace's Peek).
type Queue struct {
	id      int
	enclave *Enclave
	elems   int // ring size in slots, a power of two
	// ring[start:] are the messages waiting, oldest first; the array is
	// reused (compacted when full), so steady-state traffic does not
	// allocate.
	ring     []Message
	start    int
	head     int // slot position of the next write, mod elems
	used     int // slots in use, NOP padding included
	overflow int64
	wakeup   []int // wakeup CPUs (at most 2); empty = polling queue
	closed   bool
	// spinners are agents spinning on this queue.
	spinners []*Task
	// line is the ring's cache line (the newest message and the head
	// index), for the cost of noticing and reading messages.
	line cacheLine
	// lockFree is when the producers' spinlock (q->lock, taken by
	// _produce) is next free, and lockHolder the CPU that held it last
	// (-1: none yet); see lockProduce.
	lockFree   sim.Time
	lockHolder int
}

// ID returns the queue's id.
func (q *Queue) ID() int { return q.id }

// Len returns the number of messages waiting.
func (q *Queue) Len() int { return len(q.ring) - q.start }

// Overflow returns how many messages were dropped because the ring was
// full.
func (q *Queue) Overflow() int64 { return q.overflow }

// Elems returns the ring's size in 8-byte slots.
func (q *Queue) Elems() int { return q.elems }

// Slots returns how many 8-byte ring slots a message of type t takes.
func (t MsgType) Slots() int { return t.msgSlots() }

// Wakeup returns the queue's wakeup CPUs.
func (q *Queue) Wakeup() []int { return q.wakeup }

// MaxWakeupCPUs is GHOST_MAX_WINFO.
const MaxWakeupCPUs = 2

// CreateQueue makes a queue of elems slots (a power of two up to
// MaxQueueElems) in e, waking the agents of the wakeup CPUs when messages
// arrive (none: a polling queue). GHOST_IOC_CREATE_QUEUE plus
// GHOST_IOC_CONFIG_QUEUE_WAKEUP.
func (e *Enclave) CreateQueue(elems int, wakeup ...int) (*Queue, error) {
	if elems <= 0 || elems > MaxQueueElems || elems&(elems-1) != 0 {
		return nil, fmt.Errorf("kernel: queue of %d slots: must be a power of two up to %d (EINVAL)", elems, MaxQueueElems)
	}
	q := &Queue{id: len(e.queues), enclave: e, elems: elems, line: newCacheLine(), lockHolder: -1}
	if err := q.ConfigWakeup(wakeup...); err != nil {
		return nil, err
	}
	e.queues = append(e.queues, q)
	return q, nil
}

// ConfigWakeup sets the CPUs whose agents a message wakes (at most two;
// none makes it a polling queue), and wakes the last listed agent in case
// messages are pending (GHOST_IOC_CONFIG_QUEUE_WAKEUP).
func (q *Queue) ConfigWakeup(cpus ...int) error {
	if len(cpus) > MaxWakeupCPUs {
		return fmt.Errorf("kernel: %d wakeup CPUs, at most %d (EINVAL)", len(cpus), MaxWakeupCPUs)
	}
	for _, c := range cpus {
		if !q.enclave.cpus.Has(c) {
			return fmt.Errorf("kernel: wakeup cpu%d is not in the enclave (EINVAL)", c)
		}
	}
	q.wakeup = append(q.wakeup[:0], cpus...)
	if n := len(cpus); n > 0 && q.Len() > 0 {
		q.enclave.k.wakeAgentOn(cpus[n-1], -1)
	}
	return nil
}

// SetDefault makes q the enclave's default queue, which new tasks are
// associated with (GHOST_IOC_SET_DEFAULT_QUEUE).
func (q *Queue) SetDefault() { q.enclave.defaultQ = q }

// Close destroys the queue; tasks still associated keep a dead reference
// whose messages are dropped. If it was the default, the enclave has none.
func (q *Queue) Close() {
	q.closed = true
	if q.enclave.defaultQ == q {
		q.enclave.defaultQ = nil
	}
}

// push appends m to the ring, with NOP padding when it does not fit
// before the end; it reports false (and counts an overflow) when full.
func (q *Queue) push(m Message) bool {
	m.slots = m.Type.msgSlots()
	pad := 0
	if rest := q.elems - q.head; rest < m.slots {
		pad = rest
	}
	if q.used+pad+m.slots > q.elems {
		q.overflow++
		return false
	}
	q.head = (q.head + pad + m.slots) % q.elems
	q.used += pad + m.slots
	m.pad = pad
	if q.start > 0 && len(q.ring) == cap(q.ring) {
		n := copy(q.ring, q.ring[q.start:])
		q.ring, q.start = q.ring[:n], 0
	}
	q.ring = append(q.ring, m)
	return true
}

// pop removes the oldest message.
func (q *Queue) pop() (Message, bool) {
	if q.Len() == 0 {
		return Message{}, false
	}
	m := q.ring[q.start]
	q.used -= m.pad + m.slots
	q.start++
	if q.start == len(q.ring) {
		q.ring, q.start = q.ring[:0], 0
	}
	return m, true
}

// targetCPU is the queue's wakeup target for a message about a task on
// cpu: that CPU if listed, else the first entry; -1 for a polling queue.
func (q *Queue) targetCPU(cpu int) int {
	if len(q.wakeup) == 0 {
		return -1
	}
	for _, c := range q.wakeup {
		if c == cpu {
			return c
		}
	}
	return q.wakeup[0]
}

// produceTaskMsg is __produce_for_task: bump t's barrier (always), then,
// unless the task's messages are gated or it has no queue, post m to its
// queue and wake the queue's agent. cpu is the CPU producing (-1 none).
// It returns whether a message was posted.
func (k *Kernel) produceTaskMsg(t *Task, m Message, cpu int) bool {
	g := t.g
	g.sw.Barrier++
	g.swLine.write(cpu)
	m.Gtid = t.gtid()
	m.Seqnum = g.sw.Barrier
	if m.Type != MsgTaskNew && m.Type != MsgTaskWakeup && m.Type != MsgTaskAffinityChanged && m.Type != MsgTaskPriorityChanged && m.Type != MsgTaskDead && m.Type != MsgTaskDeparted {
		if m.CPU == 0 && cpu >= 0 {
			m.CPU = cpu
		}
	}
	q := g.dstQ
	if g.gated || q == nil || q.closed {
		k.stats.GhostMsgsDropped++
		if k.tracing() {
			k.emit(TraceEvent{CPU: cpu, Kind: TraceMsgDropped, Msg: m, Reason: dropReason(g.gated, q)})
		}
		return false
	}
	taskCPU := t.cpu
	if taskCPU < 0 {
		taskCPU = t.lastCPU
	}
	return k.post(q, m, cpu, taskCPU)
}

// dropReason says why a message had nowhere to go, for traces.
func dropReason(gated bool, q *Queue) string {
	switch {
	case gated:
		return "gated"
	case q == nil:
		return "no queue"
	}
	return "queue closed"
}

// produceCPUMsg is produce_for_agent: bump cpu's agent barrier and post m
// to the queue of cpu's agent, waking it.
func (k *Kernel) produceCPUMsg(cpu int, m Message) bool {
	c := &k.cpus[cpu]
	a := c.g.agent
	c.g.agentBarrier++
	c.g.agentLine.write(cpu)
	m.CPU = cpu
	m.Seqnum = c.g.agentBarrier
	if a == nil || a.g.dstQ == nil || a.g.dstQ.closed {
		k.stats.GhostMsgsDropped++
		if k.tracing() {
			reason := "no agent"
			if a != nil {
				reason = dropReason(false, a.g.dstQ)
			}
			k.emit(TraceEvent{CPU: cpu, Kind: TraceMsgDropped, Msg: m, Reason: reason})
		}
		return false
	}
	return k.post(a.g.dstQ, m, cpu, cpu)
}

// post writes m into q on behalf of CPU cpu (-1: none), charging the
// producer's work, and notifies q's waiters; the wakeup target is chosen
// for a message about taskCPU. It reports false (and counts it) when the
// ring is full.
func (k *Kernel) post(q *Queue, m Message, cpu, taskCPU int) bool {
	m.producer = cpu
	k.lockProduce(q, cpu)
	q.line.write(cpu)
	if !q.push(m) {
		k.stats.GhostQueueOverflows++
		if k.tracing() {
			k.emit(TraceEvent{CPU: cpu, Kind: TraceMsgDropped, Msg: m, Reason: "overflow"})
		}
		return false
	}
	k.stats.GhostMsgs++
	if k.tracing() {
		k.emit(TraceEvent{CPU: cpu, Kind: TraceMsgPosted, Msg: m, Queue: q.id, Enclave: q.enclave.id})
	}
	if k.probe.Post != nil {
		k.probe.Post(k.eng.Now(), cpu, m)
	}
	k.notifyQueue(q, taskCPU, cpu)
	return true
}

// notifyQueue wakes whoever waits on q after a message: spinning agents
// notice once the ring's line reaches them; the wakeup target's agent is
// woken (ghost_wake_agent_of), bumping its barrier.
func (k *Kernel) notifyQueue(q *Queue, taskCPU, from int) {
	for _, a := range q.spinners {
		k.endSpinOn(a, q, from)
	}
	if target := q.targetCPU(taskCPU); target >= 0 {
		k.wakeAgentOn(target, from)
	}
}

// produceTaskNew posts TASK_NEW for t, produced by CPU from (-1: the
// task's CPU).
func (k *Kernel) produceTaskNew(t *Task, from int) {
	if from < 0 {
		from = t.cpu
	}
	k.produceTaskMsg(t, Message{
		Type:     MsgTaskNew,
		Runnable: t.state == TaskRunnable || t.state == TaskRunning,
		Nice:     t.nice,
		Runtime:  t.runtime,
	}, from)
}

// lockProduce charges CPU cpu (none for -1) for writing one message
// into q under the queue's spinlock (_produce takes q->lock): it waits
// until the lock is free, gets the lock's line from the CPU that held it
// last, and holds it for the production work; all of it is kernel work on
// cpu. With one global queue, producers on many CPUs serialize here.
//
// Simplifications: the message is still visible at once (the wait delays
// the producer's CPU, not the ring); a CPU does not wait for its own
// previous hold (its kernel work is charged in sequence already); a
// producer with no CPU (a device's wakeup) takes no lock, and neither
// does the workload's launcher (Kernel.Spawn, a setup step outside the
// modelled CPUs, which still charges the task's CPU the production).
func (k *Kernel) lockProduce(q *Queue, cpu int) {
	if cpu < 0 {
		return
	}
	if k.launching {
		k.chargeKernel(cpu, k.costs.GhostMsgProduce)
		return
	}
	now := k.eng.Now()
	var wait sim.Time
	if h := q.lockHolder; h >= 0 && h != cpu {
		wait = max(q.lockFree-now, 0) + k.m.LineTransfer(h, cpu, -1)
		k.stats.GhostQueueLockWait += wait
	}
	q.lockHolder = cpu
	q.lockFree = now + wait + k.costs.GhostMsgProduce
	k.chargeKernel(cpu, wait+k.costs.GhostMsgProduce)
}
