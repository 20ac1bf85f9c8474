package agent

import (
	"fmt"
)

// Task is what the library tracks of each ghOSt task: its gtid and the
// sequence number of the message being handled, or else of the last one
// handled (Task<> in ghost-userspace), which the dispatcher keeps; the policy's view of where
// it is (State, as upstream's FifoTaskState); and the CPU it holds in a
// CPUs table and the RunQueue it is in, which those keep. Policies embed
// it in their own task type.
type Task struct {
	Gtid   Gtid
	Seqnum uint32
	// State is where the task is: RunQueue sets Queued, CPUs.Assign sets
	// OnCPU, the policy sets Blocked (the zero value, a new task's).
	State RunState

	cpu   int32 // the CPUs slot it holds, plus one (0: none)
	queue any   // the *RunQueue it is in, nil if none
	key   int64 // in a heap RunQueue: its key and insertion sequence,
	seq   uint64
	hidx  int32 // and its position in the heap (Heap.Index) while queued
}

// TaskHandler receives the task messages every policy must handle, one
// method per type, as BasicDispatchScheduler's pure virtuals: a policy
// that forgets one does not compile. T is the policy's task type. The
// other messages are optional: a handler that also implements
// AffinityHandler, PriorityHandler, OnCPUHandler, CPUTickHandler,
// CPUAvailabilityHandler or CPUNotIdleHandler receives them; without it
// the dispatcher only advances the task's sequence number.
type TaskHandler[T any] interface {
	TaskNew(t *T, m Message)
	TaskRunnable(t *T, m Message) // MSG_TASK_WAKEUP
	TaskBlocked(t *T, m Message)
	TaskPreempted(t *T, m Message)
	TaskYield(t *T, m Message)
	TaskDead(t *T, m Message)
	TaskDeparted(t *T, m Message)
}

// AffinityHandler receives MSG_TASK_AFFINITY_CHANGED.
type AffinityHandler[T any] interface{ TaskAffinityChanged(t *T, m Message) }

// PriorityHandler receives MSG_TASK_PRIORITY_CHANGED.
type PriorityHandler[T any] interface{ TaskPriorityChanged(t *T, m Message) }

// OnCPUHandler receives MSG_TASK_ON_CPU (asked for with
// RunSendTaskOnCPU).
type OnCPUHandler[T any] interface{ TaskOnCPU(t *T, m Message) }

// CPUTickHandler receives MSG_CPU_TICK (the enclave's deliver_ticks).
type CPUTickHandler interface{ CPUTick(m Message) }

// CPUAvailabilityHandler receives MSG_CPU_AVAILABLE and MSG_CPU_BUSY
// (deliver_cpu_availability).
type CPUAvailabilityHandler interface {
	CPUAvailable(m Message)
	CPUBusy(m Message)
}

// CPUNotIdleHandler receives MSG_CPU_NOT_IDLE (an IDLE commit with
// RunNeedCPUNotIdle).
type CPUNotIdleHandler interface{ CPUNotIdle(m Message) }

// Dispatcher turns messages into handler calls and tracks tasks: a
// TASK_NEW allocates the policy's task, DEAD and DEPARTED free it, and
// every other message advances the task's sequence number, which must
// grow (a decrease is an agent bug: it panics, crashing the agent). A
// message for an unknown gtid is dropped and counted, as upstream does
// during an upgrade. T must embed Task as its field named Task.
type Dispatcher[T any] struct {
	tasks   map[Gtid]*T
	newTask func(g Gtid) *T
	base    func(*T) *Task
	// Dropped counts task messages for unknown gtids.
	Dropped int
}

// NewDispatcher returns a dispatcher whose tasks are made by newTask;
// base returns the embedded Task of a T.
func NewDispatcher[T any](newTask func(g Gtid) *T, base func(*T) *Task) *Dispatcher[T] {
	return &Dispatcher[T]{tasks: map[Gtid]*T{}, newTask: newTask, base: base}
}

// Task returns the tracked task g, or nil.
func (d *Dispatcher[T]) Task(g Gtid) *T { return d.tasks[g] }

// Len returns the number of tracked tasks.
func (d *Dispatcher[T]) Len() int { return len(d.tasks) }

// Dispatch hands m to h. Keep h a pointer (h := &handler{...}, made once):
// a struct value converted to the interface at each call allocates, once
// per message.
func (d *Dispatcher[T]) Dispatch(m Message, h TaskHandler[T]) {
	switch m.Type {
	case MsgCPUTick:
		if x, ok := h.(CPUTickHandler); ok {
			x.CPUTick(m)
		}
		return
	case MsgCPUAvailable, MsgCPUBusy:
		if x, ok := h.(CPUAvailabilityHandler); ok {
			if m.Type == MsgCPUAvailable {
				x.CPUAvailable(m)
			} else {
				x.CPUBusy(m)
			}
		}
		return
	case MsgCPUNotIdle:
		if x, ok := h.(CPUNotIdleHandler); ok {
			x.CPUNotIdle(m)
		}
		return
	}
	if !m.Type.IsTaskMsg() {
		return
	}
	if m.Type == MsgTaskNew {
		if _, dup := d.tasks[m.Gtid]; dup {
			panic(fmt.Sprintf("agent: TASK_NEW for known task %d", m.Gtid))
		}
		t := d.newTask(m.Gtid)
		b := d.base(t)
		b.Gtid, b.Seqnum = m.Gtid, m.Seqnum
		d.tasks[m.Gtid] = t
		h.TaskNew(t, m)
		return
	}
	t := d.tasks[m.Gtid]
	if t == nil {
		d.Dropped++
		return
	}
	b := d.base(t)
	if m.Seqnum <= b.Seqnum {
		panic(fmt.Sprintf("agent: task %d: message %v seqnum %d after %d", m.Gtid, m.Type, m.Seqnum, b.Seqnum))
	}
	// The task's seqnum is this message's before its handler runs, so a
	// handler that commits, associates or publishes the task does it at
	// the barrier it is handling, and Agent.Readiness inside a handler
	// sees only newer messages as in flight. (Upstream's DispatchMessage
	// advances it after the handler, whose code then passes msg.seqnum()
	// wherever a barrier is needed; one rule here leaves no handler to
	// get it wrong.)
	b.Seqnum = m.Seqnum
	switch m.Type {
	case MsgTaskWakeup:
		h.TaskRunnable(t, m)
	case MsgTaskBlocked:
		h.TaskBlocked(t, m)
	case MsgTaskPreempt:
		h.TaskPreempted(t, m)
	case MsgTaskYield:
		h.TaskYield(t, m)
	case MsgTaskAffinityChanged:
		if x, ok := h.(AffinityHandler[T]); ok {
			x.TaskAffinityChanged(t, m)
		}
	case MsgTaskPriorityChanged:
		if x, ok := h.(PriorityHandler[T]); ok {
			x.TaskPriorityChanged(t, m)
		}
	case MsgTaskOnCPU:
		if x, ok := h.(OnCPUHandler[T]); ok {
			x.TaskOnCPU(t, m)
		}
	case MsgTaskDead:
		h.TaskDead(t, m)
		delete(d.tasks, m.Gtid)
	case MsgTaskDeparted:
		h.TaskDeparted(t, m)
		delete(d.tasks, m.Gtid)
	}
}

// DiscoverTasks rebuilds the task table of an agent that attached to a
// running enclave (BasicDispatchScheduler::DiscoverTasks): every task
// whose status word is in use is associated with ch at its current
// barrier and, unless its messages are already on their way (ALREADY or
// BRAND_NEW), gets a TASK_NEW synthesized from its status word.
func (d *Dispatcher[T]) DiscoverTasks(a *Agent, ch *Channel, h TaskHandler[T]) {
	for _, sw := range a.Discover() {
		if sw.CanFree() {
			continue
		}
		status, err := ch.AssociateTask(a, sw.Gtid, sw.Barrier)
		if err != nil {
			// ENOENT: gone; ESTALE: a message is on its way and will be
			// read from the old queue's replacement. Re-read once.
			cur, ok := a.TaskStatusWord(sw.Gtid)
			if !ok || cur.CanFree() {
				continue
			}
			if status, err = ch.AssociateTask(a, cur.Gtid, cur.Barrier); err != nil {
				continue
			}
			sw = cur
		}
		if status&(AssocAlready|AssocBrandNew) != 0 {
			continue
		}
		if _, known := d.tasks[sw.Gtid]; known {
			continue
		}
		d.Dispatch(Message{Type: MsgTaskNew, Gtid: sw.Gtid, Seqnum: sw.Barrier, Runnable: sw.Runnable(), Runtime: sw.Runtime}, h)
	}
}
