package kernel

import (
	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/hw"
)

// This file runs thread programs on CPUs: it fetches each operation from
// the task's coroutine, progresses its work at the rate the machine model
// gives (recomputed whenever a sibling's activity changes), and applies
// the operation's effect when the work is done.

// resumeCurrent lets c's current task progress, unless an interrupt
// handler holds the CPU (exitIRQ resumes it then).
func (k *Kernel) resumeCurrent(c *cpuState, now sim.Time) {
	if c.inIRQ || c.switching {
		return
	}
	k.runTask(c, now)
}

// cpuClock is t's CPU clock (CLOCK_THREAD_CPUTIME_ID) at now while it
// is c's current task: the time it has been current, interrupts and the
// switch that started it included. Linux charges a task from the pick that
// starts it (exec_start) to the update_curr that stops it, with no
// deduction for a reschedule IPI: scheduler_ipi skips irq_enter when it
// only folds need_resched ([L415] core.c, "a fair share of IPIs are still
// resched only"), so not even IRQ_TIME_ACCOUNTING takes its time out.
func (k *Kernel) cpuClock(c *cpuState, t *Task, now sim.Time) sim.Time {
	if c.curr != t {
		return t.runtime
	}
	return t.runtime + now - t.se.execStart
}

// pauseCurrent stops the current task's progress (preemption, interrupt).
func (k *Kernel) pauseCurrent(c *cpuState, now sim.Time) {
	t := c.curr
	if t != nil && t.inOp {
		t.progress.SetRate(now, 0)
	}
	c.opTimer.Stop()
}

// rateOf is the rate t progresses at on c now.
func (k *Kernel) rateOf(c *cpuState, t *Task) hw.Rate {
	if t.cur.kind == opSpin || t.cur.kind == opSpinWait {
		return hw.FullRate // spinning counts CPU time, not work done
	}
	sib := hw.SiblingIdle
	for _, s := range k.m.Siblings(c.id) {
		if a := k.cpus[s].activity; a > sib {
			sib = a
		}
	}
	remote := t.numaHome >= 0 && t.numaHome != k.m.CPU(c.id).Socket
	return k.m.ExecRate(sib, t.memShare, remote)
}

// runTask drives c's current task: it starts operations and completes
// those whose work is zero until one needs simulated time, then arms the
// CPU's operation timer for its completion.
func (k *Kernel) runTask(c *cpuState, now sim.Time) {
	for {
		t := c.curr
		if t.g != nil && t.g.spinning {
			k.setActivity(c, hw.SiblingSpinning)
			return
		}
		if !t.inOp {
			k.fetchOp(t)
			if c.curr != t || t.state != TaskRunning {
				return // the program's panic killed it (an agent crash)
			}
			if t.cur.kind == opSpinWait && t.wakePending {
				t.wakePending = false // the location already changed
				t.cur.work = 0
			}
			t.inOp = true
			if t.cur.kind == opSpin {
				t.cur.d = k.cpuClock(c, t, now) + sim.Time(t.cur.work)
			}
			t.progress.Start(now, t.cur.work, k.rateOf(c, t))
		} else if t.progress.Rate() == 0 {
			if t.cur.kind == opSpin {
				// The loop checks the clock again: what the interrupt or
				// the switch back in took has counted on it.
				t.progress.Start(now, int64(max(t.cur.d-k.cpuClock(c, t, now), 0)), k.rateOf(c, t))
			} else {
				t.progress.SetRate(now, k.rateOf(c, t))
			}
		}
		if t.cur.kind == opSpinWait {
			k.setActivity(c, hw.SiblingSpinning)
		}
		if t.progress.Remaining(now) > 0 {
			if at := t.progress.FinishAt(); at != sim.Never {
				c.opTimer.Arm(k.eng, at, k.id, sim.Event{Kind: evOpDone, A: int32(c.id)})
			} else {
				c.opTimer.Stop() // an unbounded SpinWait: only a wakeup ends it
			}
			return
		}
		if !k.applyEffect(c, t) {
			return
		}
	}
}

// fetchOp takes t's next operation: pending kernel work first, then the
// program's next request. A program that returns (or panics) exits.
func (k *Kernel) fetchOp(t *Task) {
	if t.pendingKernelWork > 0 {
		t.cur = op{kind: opCompute, work: t.pendingKernelWork}
		t.pendingKernelWork = 0
		return
	}
	req, ok, err := t.co.Resume()
	if err != nil {
		k.programPanic(t, err)
	}
	if !ok {
		req = op{kind: opExit}
	}
	if req.kind >= opGhostConsume && t.g != nil && t.g.isAgent {
		req.work = k.ghostOpWork(t, &req)
	}
	if t.g != nil && t.g.policyWork > 0 {
		// Policy computation charged since the last call comes first.
		req.work += t.g.policyWork
		t.g.policyWork = 0
	}
	t.cur = req
}

// completeOp runs when c's current task finished its operation's work.
func (k *Kernel) completeOp(c *cpuState) {
	if k.applyEffect(c, c.curr) {
		k.runTask(c, k.eng.Now())
	}
}

// addWork adds kernel work (full-rate ps) to t: to the operation in
// progress, or before its next one.
func (k *Kernel) addWork(t *Task, now sim.Time, work int64) {
	if t.inOp && t.cur.kind == opSpin {
		// Kernel work in the task's context runs on its CPU clock, so it
		// does not move where the Spin ends on the clock; but the loop
		// only sees the clock back in user mode, after the work is done.
		// (Work added while the spin is paused, as schedule() keeping the
		// task does, is folded into the clock's recount on resume: it is
		// lost only if the clock passes the target meanwhile.)
		t.progress.Start(now, max(t.progress.Remaining(now), work), t.progress.Rate())
		return
	}
	if t.inOp {
		t.progress.Start(now, t.progress.Remaining(now)+work, t.progress.Rate())
		return
	}
	t.pendingKernelWork += work
}

// applyEffect applies the effect of t's finished operation. It reports
// whether t goes on running on c.
func (k *Kernel) applyEffect(c *cpuState, t *Task) bool {
	t.inOp = false
	cur := t.cur
	t.cur = op{}
	switch cur.kind {
	case opCompute, opSpin:
		return true
	case opSpinWait:
		k.setActivity(c, hw.SiblingComputing)
		return true
	case opBlock:
		if t.wakePending {
			t.wakePending = false
			return true
		}
		k.blockCurrent(c, t)
		return false
	case opSleep:
		t.sleepTimer.Arm(k.eng, k.eng.Now()+cur.d, k.id, sim.Event{Kind: evSleepDone, A: int32(t.id)})
		k.blockCurrent(c, t)
		return false
	case opIOWait:
		k.stats.IOWaits++
		t.ioWait = true
		t.sleepTimer.Arm(k.eng, k.eng.Now()+max(cur.d, 0), k.id, sim.Event{Kind: evIODone, A: int32(t.id)})
		k.blockCurrent(c, t)
		return false
	case opYield:
		k.stats.Yields++
		if t.class == ClassCFS {
			k.cfsYield(c)
		}
		if t.class == ClassGhost {
			t.g.yielded = true // YIELD once it is off the CPU
		}
		k.schedule(c)
		return false
	case opWake:
		if cost := k.wake(cur.target, c.id); cost > 0 {
			t.pendingKernelWork += int64(cost)
		}
		return true
	case opSetAffinity:
		cost, keep := k.setAffinity(c, cur.target, *cur.set)
		if cost > 0 {
			t.pendingKernelWork += int64(cost)
		}
		return keep
	case opSpawn:
		k.spawnCost = 0
		cur.spawn.t, cur.spawn.err = k.spawn(cur.spawn.spec, t, c.id)
		if k.spawnCost > 0 {
			t.pendingKernelWork += int64(k.spawnCost)
		}
		return c.curr == t && t.state == TaskRunning
	case opSetNice:
		n := min(max(cur.n, -20), 19)
		switch t.class {
		case ClassCFS:
			k.cfsReweight(c, t, n)
		case ClassGhost:
			t.setNice(n)
			// task_deliver_msg_priority_changed: nothing while TASK_NEW is
			// held (the agent does not know the task yet; TASK_NEW
			// carries the new nice).
			if !t.g.newPending {
				k.produceTaskMsg(t, Message{Type: MsgTaskPriorityChanged, Nice: n}, c.id)
			}
			k.forceOffCPU(c)
			return false
		default:
			t.setNice(n)
		}
		return true
	case opSetClass:
		if x := cur.target; x != nil && x != t {
			t.pendingKernelWork += int64(k.setClassOf(c, x, Class(cur.n)))
			return c.curr == t && t.state == TaskRunning
		}
		k.changeClass(c, t, Class(cur.n))
		return true
	case opExit:
		k.exitCurrent(c, t)
		return false
	}
	if cur.kind >= opGhostConsume {
		return k.ghostEffect(c, t, cur)
	}
	panic("kernel: unknown operation")
}

// blockCurrent puts c's running task to sleep and reschedules.
//
// An agent blocking in a ghOSt call (blocked_in_run) with RTLA_ON_IDLE may
// be picked again by that same schedule() when the CPU would otherwise
// idle: it then stays current.
func (k *Kernel) blockCurrent(c *cpuState, t *Task) {
	k.deactivate(t)
	t.state = TaskBlocked
	t.migrateTo = -1 // a push asked for meanwhile finds it gone
	k.schedule(c)
	if t.state == TaskBlocked {
		t.cpu = -1
	}
}

// exitCurrent ends c's running task.
func (k *Kernel) exitCurrent(c *cpuState, t *Task) {
	if t.g != nil && t.g.isAgent {
		k.releaseAgent(t)
	}
	k.deactivate(t)
	t.state = TaskDead
	t.exitedAt = k.eng.Now()
	t.sleepTimer.Stop()
	k.stats.Exited++
	k.schedule(c)
	t.cpu = -1
	k.taskExited(t)
	t.co.Stop()
	t.co = nil // the program and its goroutine can go
}

// taskExited does the ghOSt bookkeeping of a task's death: a ghOSt task
// leaves its enclave's list (its BLOCKED and DEAD went out as it left the
// CPU, or go out now if it never ran again).
func (k *Kernel) taskExited(t *Task) {
	g := t.g
	if g == nil || g.isAgent || t.class != ClassGhost {
		return
	}
	if g.sw.Flags&SWCanFree == 0 {
		k.produceTaskMsg(t, Message{Type: MsgTaskBlocked, Runtime: t.runtime}, -1)
		g.sw.Flags &^= SWTaskRunnable | SWTaskOnCPU
		g.sw.Flags |= SWCanFree
		k.produceTaskMsg(t, Message{Type: MsgTaskDead}, -1)
	}
	g.enclave.tasks = removeTask(g.enclave.tasks, t)
}

// setClassOf is sched_setscheduler(pid, SCHED_NORMAL) by c's running task
// on another task t (Thread.SetClassOf): a ghOSt t leaves its enclave for
// CFS in whatever state it is, as the enclave reaper moves it
// (moveToCFS: one DEPARTED). It returns the caller's extra kernel work,
// the target run queue's lock line.
func (k *Kernel) setClassOf(c *cpuState, t *Task, nc Class) sim.Time {
	if nc != ClassCFS || t.state == TaskDead || t.class != ClassGhost || t.g == nil || t.g.isAgent {
		return 0
	}
	var cost sim.Time
	if cpu := t.cpu; cpu >= 0 && cpu != c.id {
		cost = k.m.LineTransfer(c.id, cpu, -1)
	}
	k.moveToCFS(t)
	return cost
}

// changeClass moves c's running task t to class nc and lets the class
// walk decide who runs (__sched_setscheduler).
func (k *Kernel) changeClass(c *cpuState, t *Task, nc Class) {
	if nc == t.class || nc >= numClasses || nc == ClassIdle || nc == ClassStop || nc == ClassGhost || t.class == ClassAgent {
		return // entering ghOSt goes through an enclave (EnterEnclave)
	}
	// Charge the old class for the time since the last accounting point
	// (__sched_setscheduler dequeues and puts the running task first).
	k.updateCurr(c, k.eng.Now())
	if t.class == ClassGhost {
		k.leaveGhost(t, c.id)
	}
	k.deactivate(t)
	if t.class == ClassCFS {
		c.cfs.curr = nil
	}
	wasGhost := t.class == ClassGhost
	k.mqSetClass(t, t.class, nc)
	t.class = nc
	if nc == ClassCFS {
		if wasGhost {
			placeFromGhost(c, t)
		}
		c.cfs.curr = t
		t.se.execStart = k.eng.Now()
		t.se.prevSumExec = t.se.sumExec
		k.cfsEnqueue(c, t, false, false)
	}
	if wasGhost {
		pushIntoMask(t, c.id)
	}
	// FIFO classes keep their running task off the queue.
	k.resched(c.id)
}

// setActivity records what c is doing for its SMT siblings' rates, and
// updates the rate of each sibling's running task.
func (k *Kernel) setActivity(c *cpuState, a hw.SiblingActivity) {
	if c.activity == a {
		return
	}
	c.activity = a
	for _, s := range k.m.Siblings(c.id) {
		k.refreshRate(&k.cpus[s])
	}
}

// endSpinWait ends t's SpinWait now: the location it polls changed.
// A task preempted in the middle of it returns as soon as it runs again.
func (k *Kernel) endSpinWait(t *Task) {
	now := k.eng.Now()
	t.progress.Start(now, 0, t.progress.Rate())
	if t.state != TaskRunning || t.cpu < 0 {
		return
	}
	c := &k.cpus[t.cpu]
	if c.curr != t || c.switching || c.inIRQ {
		return // resumeCurrent completes it
	}
	c.opTimer.Arm(k.eng, now, k.id, sim.Event{Kind: evOpDone, A: int32(c.id)})
}

// refreshRate re-evaluates the rate of c's running task and moves its
// completion if the rate changed.
func (k *Kernel) refreshRate(c *cpuState) {
	t := c.curr
	if t == nil || c.switching || c.inIRQ || !t.inOp || (t.g != nil && t.g.spinning) {
		return // a spinning agent has no work in progress to re-rate
	}
	r := k.rateOf(c, t)
	if r == t.progress.Rate() {
		return
	}
	now := k.eng.Now()
	t.progress.SetRate(now, r)
	c.opTimer.Arm(k.eng, t.progress.FinishAt(), k.id, sim.Event{Kind: evOpDone, A: int32(c.id)})
}

// programPanic records a panic in a thread program; the task exits.
func (k *Kernel) programPanic(t *Task, err error) {
	if t.g != nil && t.g.isAgent && t.g.proc != nil {
		// A panic in policy code is an agent crash: the process dies,
		// the kernel detaches its agents; the simulation goes on.
		t.g.proc.crashedBy(err)
		return
	}
	k.stats.ProgramPanics++
	if k.firstPanic == nil {
		k.firstPanic = err
	}
}

// chargeKernel adds kernel work d on cpu to whatever the CPU is doing:
// the schedule() in progress, a context switch, an interrupt handler, or
// the running task (as time stolen from it); an idle CPU runs it as
// interrupt work.
func (k *Kernel) chargeKernel(cpu int, d sim.Time) {
	if d <= 0 || cpu < 0 {
		return
	}
	c := &k.cpus[cpu]
	switch {
	case c.inSchedule:
		c.schedWork += d
	case c.switching:
		at, _ := c.switchTimer.Armed()
		c.switchTimer.Arm(k.eng, at+d, k.id, sim.Event{Kind: evSwitchDone, A: int32(c.id)})
	case c.inIRQ:
		c.irqEnd += d
		c.irqTimer.Arm(k.eng, c.irqEnd, k.id, sim.Event{Kind: evIRQDone, A: int32(c.id)})
	case c.curr != nil:
		t := c.curr
		now := k.eng.Now()
		if t.inOp && !(t.g != nil && t.g.spinning) {
			k.addWork(t, now, int64(d))
			if t.progress.Rate() > 0 {
				c.opTimer.Arm(k.eng, t.progress.FinishAt(), k.id, sim.Event{Kind: evOpDone, A: int32(c.id)})
			}
		} else {
			k.enterIRQ(c, d)
		}
	default:
		k.enterIRQ(c, d)
	}
}
