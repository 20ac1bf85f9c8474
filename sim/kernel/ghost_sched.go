package kernel

import (
	"github.com/ghostsim/ghostsim/sim"
)

// This file ties the ghOSt class into the core scheduler: what schedule()
// does for ghOSt before and after the class walk (pnt_prologue,
// pick_next_ghost_agent, _pick_next_task_ghost, prepare_task_switch),
// wakeups of ghOSt tasks, the tick's ghOSt duties (CPU_TICK,
// commit_at_tick, the watchdog), and enclave destruction.

// ghostPrologue runs before the class walk on c, after prev was put back:
// commits a pre-staged or greedy transaction (balance_ghost), produces the
// deferred messages of prev (TASK_NEW, BLOCKED, YIELD), and PREEMPT for a
// runnable ghOSt prev that will not keep the CPU or a latched task that a
// higher class displaces (docs/GHOST-SEMANTICS.md §1.4, §3.8).
func (k *Kernel) ghostPrologue(c *cpuState, prev *Task) {
	if c.g.enclave != nil && c.g.agent != nil {
		k.commitLocalTarget(c, atSchedule)
	}
	if prev != nil && prev.class == ClassGhost && prev.g != nil {
		k.ghostPrevMessages(c, prev)
	}
	// A latched task loses its latch to the agent or a higher class
	// (unless DEFER_LATCHED_PREEMPTION_BY_AGENT and only the agent wants
	// the CPU; the tick bounds that wait).
	if l := c.g.latched; l != nil {
		higher := len(c.rtQ) > 0 || c.mqBusy() || c.cfs.nr > 0
		agent := len(c.agentQ) > 0
		if higher || (agent && c.g.runFlags&RunDeferLatchedAgt == 0) {
			c.g.latched = nil
			k.preemptLatched(c, l, c.id)
		}
	}
}

// ghostPrevMessages produces prev's messages for this switch.
func (k *Kernel) ghostPrevMessages(c *cpuState, prev *Task) {
	g := prev.g
	g.sw.Runtime = prev.runtime
	rtla := RunFlags(0)
	switch prev.state {
	case TaskBlocked, TaskDead:
		if g.newPending {
			g.newPending = false
			k.produceTaskMsg(prev, Message{Type: MsgTaskNew, Nice: prev.nice, Runtime: prev.runtime}, c.id)
		}
		c.g.cpuSeqnum++
		k.produceTaskMsg(prev, Message{Type: MsgTaskBlocked, Runtime: prev.runtime, CPUSeqnum: c.g.cpuSeqnum}, c.id)
		g.sw.Flags &^= SWTaskRunnable
		rtla = RunRTLAOnBlocked
		if prev.state == TaskDead {
			g.sw.Flags &^= SWTaskOnCPU
			g.sw.Flags |= SWCanFree
			k.produceTaskMsg(prev, Message{Type: MsgTaskDead}, c.id)
		}
	case TaskRunnable:
		if g.newPending {
			// The deferred TASK_NEW is this switch's message: no YIELD or
			// PREEMPT with it (docs/GHOST-SEMANTICS.md §1.4).
			g.newPending = false
			k.produceTaskMsg(prev, Message{Type: MsgTaskNew, Runnable: true, Nice: prev.nice, Runtime: prev.runtime}, c.id)
			g.forceOff = true
			g.yielded = false
			return
		}
		switch {
		case g.yielded:
			g.yielded = false
			g.forceOff = true
			c.g.cpuSeqnum++
			k.produceTaskMsg(prev, Message{Type: MsgTaskYield, Runtime: prev.runtime, CPUSeqnum: c.g.cpuSeqnum}, c.id)
			rtla = RunRTLAOnYield
		case k.ghostKeeps(c, prev):
			return
		case g.ignorePrevPreemption:
			g.ignorePrevPreemption = false
			g.forceOff = true
		case c.g.elidePreempt && len(c.agentQ) == 0 && len(c.rtQ) == 0 && !c.mqBusy() && c.cfs.nr == 0:
			// ELIDE_PREEMPT applies only when the ghOSt class picks
			// (_pick_next_task_ghost); the agent or a higher class
			// taking the CPU still preempts prev
			// (pick_next_ghost_agent's check_prev_preemption).
			c.g.elidePreempt = false
		default:
			c.g.cpuSeqnum++
			k.produceTaskMsg(prev, Message{Type: MsgTaskPreempt, Runtime: prev.runtime, CPUSeqnum: c.g.cpuSeqnum}, c.id)
			rtla = RunRTLAOnPreempt
		}
	}
	if c.g.runFlags&rtla != 0 && c.g.agent != nil {
		k.wakeAgentOn(c.id, c.id) // RTLA: schedule the local agent
	}
}

// ghostKeeps reports whether a still-runnable ghOSt prev keeps c: nothing
// of a higher class wants it, no other task is latched, and nothing forces
// prev off (_pick_next_task_ghost keeps running prev).
func (k *Kernel) ghostKeeps(c *cpuState, prev *Task) bool {
	return c.g.agent != nil && len(c.agentQ) == 0 && len(c.rtQ) == 0 && !c.mqBusy() && c.cfs.nr == 0 &&
		(c.g.latched == nil || c.g.latched == prev) && !c.g.mustResched && !prev.g.forceOff &&
		prev.cpu == c.id && !c.g.enclave.dying
}

// pickGhost is the ghOSt class's pick: the latched task, else a runnable
// prev that may keep the CPU, else nothing (or the agent, with
// RTLA_ON_IDLE). A CPU without an agent never runs ghOSt tasks.
func (k *Kernel) pickGhost(c *cpuState, prev *Task) *Task {
	defer func() {
		if prev != nil && prev.g != nil {
			prev.g.forceOff = false
		}
	}()
	// _pick_next_task_ghost spends ELIDE_PREEMPT whether or not the
	// latch displaced a task: it never outlives the latch's pick.
	c.g.elidePreempt = false
	if c.g.agent == nil || c.g.enclave == nil {
		return nil
	}
	if l := c.g.latched; l != nil {
		c.g.latched = nil
		k.chargeKernel(c.id, k.readCost(&c.g.latchLine, c.id))
		if l.state == TaskRunnable && l.cpu == c.id && l.class == ClassGhost {
			c.ghostQ = removeTask(c.ghostQ, l)
			k.gapWaiting(l, false)
			return l
		}
	}
	if prev != nil && prev.class == ClassGhost && prev.state == TaskRunnable && prev.cpu == c.id &&
		!c.g.mustResched && !prev.g.forceOff {
		c.ghostQ = removeTask(c.ghostQ, prev)
		k.gapWaiting(prev, false)
		return prev
	}
	c.g.mustResched = false
	// Nothing latched and prev does not keep the CPU: the enclave's BPF
	// pick-next-task program may latch a task here (ghost_bpf.go).
	if k.runPNT(c, c.g.enclave) {
		l := c.g.latched
		c.g.latched = nil
		c.ghostQ = removeTask(c.ghostQ, l)
		k.gapWaiting(l, false)
		return l
	}
	if c.g.runFlags&RunRTLAOnIdle != 0 {
		if a := c.g.agent; a.g.blockedInRun && !a.g.hung {
			// Run the agent rather than idle.
			a.g.blockedInRun = false
			c.g.runFlags &^= RunRTLAOnIdle
			c.g.agentBarrier++
			c.g.agentLine.write(c.id)
			a.sleepTimer.Stop()
			a.state = TaskRunnable
			a.cpu = c.id
			return a
		}
	}
	return nil
}

// ghostSwitched is prepare_task_switch's ghOSt part, after the class
// walk chose next over prev: status-word flags, TASK_ON_CPU, the agent's
// BOOST_PRIO and the CPU's availability.
func (k *Kernel) ghostSwitched(c *cpuState, prev, next *Task, now sim.Time) {
	if prev != nil && prev.g != nil && !prev.g.isAgent {
		prev.g.sw.Flags &^= SWTaskOnCPU
		prev.g.swLine.write(c.id)
		if prev.state == TaskRunnable && prev.class == ClassGhost {
			prev.g.lastRunnableAt = now
		}
	}
	if next != nil && next.g != nil {
		if next.g.isAgent {
			k.agentPicked(c)
			next.g.sw.Flags |= SWTaskOnCPU
		} else if next.class == ClassGhost {
			if !next.affinity.Has(c.id) {
				// _ghost_commit_txn does not check cpus_allowed: the
				// agent placed it outside its mask.
				k.stats.GhostAffinityOverrides++
			}
			next.g.sw.Flags |= SWTaskOnCPU
			next.g.swLine.write(c.id)
			next.g.sw.SwitchTime = now
			next.g.lastRunnableAt = notWaiting
			if c.g.runFlags&RunSendTaskOnCPU != 0 {
				c.g.runFlags &^= RunSendTaskOnCPU
				c.g.cpuSeqnum++
				k.produceTaskMsg(next, Message{Type: MsgTaskOnCPU, CommitTime: now, CPUSeqnum: c.g.cpuSeqnum}, c.id)
			}
		}
	}
	k.setAvailability(c, next)
	k.notIdle(c, next)
	k.gapIdle(c, next == nil)
}

// notIdle is prepare_task_switch's NEED_CPU_NOT_IDLE edge: after a commit
// of the IDLE gtid with that run flag, the first switch of c to a task
// that is neither ghOSt (agents included) nor idle sends the agent one
// MSG_CPU_NOT_IDLE naming that task, and spends the flag.
func (k *Kernel) notIdle(c *cpuState, next *Task) {
	if c.g.agent == nil || c.g.runFlags&RunNeedCPUNotIdle == 0 ||
		next == nil || next.class == ClassGhost || next.class == ClassAgent {
		return
	}
	c.g.runFlags &^= RunNeedCPUNotIdle
	k.produceCPUMsg(c.id, Message{Type: MsgCPUNotIdle, Gtid: next.gtid()})
}

// updateAvailability tracks whether c is free of higher-class work, the
// agent aside (GHOST_SW_CPU_AVAIL), and tells the agent when it changes
// if the enclave asked for it.
func (k *Kernel) updateAvailability(c *cpuState) { k.setAvailability(c, c.curr) }

// setAvailability is updateAvailability for a CPU about to run cur: in
// prepare_task_switch c.curr is still the task being switched out.
func (k *Kernel) setAvailability(c *cpuState, cur *Task) {
	e := c.g.enclave
	if e == nil {
		return
	}
	avail := len(c.rtQ) == 0 && !c.mqBusy() && c.cfs.nr == 0 &&
		(cur == nil || cur.class == ClassGhost || cur == c.g.agent || cur.class == ClassAgent)
	was := c.g.agentFlags&SWCPUAvail != 0
	if avail == was {
		return
	}
	if avail {
		c.g.agentFlags |= SWCPUAvail
	} else {
		c.g.agentFlags &^= SWCPUAvail
	}
	c.g.agentLine.write(c.id)
	// A spinning global agent re-reads CPU status words on every loop: it
	// notices the change once the line reaches it.
	for _, q := range e.queues {
		for _, a := range q.spinners {
			k.endSpin(a, c.id)
		}
	}
	if e.deliverCPUAvailability {
		t := MsgCPUBusy
		if avail {
			t = MsgCPUAvailable
		}
		k.produceCPUMsg(c.id, Message{Type: t})
	}
}

// ghostWake wakes a blocked ghOSt task (select_task_rq_ghost, task_woken):
// it is queued on its last CPU (or the waker's, with wake_on_waker_cpu)
// and its agent hears TASK_WAKEUP. It never preempts anything.
func (k *Kernel) ghostWake(t *Task, from int) {
	e := t.g.enclave
	cpu := t.lastCPU
	if e.wakeOnWakerCPU && from >= 0 && e.cpus.Has(from) && t.affinity.Has(from) {
		cpu = from
	}
	if cpu < 0 || !e.cpus.Has(cpu) || !t.affinity.Has(cpu) {
		// select_task_rq falls back to an allowed CPU
		// (select_fallback_rq), of the enclave here.
		if a := e.cpus.And(t.affinity).First(); a >= 0 {
			cpu = a
		} else if cpu < 0 || !e.cpus.Has(cpu) {
			cpu = e.cpus.First()
		}
	}
	k.activate(t, cpu, true, false)
	t.g.sw.Flags |= SWTaskRunnable
	t.g.swLine.write(from)
	t.g.lastRunnableAt = k.eng.Now()
	if t.g.newPending {
		t.g.newPending = false
		k.produceTaskMsg(t, Message{Type: MsgTaskNew, Runnable: true, Nice: t.nice, Runtime: t.runtime}, from)
		return
	}
	k.produceTaskMsg(t, Message{Type: MsgTaskWakeup, Deferrable: false, LastRanCPU: t.lastCPU, WakeUpCPU: cpu, WakerCPU: from}, from)
}

// ghostTick is the tick's ghOSt work on c: CPU_TICK to the agent while a
// ghOSt task or agent is current (deliver_ticks), greedy commits
// (commit_at_tick), the bound on a deferred latched preemption, and the
// watchdog.
func (k *Kernel) ghostTick(c *cpuState, now sim.Time) {
	e := c.g.enclave
	if e == nil || e.dying {
		return
	}
	cur := c.curr
	if e.deliverTicks && cur != nil && (cur.class == ClassGhost || cur == c.g.agent) {
		k.produceCPUMsg(c.id, Message{Type: MsgCPUTick})
	}
	if e.commitAtTick {
		k.commitLocalTarget(c, atTick)
	}
	if l := c.g.latched; l != nil && cur == c.g.agent && c.g.runFlags&RunDeferLatchedAgt != 0 {
		c.g.latched = nil
		k.preemptLatched(c, l, c.id)
	}
	if e.runnableTimeout > 0 {
		k.watchdog(c, e, now)
	}
}

// notWaiting marks a ghOSt task that is not waiting to run (the watchdog
// skips it).
const notWaiting sim.Time = -1

// watchdog checks the oldest runnable ghOSt task queued on c
// (check_runnable_timeout): if it has waited longer than the enclave's
// runnable_timeout, the enclave is destroyed and its tasks go to CFS.
func (k *Kernel) watchdog(c *cpuState, e *Enclave, now sim.Time) {
	var oldest *Task
	for _, t := range c.ghostQ {
		if t.g.lastRunnableAt == notWaiting {
			continue
		}
		if oldest == nil || t.g.lastRunnableAt < oldest.g.lastRunnableAt {
			oldest = t
		}
	}
	if oldest == nil || now <= oldest.g.lastRunnableAt+e.runnableTimeout {
		return
	}
	k.trace(c.id, "watchdog: enclave %d failed to run %v for over %v", e.id, oldest, e.runnableTimeout)
	k.stats.WatchdogDestroys++
	k.destroyEnclave(e, DestroyWatchdog)
}

// DestroyEnclave tears e down (§5.7), as writing "destroy" to its ctl
// file does: its agents are killed, then every task of the enclave falls
// back to CFS (each producing a DEPARTED nobody reads), and its CPUs are
// released.
func (k *Kernel) DestroyEnclave(e *Enclave) { k.destroyEnclave(e, DestroyCtl) }

// destroyEnclave marks e dying for cause and tears it down at once.
func (k *Kernel) destroyEnclave(e *Enclave, cause DestroyCause) {
	if e.dying {
		return
	}
	k.markDying(e, cause)
	k.teardown(e)
}

// markDying is the first step of a destruction (§5.7 step 1): from now
// on no agent attaches, no task enters, and the ticks leave e alone.
func (k *Kernel) markDying(e *Enclave, cause DestroyCause) {
	e.dying = true
	e.cause = cause
	e.destroyedAt = k.eng.Now()
	k.stats.EnclaveDestroys++
}

// teardown is the rest of a destruction (__ghost_destroy_enclave and the
// task reaper): the agent processes are killed, every task moves to CFS
// with DEPARTED, and the CPUs are released.
func (k *Kernel) teardown(e *Enclave) {
	if e.destroyed {
		return
	}
	for _, p := range e.procs {
		p.Kill(false, nil)
	}
	for len(e.tasks) > 0 {
		k.moveToCFS(e.tasks[0])
	}
	for cpu := e.cpus.First(); cpu >= 0; cpu = e.cpus.Next(cpu + 1) {
		c := &k.cpus[cpu]
		c.g = ghostCPU{}
		if len(c.ghostQ) > 0 {
			panic("kernel: ghOSt tasks left on a destroyed enclave's CPU")
		}
	}
	e.destroyed = true
}

// moveToCFS is the reaper's sched_setscheduler(SCHED_NORMAL) for t.
func (k *Kernel) moveToCFS(t *Task) {
	switch t.state {
	case TaskRunning:
		c := &k.cpus[t.cpu]
		k.leaveGhost(t, t.cpu)
		t.class = ClassCFS
		placeFromGhost(c, t)
		c.cfs.curr = t
		k.updateCurr(c, k.eng.Now())
		t.se.execStart = k.eng.Now()
		t.se.prevSumExec = t.se.sumExec
		k.cfsEnqueue(c, t, false, false)
		pushIntoMask(t, c.id)
		k.resched(c.id)
	case TaskRunnable:
		cpu := t.cpu
		k.cpus[cpu].ghostDequeue(t)
		k.leaveGhost(t, cpu)
		t.class = ClassCFS
		if !t.affinity.Has(cpu) {
			cpu = t.affinity.First() // see pushIntoMask
		}
		placeFromGhost(&k.cpus[cpu], t)
		k.activate(t, cpu, false, false)
		k.checkPreempt(cpu, t, -1)
	default:
		k.leaveGhost(t, -1)
		t.class = ClassCFS
	}
}

// pushIntoMask has a task that leaves ghOSt while running on cpu, outside
// its mask (an agent may place it anywhere), pushed to its first allowed
// CPU at its next switch. Linux would leave it there until its next
// migration; the model puts it back at once so that no task of another
// class ever runs outside its mask (CheckInvariants).
func pushIntoMask(t *Task, cpu int) {
	if !t.affinity.Has(cpu) {
		t.migrateTo = t.affinity.First()
	}
}

// placeFromGhost gives a task leaving ghOSt for CFS on c the vruntime of
// a task with no CFS history there: c's min_vruntime. (Linux keeps a
// non-fair task's vruntime relative and attach_task_cfs_rq adds the
// queue's min_vruntime; keeping whatever absolute value the task had —
// 0 for a task spawned into ghOSt — would let it starve the CFS tasks
// of a long-running queue.)
func placeFromGhost(c *cpuState, t *Task) { t.se.vruntime = c.cfs.minVruntime }

// EnterEnclave moves task t into e's ghOSt class, as writing its pid to
// the enclave's tasks file does. A running task keeps its CPU until it
// next schedules; TASK_NEW tells the agent.
func (k *Kernel) EnterEnclave(t *Task, e *Enclave) error {
	if e.dying {
		return ErrBusy
	}
	if t.class == ClassGhost || t.class == ClassAgent || t.state == TaskDead {
		return ErrInval
	}
	switch t.state {
	case TaskRunnable:
		cpu := t.cpu
		k.deactivate(t)
		t.class = ClassGhost
		if !e.cpus.Has(cpu) {
			cpu = e.cpus.And(t.affinity).First()
			if cpu < 0 {
				cpu = e.cpus.First()
			}
		}
		k.enterGhost(t, e, -1)
		k.activate(t, cpu, false, false)
	case TaskRunning:
		c := &k.cpus[t.cpu]
		k.updateCurr(c, k.eng.Now())
		k.deactivate(t)
		if c.cfs.curr == t {
			c.cfs.curr = nil
		}
		t.class = ClassGhost
		k.enterGhost(t, e, -1)
		// Switched out, it waits on an enclave CPU's run queue.
		t.migrateTo = -1
		if !e.cpus.Has(t.cpu) {
			t.migrateTo = e.cpus.And(t.affinity).First()
			if t.migrateTo < 0 {
				t.migrateTo = e.cpus.First()
			}
		}
		k.resched(t.cpu)
	default:
		t.class = ClassGhost
		k.enterGhost(t, e, -1)
	}
	return nil
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

// trace records a ghOSt event line when tracing is on.
func (k *Kernel) trace(cpu int, format string, args ...any) {
	if k.traceFn == nil {
		return
	}
	k.traceFn(k.eng.Now(), cpu, format, args)
}

// SetTrace registers f to receive ghOSt trace lines: time, CPU (-1 for
// none) and a formatted description (messages, commits, watchdog).
func (k *Kernel) SetTrace(f func(at sim.Time, cpu int, format string, args []any)) { k.traceFn = f }

// forceOffCPU takes c's running ghOSt task off the CPU at once
// (force_offcpu): it stays runnable and gets TASK_PREEMPT.
func (k *Kernel) forceOffCPU(c *cpuState) {
	c.g.mustResched = true
	k.schedule(c)
}

// agentPicked sets the agent's BOOST_PRIO iff other-class tasks are
// runnable on its CPU: "you preempted CFS, give the CPU back soon".
func (k *Kernel) agentPicked(c *cpuState) {
	was := c.g.agentFlags & SWBoostPrio
	if len(c.rtQ) > 0 || c.mqBusy() || c.cfs.nr > 0 {
		c.g.agentFlags |= SWBoostPrio
	} else {
		c.g.agentFlags &^= SWBoostPrio
	}
	if c.g.agentFlags&SWBoostPrio != was {
		c.g.agentLine.write(c.id)
	}
}
