package agent

// The per-CPU table and the run queues every policy of ghost-userspace
// keeps (upstream's CpuState.current and FifoRq, with FifoTask's cpu and
// run_state). A task holds at most one CPU of a CPUs table and sits in at
// most one RunQueue; both record that in the task's embedded Task, so
// taking a departing task off its CPU and out of its queue costs no
// search.

// TaskPtr is what CPUs and RunQueue hold: a pointer to a policy's task
// type, which embeds Task (the method comes with the embedding).
type TaskPtr interface {
	comparable
	base() *Task
}

func (t *Task) base() *Task { return t }

// CPU returns the CPU whose slot of a CPUs table t holds, or -1.
func (t *Task) CPU() int { return int(t.cpu) - 1 }

// Queued reports whether t is in a RunQueue.
func (t *Task) Queued() bool { return t.queue != nil }

// Expect is t.State.Expect for t's gtid: it panics — an agent crash
// naming policy and msg — unless t's state is one of ok. Call it first in
// every message handler.
func (t *Task) Expect(policy, msg string, ok ...RunState) {
	t.State.Expect(policy, msg, t.Gtid, ok...)
}

// Readiness is what a task's status word says about committing it now.
type Readiness uint8

// Readiness values.
const (
	// Ready: off its CPU, and the agent has read every message about it.
	Ready Readiness = iota
	// NotYet: still getting off its last CPU (a commit would fail
	// TARGET_ONCPU), or a message about it is in flight (its barrier is
	// ahead of the seqnum the agent saw: TARGET_STALE). Try again later.
	NotYet
	// Gone: the task has exited; its DEAD message is on its way.
	Gone
)

// Readiness reads t's status word (a cache line, charged as the kernel
// does) and says whether a transaction for t can succeed now: the check a
// centralized agent makes before it opens one (docs/GHOST-SEMANTICS.md
// §9.3, §9.6).
func (a *Agent) Readiness(t *Task) Readiness {
	sw, ok := a.TaskStatusWord(t.Gtid)
	switch {
	case !ok:
		return Gone
	case sw.OnCPU() || sw.Barrier != t.Seqnum:
		return NotYet
	}
	return Ready
}

// CPUs is a policy's per-CPU table: the task it committed to each CPU and
// when (upstream's CpuState.current), with the set of CPUs that have one.
// Make it with NewCPUs; it does not allocate afterwards.
type CPUs[T TaskPtr] struct {
	cur   []T
	since []Time
	busy  CPUSet
}

// NewCPUs returns an empty table for a machine of n CPUs.
func NewCPUs[T TaskPtr](n int) CPUs[T] {
	return CPUs[T]{cur: make([]T, n), since: make([]Time, n)}
}

// Of returns the task committed to cpu, or the zero T (nil) when the CPU
// is idle by the policy's bookkeeping.
func (c *CPUs[T]) Of(cpu int) T { return c.cur[cpu] }

// Since returns when cpu's task was assigned (valid while Of(cpu) is not
// nil).
func (c *CPUs[T]) Since(cpu int) Time { return c.since[cpu] }

// Busy returns the CPUs that have a task.
func (c *CPUs[T]) Busy() CPUSet { return c.busy }

// Assign records that t runs on cpu from now on and sets its state to
// OnCPU: the bookkeeping of a successful commit (or of a TASK_ON_CPU). t
// leaves any other CPU it held. A different task that held cpu loses it
// and is returned (the zero T if none), for the policy to requeue or to
// leave until its TASK_PREEMPT.
func (c *CPUs[T]) Assign(cpu int, t T, now Time) (displaced T) {
	var zero T
	prev := c.cur[cpu]
	if prev != zero && prev != t {
		prev.base().cpu = 0
		displaced = prev
	}
	c.Clear(t)
	c.cur[cpu], c.since[cpu] = t, now
	c.busy.Add(cpu)
	b := t.base()
	b.cpu, b.State = int32(cpu)+1, OnCPU
	return displaced
}

// Clear takes t off the CPU it holds and returns that CPU, or -1 when it
// held none (a BLOCKED, PREEMPT or YIELD for a task already displaced).
// The task's state is the caller's to set.
func (c *CPUs[T]) Clear(t T) int {
	b := t.base()
	cpu := int(b.cpu) - 1
	b.cpu = 0
	if cpu < 0 || c.cur[cpu] != t {
		return -1
	}
	var zero T
	c.cur[cpu] = zero
	c.busy.Remove(cpu)
	return cpu
}

// Expiry returns when the earliest slice of length slice runs out among
// the CPUs' tasks that match accepts (nil: every task), or Never when
// slice is 0 or no task matches: a centralized policy's NextWake.
func (c *CPUs[T]) Expiry(slice Time, match func(T) bool) Time {
	at := Never
	if slice == 0 {
		return at
	}
	var zero T
	for cpu, t := range c.cur {
		if t != zero && (match == nil || match(t)) && c.since[cpu]+slice < at {
			at = c.since[cpu] + slice
		}
	}
	return at
}

// QueueCosts are the cycles a RunQueue charges its agent for the policy's
// own work on it ([policy] container_op_cycles is the convention; 0 is
// free). A heap multiplies Push, Pop and Remove by its Levels (a sift is
// one compare and swap per level; the heap knows each task's position,
// so a removal needs no search); a FIFO charges Remove per task in the
// queue, the scan that finds it.
type QueueCosts struct {
	Push, Pop, Remove int64
}

// RunQueue is a policy's runqueue of tasks (upstream's FifoRq): a FIFO,
// or with Key set a heap, least key first and FIFO among equal keys. It
// records in each task whether it is queued, so that Push of a queued
// task does nothing and Remove of a task that is not there costs nothing,
// and sets the task's state to Queued when it enters. Set Key and Costs
// before the first push; the zero value is a free FIFO (whose operations
// take a nil agent). It reuses its backing array and does not allocate
// once it has grown.
type RunQueue[T TaskPtr] struct {
	// Key, when set, makes the queue a heap ordered by Key(t) at the
	// time t is pushed.
	Key func(T) int64
	// Costs are charged to the agent passed to each operation.
	Costs QueueCosts

	fifo FIFO[T]
	heap Heap[T]
}

// Len returns the number of queued tasks.
func (q *RunQueue[T]) Len() int {
	if q.Key != nil {
		return q.heap.Len()
	}
	return q.fifo.Len()
}

// Contains reports whether t is in q.
func (q *RunQueue[T]) Contains(t T) bool { return t.base().queue == any(q) }

// At returns the i-th task: in queue order for a FIFO, in array order
// for a heap (for inspection).
func (q *RunQueue[T]) At(i int) T {
	if q.Key != nil {
		return q.heap.At(i).Value
	}
	return q.fifo.At(i)
}

// Push queues t — at the back of a FIFO, by Key in a heap — unless it is
// already in a RunQueue, and reports whether it did.
func (q *RunQueue[T]) Push(a *Agent, t T) bool {
	b := t.base()
	if b.queue != nil {
		return false
	}
	if q.Key != nil {
		q.indexHeap()
		b.key = q.Key(t)
		b.seq = q.heap.Push(t, b.key)
		charge(a, q.Costs.Push*int64(q.heap.Levels()))
	} else {
		q.fifo.PushBack(t)
		charge(a, q.Costs.Push)
	}
	q.enter(b)
	return true
}

// PushFront queues t at the front of a FIFO unless it is already in a
// RunQueue, and reports whether it did. It panics on a heap.
func (q *RunQueue[T]) PushFront(a *Agent, t T) bool {
	if q.Key != nil {
		panic("agent: RunQueue.PushFront on a heap")
	}
	b := t.base()
	if b.queue != nil {
		return false
	}
	q.fifo.PushFront(t)
	charge(a, q.Costs.Push)
	q.enter(b)
	return true
}

// Requeue puts back a task popped from q where it was: at the front of a
// FIFO, at its old key and place among equal keys in a heap (a task set
// aside for a round, or whose commit failed). It reports whether it did
// (not if t is queued already).
func (q *RunQueue[T]) Requeue(a *Agent, t T) bool {
	if q.Key == nil {
		return q.PushFront(a, t)
	}
	b := t.base()
	if b.queue != nil {
		return false
	}
	q.indexHeap()
	q.heap.PushItem(HeapItem[T]{Value: t, Key: b.key, Seq: b.seq})
	charge(a, q.Costs.Push*int64(q.heap.Levels()))
	q.enter(b)
	return true
}

// indexHeap makes the heap keep each task's position in the task, so
// that Remove is a sift, not a scan. Set once: making the func value
// allocates.
func (q *RunQueue[T]) indexHeap() {
	if q.heap.Index == nil {
		q.heap.Index = taskIndex[T]
	}
}

// taskIndex is a heap RunQueue's Heap.Index: the slot in the task.
func taskIndex[T TaskPtr](t T) *int32 { return &t.base().hidx }

func (q *RunQueue[T]) enter(b *Task) {
	b.queue = q
	b.State = Queued
}

// Remove takes t out of q and reports whether it was there. The task's
// state is the caller's to set.
func (q *RunQueue[T]) Remove(a *Agent, t T) bool {
	b := t.base()
	if b.queue != any(q) {
		return false
	}
	if q.Key != nil {
		charge(a, q.Costs.Remove*int64(q.heap.Levels()))
		q.heap.Remove(t)
	} else {
		charge(a, q.Costs.Remove*int64(q.fifo.Len()))
		q.fifo.Remove(t)
	}
	b.queue = nil
	return true
}

// Pop takes the first task (the least key of a heap); ok is false when q
// is empty. The task keeps its state, Queued, until the policy commits it
// (CPUs.Assign) or puts it back.
func (q *RunQueue[T]) Pop(a *Agent) (t T, ok bool) {
	if q.Key != nil {
		lv := q.heap.Levels()
		it, ok := q.heap.Pop()
		if !ok {
			return t, false
		}
		t = it.Value
		charge(a, q.Costs.Pop*int64(lv))
	} else {
		if t, ok = q.fifo.PopFront(); !ok {
			return t, false
		}
		charge(a, q.Costs.Pop)
	}
	t.base().queue = nil
	return t, true
}

// PopRunnable pops the first task a transaction can run now, the pick of
// every centralized policy's round. Tasks that cannot run yet (NotYet:
// still getting off a CPU, or a message in flight) are appended to aside
// for the caller to put back after the round (Requeue), so that they
// keep their turn; tasks that are Gone are dropped (their DEAD follows).
// take, when set, is asked first about each popped task: false drops it
// too (a BPF program ran it). ok is false when q has no runnable task.
func (q *RunQueue[T]) PopRunnable(a *Agent, aside *[]T, take func(T) bool) (t T, ok bool) {
	for {
		if t, ok = q.Pop(a); !ok {
			return t, false
		}
		if take != nil && !take(t) {
			continue
		}
		switch a.Readiness(t.base()) {
		case Gone:
			continue
		case NotYet:
			*aside = append(*aside, t)
			continue
		}
		return t, true
	}
}

// charge charges n cycles to a unless n is 0.
func charge(a *Agent, n int64) {
	if n != 0 {
		a.ChargeCycles(n)
	}
}
