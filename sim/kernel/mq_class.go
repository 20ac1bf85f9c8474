package kernel

import (
	"fmt"
	"math/bits"
	"slices"

	"github.com/ghostsim/ghostsim/sim"
)

// This file is the MicroQuanta class: Google's soft real-time class for
// Snap's packet-processing workers (ghOSt paper §4.3; Snap, SOSP'19 §2.4).
// Google's implementation is not public. What is public, and modeled:
//
//   - "for any period, e.g., 1ms, at most a quanta of time, e.g., 0.9ms,
//     is given to each packet processing worker" (ghOSt §4.3), "with the
//     remainder of CPU time available to other CFS-scheduled tasks"
//     (Snap §2.4): per-thread runtime/period bandwidth, the blackout of up
//     to period − runtime after the runtime is used;
//   - it sits above CFS and below the stop and agent classes (ghOSt's
//     class order): a MicroQuanta thread with budget preempts CFS and
//     ghOSt threads at once.
//
// What is not public is taken from Linux's own classes, and says which:
//
//   - Bandwidth accounting is SCHED_DEADLINE's constant bandwidth server
//     (kernel/sched/deadline.c, Linux 4.15): update_curr_dl charges the
//     running thread, dl_runtime_exceeded throttles it (dl_throttled),
//     start_dl_timer arms a replenishment at the period's end (the
//     deadline), replenish_dl_entity adds a runtime and a period (an
//     overrun is carried as debt), and update_dl_entity on a wakeup starts
//     a fresh period when the old one is over or the budget left would
//     exceed the bandwidth until its end (dl_entity_overflow). Enforcement
//     is exact, as with HRTICK: a per-CPU timer fires when the budget ends,
//     not at the next tick.
//   - A throttled thread stays queued on its CPU and is not migrated until
//     its replenishment (deadline.c leaves a throttled entity off the
//     run queue and migrates nothing while throttled): the blackout is
//     spent where the thread is, even if other CPUs idle. This is the
//     mechanism the paper gives for ghOSt's lower 64 kB tails.
//   - Among MicroQuanta threads of one CPU, order is FIFO at one priority
//     (SCHED_FIFO, rt.c): a running thread is not preempted by another;
//     one preempted by a higher class goes back to the head, one throttled
//     to the tail.
//   - Wakeup placement is select_task_rq_rt (rt.c): the thread goes back
//     to its previous CPU, where it preempts CFS or ghOSt, unless that CPU
//     runs a thread of an equal or higher class; then find_lowest_rq picks
//     a CPU of the lowest cpupri level in its mask (idle, then running
//     CFS/ghOSt), preferring the previous CPU, then the nearest by sched
//     domain. (Stop and agent threads count as higher here: Linux's test
//     looks only at RT priorities.)
//   - Not modeled: RT push/pull between CPUs after a wakeup (push_rt_task,
//     pull_rt_task) — a queued MicroQuanta thread waits on its CPU for the
//     one ahead of it; Linux's global RT throttling (sched_rt_runtime_us),
//     which the per-thread bandwidth supersedes.

// mqEntity is a MicroQuanta thread's bandwidth state (sched_dl_entity).
type mqEntity struct {
	runtime, period sim.Time // the bandwidth: runtime out of every period
	// budget is what is left of runtime in the current period; an overrun
	// makes it negative until the replenishment repays it.
	budget sim.Time
	// deadline is the end of the current period.
	deadline sim.Time
	// throttled: the budget is spent; the thread runs again at its
	// replenishment (dl_throttled).
	throttled bool
	replenish sim.Timer
	// queued marks the thread as on its CPU's mqRQ.q.
	queued bool
}

// mqRQ is one CPU's MicroQuanta run queue.
type mqRQ struct {
	// q holds runnable threads that are not running, throttled ones
	// included, FIFO.
	q []*Task
	// nrReady counts the threads of q that are not throttled.
	nrReady int
	// budgetTimer fires when the running thread's budget ends.
	budgetTimer sim.Timer
}

// checkMQBandwidth validates a runtime/period pair given in ns; keys name
// them in errors.
func checkMQBandwidth(runtimeKey, periodKey string, runtime, period int64) error {
	switch {
	case period <= 0:
		return sim.KeyErrorf(periodKey, "must be > 0, got %d", period)
	case period > int64(sim.Second/sim.Nanosecond):
		return sim.KeyErrorf(periodKey, "must be at most 1 s (%d ns), got %d", int64(sim.Second/sim.Nanosecond), period)
	case runtime <= 0 || runtime > period:
		return sim.KeyErrorf(runtimeKey, "must be in 1..%s (%d), got %d", periodKey, period, runtime)
	}
	return nil
}

// newMQEntity returns the bandwidth state of a new MicroQuanta thread of
// spec, or an error for a bad bandwidth.
func (k *Kernel) newMQEntity(spec TaskSpec) (*mqEntity, error) {
	rt, per := spec.MQRuntime, spec.MQPeriod
	if rt == 0 {
		rt = sim.Ns(k.p.MicroQuantaRuntimeNs)
	}
	if per == 0 {
		per = sim.Ns(k.p.MicroQuantaPeriodNs)
	}
	if per <= 0 || per > sim.Second || rt <= 0 || rt > per {
		return nil, fmt.Errorf("kernel: spawn %q: MicroQuanta runtime %v must be in (0, period %v], period in (0, 1 s]", spec.Name, rt, per)
	}
	return &mqEntity{runtime: rt, period: per}, nil
}

// mqEnsure gives t MicroQuanta state when it first enters the class
// through SetClass (the [kernel] bandwidth).
func (k *Kernel) mqEnsure(t *Task) {
	if t.mq == nil {
		t.mq = &mqEntity{runtime: sim.Ns(k.p.MicroQuantaRuntimeNs), period: sim.Ns(k.p.MicroQuantaPeriodNs)}
	}
}

// mqOverflow reports whether a budget left until deadline exceeds the
// thread's bandwidth (dl_entity_overflow: runtime/(deadline−now) >
// dl_runtime/dl_period), in 128-bit products.
func mqOverflow(e *mqEntity, now sim.Time) bool {
	if e.budget <= 0 {
		return false
	}
	lh, ll := bits.Mul64(uint64(e.period), uint64(e.budget))
	rh, rl := bits.Mul64(uint64(e.deadline-now), uint64(e.runtime))
	return rh < lh || (rh == lh && rl < ll)
}

// mqEnqueue puts t on c's MicroQuanta queue (enqueue_task_dl). A waking or
// new thread that is not throttled gets a fresh period when its old one is
// over or would overflow (update_dl_entity).
func (k *Kernel) mqEnqueue(c *cpuState, t *Task, wakeup, isNew bool) {
	k.mqEnsure(t)
	e := t.mq
	now := k.eng.Now()
	if (wakeup || isNew) && !e.throttled && (e.deadline <= now || e.budget <= 0 || mqOverflow(e, now)) {
		e.deadline = now + e.period
		e.budget = e.runtime
	}
	c.mq.q = append(c.mq.q, t)
	e.queued = true
	if !e.throttled {
		c.mq.nrReady++
	}
}

// mqDequeue takes t off c's MicroQuanta queue if it is there (the running
// thread is not).
func (k *Kernel) mqDequeue(c *cpuState, t *Task) {
	if t.mq == nil || !t.mq.queued {
		return
	}
	c.mq.q = removeTask(c.mq.q, t)
	t.mq.queued = false
	if !t.mq.throttled {
		c.mq.nrReady--
	}
}

// mqPick takes the first thread of c's queue that has budget.
func (k *Kernel) mqPick(c *cpuState) *Task {
	if c.mq.nrReady == 0 {
		return nil
	}
	for i, t := range c.mq.q {
		if !t.mq.throttled {
			c.mq.q = slices.Delete(c.mq.q, i, i+1)
			t.mq.queued = false
			c.mq.nrReady--
			return t
		}
	}
	panic(fmt.Sprintf("kernel: cpu%d MicroQuanta queue counts %d ready, holds none", c.id, c.mq.nrReady))
}

// mqPutPrev returns a still-runnable MicroQuanta prev to its queue: at the
// head when a higher class preempted it, at the tail when throttled.
func (k *Kernel) mqPutPrev(c *cpuState, t *Task) {
	e := t.mq
	e.queued = true
	if e.throttled {
		c.mq.q = append(c.mq.q, t)
		return
	}
	c.mq.q = append(c.mq.q, nil)
	copy(c.mq.q[1:], c.mq.q)
	c.mq.q[0] = t
	c.mq.nrReady++
}

// mqCharge takes delta of CPU time from running t's budget and throttles
// it when the budget is spent (update_curr_dl, dl_runtime_exceeded). The
// budget timer reschedules the CPU.
func (k *Kernel) mqCharge(t *Task, delta sim.Time) {
	e := t.mq
	e.budget -= delta
	if e.budget > 0 || e.throttled {
		return
	}
	e.throttled = true
	k.stats.MQThrottles++
	at := e.deadline
	if now := k.eng.Now(); at < now {
		at = now // the period ended while it ran: replenish at once
	}
	e.replenish.Arm(k.eng, at, k.id, sim.Event{Kind: evMQRefill, A: int32(t.id)})
}

// mqSwitched arms c's budget timer for a MicroQuanta thread that schedule
// just picked (kept or switched in), and stops it otherwise.
func (k *Kernel) mqSwitched(c *cpuState, next *Task, now sim.Time) {
	if next == nil || next.class != ClassMicroQuanta || next.mq.throttled {
		c.mq.budgetTimer.Stop()
		return
	}
	c.mq.budgetTimer.Arm(k.eng, now+next.mq.budget, k.id, sim.Event{Kind: evMQBudget, A: int32(c.id)})
}

// mqBudgetEnd runs when the budget of c's running MicroQuanta thread ends:
// charge it (which throttles it) and reschedule.
func (k *Kernel) mqBudgetEnd(c *cpuState) {
	t := c.curr
	if t == nil || t.class != ClassMicroQuanta {
		return
	}
	now := k.eng.Now()
	k.updateCurr(c, now)
	if t.mq.throttled {
		k.resched(c.id)
		return
	}
	c.mq.budgetTimer.Arm(k.eng, now+t.mq.budget, k.id, sim.Event{Kind: evMQBudget, A: int32(c.id)})
}

// mqReplenish ends t's blackout (dl_task_timer + replenish_dl_entity): a
// runtime per period elapsed repays the budget; a thread that lags more
// than a period behind starts afresh. A queued thread then preempts what
// its CPU runs if that is of a lower class.
func (k *Kernel) mqReplenish(t *Task) {
	e := t.mq
	if t.state == TaskDead || e == nil || !e.throttled {
		return
	}
	now := k.eng.Now()
	running := t.state == TaskRunning && t.cpu >= 0 && k.cpus[t.cpu].curr == t
	if running {
		k.updateCurr(&k.cpus[t.cpu], now)
	}
	for e.budget <= 0 {
		e.deadline += e.period
		e.budget += e.runtime
	}
	if e.deadline <= now {
		e.deadline = now + e.period
		e.budget = e.runtime
	}
	e.throttled = false
	if t.class != ClassMicroQuanta {
		return
	}
	switch {
	case running:
		c := &k.cpus[t.cpu]
		c.mq.budgetTimer.Arm(k.eng, now+e.budget, k.id, sim.Event{Kind: evMQBudget, A: int32(c.id)})
	case e.queued:
		k.cpus[t.cpu].mq.nrReady++
		k.checkPreempt(t.cpu, t, -1)
	}
}

// mqLeave drops t's MicroQuanta queue membership and blackout when it
// changes class.
func (k *Kernel) mqLeave(t *Task) {
	if t.mq == nil {
		return
	}
	t.mq.replenish.Stop()
	t.mq.throttled = false
}

// mqBusy reports whether c has a MicroQuanta thread ready to run (queued
// with budget): for the classes below, a higher class wants the CPU.
func (c *cpuState) mqBusy() bool { return c.mq.nrReady > 0 }

// mqLevel is the cpupri level of cpu for placing a waking MicroQuanta
// thread: 0 idle, 1 running or queuing only CFS or ghOSt work, 2 running
// or queuing a thread of the MicroQuanta class or above.
func (k *Kernel) mqLevel(cpu int) int {
	c := &k.cpus[cpu]
	if cur := c.curr; cur != nil && cur.class <= ClassMicroQuanta {
		return 2
	}
	if len(c.agentQ) > 0 || len(c.rtQ) > 0 || c.mq.nrReady > 0 {
		return 2
	}
	if k.idleCPU(cpu) {
		return 0
	}
	return 1
}

// mqSelectCPU places a waking MicroQuanta thread (select_task_rq_rt with
// find_lowest_rq). A throttled thread stays where it is.
func (k *Kernel) mqSelectCPU(t *Task, prev, waker int) int {
	if t.mq != nil && t.mq.throttled {
		return prev
	}
	if k.mqLevel(prev) < 2 {
		return prev
	}
	best := 2
	var lowest CPUSet
	for cpu := t.affinity.First(); cpu >= 0; cpu = t.affinity.Next(cpu + 1) {
		l := k.mqLevel(cpu)
		if l < best {
			best, lowest = l, CPUSet{}
		}
		if l == best && l < 2 {
			lowest.Add(cpu)
		}
	}
	if best == 2 {
		return prev
	}
	// find_lowest_rq: the waker's CPU if it is in the innermost domain
	// that has a candidate, else that domain's first candidate.
	for i := range k.domains[prev] {
		span := k.domains[prev][i].span.And(lowest)
		if span.Empty() {
			continue
		}
		if waker >= 0 && span.Has(waker) {
			return waker
		}
		return span.First()
	}
	return lowest.First()
}

// mqSetClass runs when a running thread changes class from old to nc,
// before t.class changes
// (__sched_setscheduler): leaving MicroQuanta ends its blackout; entering
// it starts a period with a full budget.
func (k *Kernel) mqSetClass(t *Task, old, nc Class) {
	if old == ClassMicroQuanta {
		k.mqLeave(t)
	}
	if nc == ClassMicroQuanta {
		k.mqEnsure(t)
		t.mq.deadline = k.eng.Now() + t.mq.period
		t.mq.budget = t.mq.runtime
		t.mq.throttled = false
		t.mq.replenish.Stop()
		if t.state == TaskRunning && t.cpu >= 0 && k.cpus[t.cpu].curr == t {
			c := &k.cpus[t.cpu]
			c.mq.budgetTimer.Arm(k.eng, k.eng.Now()+t.mq.budget, k.id, sim.Event{Kind: evMQBudget, A: int32(c.id)})
		}
	}
}
