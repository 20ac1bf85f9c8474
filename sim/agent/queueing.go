package agent

// Cause is the message that made a task runnable for the policy, as
// Queueing reports it to Queue.Enqueue.
type Cause uint8

// Causes.
const (
	CauseNew     Cause = iota // TASK_NEW of a runnable task
	CauseWakeup               // TASK_WAKEUP
	CausePreempt              // TASK_PREEMPT: it lost its CPU and is still runnable
	CauseYield                // TASK_YIELD
)

var causeNames = [...]string{"new", "wakeup", "preempt", "yield"}

func (c Cause) String() string {
	if int(c) < len(causeNames) {
		return causeNames[c]
	}
	return "Cause(?)"
}

// A Queue is where a policy keeps its runnable tasks, as Queueing sees it:
// the one decision a message asks of it.
type Queue[P TaskPtr] interface {
	// Enqueue puts t, which message m (for c) made runnable, where the
	// policy wants it: typically a RunQueue, at the back or the front.
	// A task already queued may stay where it is: a TASK_PREEMPT can
	// find it queued when the policy requeued it itself.
	Enqueue(a *Agent, t P, m Message, c Cause)
}

// Queueing is the TaskHandler of a policy that keeps runnable tasks in
// RunQueues and records each CPU's task in a CPUs table, as upstream's
// FIFO schedulers handle the seven task messages every policy must
// (ghost-userspace schedulers/fifo, FifoScheduler::TaskNew ... TaskDeparted):
//
//   - each first checks the message against the task's run state
//     (Task.Expect: a message the state machine does not allow crashes
//     the agent, naming the policy, the message and the task);
//   - TASK_NEW of a runnable task and TASK_WAKEUP call Queue.Enqueue;
//   - TASK_PREEMPT and TASK_YIELD take the task off its CPU, then call
//     Queue.Enqueue;
//   - TASK_BLOCKED, TASK_DEAD and TASK_DEPARTED take it off its CPU and
//     out of the RunQueue it is in (a task can be queued when it blocks:
//     a policy requeued it as its slice ran out, or discovery after an
//     upgrade queued it while it still ran); BLOCKED marks it Blocked.
//
// A policy whose messages need more embeds Queueing in its own handler
// and overrides a method, or adds an optional one (AffinityHandler,
// PriorityHandler, ...). Make it once per agent thread with NewQueueing
// and pass the pointer to the loop.
type Queueing[T any, P interface {
	*T
	TaskPtr
}] struct {
	Agent  *Agent
	Policy string // named in a crash
	Queue  Queue[P]
	CPUs   *CPUs[P]
}

// NewQueueing returns the handler of agent a for a policy named policy
// whose runnable tasks go to q and whose CPUs table is cpus (not nil).
func NewQueueing[T any, P interface {
	*T
	TaskPtr
}](a *Agent, policy string, q Queue[P], cpus *CPUs[P]) *Queueing[T, P] {
	return &Queueing[T, P]{Agent: a, Policy: policy, Queue: q, CPUs: cpus}
}

// TaskNew queues a runnable new task; a blocked one waits for its wakeup.
func (h *Queueing[T, P]) TaskNew(t *T, m Message) {
	if m.Runnable {
		h.Queue.Enqueue(h.Agent, P(t), m, CauseNew)
	}
}

// TaskRunnable queues a woken task.
func (h *Queueing[T, P]) TaskRunnable(t *T, m Message) {
	P(t).base().Expect(h.Policy, "TASK_WAKEUP", Blocked)
	h.Queue.Enqueue(h.Agent, P(t), m, CauseWakeup)
}

// TaskBlocked takes the task off its CPU and out of its queue.
func (h *Queueing[T, P]) TaskBlocked(t *T, m Message) {
	b := P(t).base()
	b.Expect(h.Policy, "TASK_BLOCKED", OnCPU, Queued)
	h.Forget(P(t))
	b.State = Blocked
}

// TaskPreempted takes the task off its CPU and queues it.
func (h *Queueing[T, P]) TaskPreempted(t *T, m Message) {
	P(t).base().Expect(h.Policy, "TASK_PREEMPT", OnCPU, Queued)
	h.CPUs.Clear(P(t))
	h.Queue.Enqueue(h.Agent, P(t), m, CausePreempt)
}

// TaskYield takes the task off its CPU and queues it.
func (h *Queueing[T, P]) TaskYield(t *T, m Message) {
	P(t).base().Expect(h.Policy, "TASK_YIELD", OnCPU, Queued)
	h.CPUs.Clear(P(t))
	h.Queue.Enqueue(h.Agent, P(t), m, CauseYield)
}

// TaskDead forgets the task: a dying task blocks first (its BLOCKED came
// before).
func (h *Queueing[T, P]) TaskDead(t *T, m Message) {
	P(t).base().Expect(h.Policy, "TASK_DEAD", Blocked)
	h.Forget(P(t))
}

// TaskDeparted forgets the task, in whatever state it left the enclave.
func (h *Queueing[T, P]) TaskDeparted(t *T, m Message) { h.Forget(P(t)) }

// Forget takes t off its CPU and out of the RunQueue it is in, if any.
// Its state is the caller's to set.
func (h *Queueing[T, P]) Forget(t P) {
	h.CPUs.Clear(t)
	Dequeue(h.Agent, t)
}

// Dequeue takes t out of the RunQueue it is in, charging that queue's
// Remove cost, and reports whether it was queued. Its state is the
// caller's to set.
func Dequeue[P TaskPtr](a *Agent, t P) bool {
	q, ok := t.base().queue.(*RunQueue[P])
	return ok && q.Remove(a, t)
}
