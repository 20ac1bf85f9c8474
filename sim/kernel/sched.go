package kernel

import (
	"fmt"
	"slices"

	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/hw"
)

// This file is the core scheduler (kernel/sched/core.c): the class walk,
// try_to_wake_up, activate/deactivate, preemption checks, and context
// switches.

// activate puts a runnable task on cpu's run queue of its class
// (activate_task). wakeup and isNew select CFS placement.
func (k *Kernel) activate(t *Task, cpu int, wakeup, isNew bool) {
	c := &k.cpus[cpu]
	t.state = TaskRunnable
	t.cpu = cpu
	switch t.class {
	case ClassAgent:
		c.agentQ = append(c.agentQ, t)
	case ClassRT:
		c.rtQ = append(c.rtQ, t)
	case ClassMicroQuanta:
		k.mqEnqueue(c, t, wakeup, isNew)
	case ClassCFS:
		k.cfsEnqueue(c, t, wakeup, isNew)
	case ClassGhost:
		c.ghostQ = append(c.ghostQ, t)
		k.gapWaiting(t, true)
		k.startTick(c, k.eng.Now()) // see tick: queued ghOSt tasks keep it
	default:
		panic(fmt.Sprintf("kernel: activate %v in class %v", t, t.class))
	}
}

// deactivate takes t off its CPU's run queue (deactivate_task). The
// running task stays current until schedule() switches away from it.
func (k *Kernel) deactivate(t *Task) {
	c := &k.cpus[t.cpu]
	switch t.class {
	case ClassAgent:
		c.agentQ = removeTask(c.agentQ, t)
	case ClassRT:
		c.rtQ = removeTask(c.rtQ, t)
	case ClassMicroQuanta:
		k.mqDequeue(c, t)
	case ClassCFS:
		k.cfsDequeue(c, t)
	case ClassGhost:
		c.ghostDequeue(t)
	}
}

// popFront removes and returns the first task of a non-empty queue,
// keeping the array (the queues are short: copying beats reallocating).
func popFront(q *[]*Task) *Task {
	s := *q
	t := s[0]
	n := copy(s, s[1:])
	s[n] = nil
	*q = s[:n]
	return t
}

func removeTask(q []*Task, t *Task) []*Task {
	if i := slices.Index(q, t); i >= 0 {
		return slices.Delete(q, i, i+1)
	}
	return q
}

// nrRunning returns the runnable tasks of a CPU, the running one included
// (rq->nr_running).
func (c *cpuState) nrRunning() int {
	n := len(c.agentQ) + len(c.rtQ) + c.mq.nrReady + c.cfs.nr + len(c.ghostQ)
	if t := c.curr; t != nil && t.class != ClassCFS && t.state == TaskRunning {
		n++ // FIFO classes keep the running task off their queues
	}
	return n
}

// checkPreempt decides whether newly runnable t preempts cpu's current
// task (check_preempt_curr), and asks for a reschedule if so. from is the
// CPU doing the wakeup, -1 for none; it returns the CPU time that CPU
// spends on the request (an IPI send).
func (k *Kernel) checkPreempt(cpu int, t *Task, from int) sim.Time {
	c := &k.cpus[cpu]
	curr := c.curr
	switch {
	case t.class == ClassGhost:
		// A waking ghOSt task never preempts: policy lives in the agent.
		return 0
	case curr == nil:
		// Idle (or switching to idle): the idle class loses to everyone.
	case t.class < curr.class:
	case curr.class == ClassAgent && curr.g != nil && curr.g.isAgent && (t.class == ClassCFS || t.class == ClassRT || t.class == ClassMicroQuanta):
		// The agent keeps the CPU, but goes through pick again, which
		// re-picks it with BOOST_PRIO set: other-class work waits here
		// (pick_next_ghost_agent).
	case t.class == curr.class && t.class == ClassCFS:
		k.updateCurr(c, k.eng.Now())
		if !k.cfsWakeupPreempts(curr, t) {
			return 0
		}
	default:
		return 0
	}
	return k.reschedFrom(cpu, from)
}

// resched marks cpu as needing to reschedule at the next opportunity,
// from code running on that CPU (resched_curr, local case).
func (k *Kernel) resched(cpu int) {
	c := &k.cpus[cpu]
	c.needResched = true
	if c.switching || c.inIRQ || c.reschedQueued {
		return // checked when the switch or interrupt ends
	}
	c.reschedQueued = true
	k.at(k.eng.Now(), evResched, int32(cpu), 0)
}

// reschedFrom asks cpu to reschedule on behalf of CPU from (resched_curr
// from a remote CPU). An idle CPU polls its need_resched flag (mwait on
// the thread flags) and wakes when the line changes hands; a busy one
// needs an IPI. It returns the sender's CPU time.
func (k *Kernel) reschedFrom(cpu, from int) sim.Time {
	if from < 0 || from == cpu {
		k.resched(cpu)
		return 0
	}
	c := &k.cpus[cpu]
	if c.needResched {
		return 0
	}
	if c.curr == nil && !c.switching {
		c.needResched = true
		if !c.idleWakeArmed {
			c.idleWakeArmed = true
			k.at(k.eng.Now()+k.m.LineTransfer(from, cpu, -1), evIdleWake, int32(cpu), 0)
		}
		return 0
	}
	k.sendIPI(from, cpu, ipiResched)
	return k.costs.IPISend
}

// pickNext walks the classes in priority order (pick_next_task).
func (k *Kernel) pickNext(c *cpuState, prev *Task, now sim.Time) *Task {
	if len(c.agentQ) > 0 {
		return popFront(&c.agentQ)
	}
	if len(c.rtQ) > 0 {
		return popFront(&c.rtQ)
	}
	if t := k.mqPick(c); t != nil {
		return t
	}
	if k.coreSchedOn(c) {
		if t := k.corePick(c, now); t != nil {
			return t
		}
		return k.pickGhost(c, prev)
	}
	if t := k.cfsPick(c, now); t != nil {
		return t
	}
	return k.pickGhost(c, prev)
}

// putPrev returns a task that is still runnable to its class's queue
// (put_prev_task).
func (k *Kernel) putPrev(c *cpuState, t *Task) {
	switch t.class {
	case ClassCFS:
		k.cfsPutPrev(c, t)
	case ClassAgent:
		c.agentQ = append(c.agentQ, t)
	case ClassRT:
		c.rtQ = append(c.rtQ, t)
	case ClassMicroQuanta:
		k.mqPutPrev(c, t)
	case ClassGhost:
		c.ghostQ = append(c.ghostQ, t)
		k.gapWaiting(t, true)
	}
}

// schedule is __schedule on CPU c: account the previous task, put it back
// if it is still runnable, pick the next by the class walk, and start the
// context switch.
func (k *Kernel) schedule(c *cpuState) {
	now := k.eng.Now()
	c.needResched = false
	if c.switching {
		// A kill or forced preemption mid-switch: the switch is abandoned.
		c.switching = false
		c.switchTimer.Stop()
	}
	prev := c.curr
	if prev != nil {
		k.updateCurr(c, now)
		k.pauseCurrent(c, now)
		if prev.state == TaskRunning {
			prev.state = TaskRunnable
			k.putPrev(c, prev)
			if dst := prev.migrateTo; dst >= 0 {
				prev.migrateTo = -1
				prev.lastCPU, prev.lastRan = c.id, now
				k.deactivate(prev)
				k.migrateVruntime(prev, c.id, dst)
				k.activate(prev, dst, false, false)
				k.checkPreempt(dst, prev, c.id)
			}
		} else if prev.class == ClassCFS && c.cfs.curr == prev {
			c.cfs.curr = nil
		}
		prev.lastCPU = c.id
		prev.lastRan = now
	}
	// A ghOSt task switched out of a CPU outside its enclave (it entered
	// ghOSt while running there) still produces its messages.
	ghostPrev := prev != nil && prev.class == ClassGhost && prev.g != nil
	if c.g.enclave != nil || ghostPrev {
		c.inSchedule = true
		k.ghostPrologue(c, prev)
	}
	next := k.pickNext(c, prev, now)
	k.mqSwitched(c, next, now)
	if c.g.enclave != nil || ghostPrev {
		if next != prev {
			k.ghostSwitched(c, prev, next, now)
		} else if next != nil && next == c.g.agent {
			k.agentPicked(c)
			k.updateAvailability(c)
		}
	}
	c.inSchedule = false
	extra := c.schedWork
	c.schedWork = 0
	if next == nil && prev == nil {
		k.enterIRQ(c, extra)
		return
	}
	if next == nil {
		// Going idle: idle_balance first (newly idle balancing). The
		// switch to the idle task is a context switch like any other
		// (__schedule calls context_switch for prev != next, [L415]
		// core.c): it costs the minimal switch on this CPU, and a task
		// woken here meanwhile waits for it to finish.
		c.curr = nil
		k.switchRecord(c, prev, nil, now)
		k.setActivity(c, hw.SiblingIdle)
		k.enterIRQ(c, extra+k.costs.ContextSwitchMin)
		c.busy.Set(now, false)
		c.idleSince = now
		if pulled := k.newIdleBalance(c); pulled {
			k.resched(c.id)
		}
		return
	}
	next.state = TaskRunning
	next.cpu = c.id
	if next == prev {
		// The previous task goes on: no switch.
		if extra > 0 {
			k.addWork(prev, now, int64(extra))
		}
		k.resumeCurrent(c, now)
		return
	}
	if prev == nil {
		k.updateAvgIdle(c, now)
	}
	c.curr = next
	k.switchRecord(c, prev, next, now)
	k.stats.ContextSwitches++
	next.se.execStart = now // every class accounts runtime from here
	c.busy.Set(now, true)
	k.setActivity(c, hw.SiblingComputing)
	k.startTick(c, now)
	c.switching = true
	cost := k.switchCost(next) + extra
	if cost == 0 {
		k.finishSwitch(c)
		return
	}
	c.switchTimer.Arm(k.eng, now+cost, k.id, sim.Event{Kind: evSwitchDone, A: int32(c.id)})
}

// switchCost is the CPU time of a context switch to next: the minimal
// thread switch, or the CFS switch (which includes CFS's pick and put
// work) when next is a CFS task. The ghOSt issue adds the commit path.
func (k *Kernel) switchCost(next *Task) sim.Time {
	if next.class == ClassCFS {
		return k.costs.ContextSwitchCFS
	}
	return k.costs.ContextSwitchMin
}

// finishSwitch runs when the context switch to c.curr completes: the task
// starts (or resumes) executing, unless something asked for another
// reschedule meanwhile.
func (k *Kernel) finishSwitch(c *cpuState) {
	c.switching = false
	if c.needResched {
		k.schedule(c)
		return
	}
	t := c.curr
	now := k.eng.Now()
	if t.lastCPU != c.id {
		if t.lastCPU >= 0 {
			k.stats.migrate(k.m.Distance(t.lastCPU, c.id))
		}
		if pen := k.m.RefillPenalty(t.lastCPU, c.id, t.footprintKB); pen > 0 {
			k.addWork(t, now, int64(pen))
		}
	}
	t.lastCPU = c.id
	k.vmEnter(c, t, now)
	k.resumeCurrent(c, now)
}

// updateAvgIdle folds the idle period that ends now into rq->avg_idle
// (update_avg in ttwu_do_wakeup: avg += (sample - avg) / 8, capped at
// twice the migration cost).
func (k *Kernel) updateAvgIdle(c *cpuState, now sim.Time) {
	sample := now - c.idleSince
	limit := 2 * k.cfs.migrateCost
	if sample > limit {
		sample = limit
	}
	c.avgIdle += (sample - c.avgIdle) / 8
}

// SwitchRecord is one context switch on one CPU. Prev and Next are task
// ids, -1 for the idle task.
type SwitchRecord struct {
	At        sim.Time
	CPU       int
	Prev      int
	PrevState TaskState
	Next      int
}

func (k *Kernel) switchRecord(c *cpuState, prev, next *Task, now sim.Time) {
	if k.onSwitch == nil && !k.tracing() {
		return
	}
	r := SwitchRecord{At: now, CPU: c.id, Prev: -1, Next: -1}
	if prev != nil {
		r.Prev = prev.id
		r.PrevState = prev.state
	}
	if next != nil {
		r.Next = next.id
	}
	if k.onSwitch != nil {
		k.onSwitch(r)
	}
	if k.tracing() {
		k.traceEv(TraceEvent{At: now, CPU: c.id, Kind: TraceSwitch, Prev: r.Prev, PrevState: r.PrevState, Next: r.Next})
	}
}

// wake wakes t on behalf of CPU from (-1: no CPU, such as a device or the
// workload's driver) and returns the CPU time the waker spends beyond the
// system call: the remote run-queue lock and any IPI.
func (k *Kernel) wake(t *Task, from int) sim.Time {
	switch t.state {
	case TaskDead:
		return 0
	case TaskRunning, TaskRunnable:
		if t.inOp && t.cur.kind == opSpinWait {
			k.endSpinWait(t)
			return 0
		}
		t.wakePending = true
		return 0
	}
	if t.ioWait {
		t.wakePending = true // TASK_UNINTERRUPTIBLE: kept for the next Block
		return 0
	}
	t.sleepTimer.Stop()
	t.wakePending = false
	if t.class == ClassGhost {
		k.ghostWake(t, from)
		k.stats.Wakeups++
		return 0
	}
	cpu := k.selectTaskRQ(t, from)
	var cost sim.Time
	if from >= 0 && from != cpu {
		cost += k.m.LineTransfer(from, cpu, -1) // the target's run-queue lock
	}
	k.migrateVruntime(t, t.lastCPU, cpu)
	k.activate(t, cpu, true, false)
	t.wokenAt = k.eng.Now()
	k.stats.Wakeups++
	cost += k.checkPreempt(cpu, t, from)
	return cost
}
