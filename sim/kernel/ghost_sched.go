package kernel

import (
	"github.com/ghostsim/ghostsim/sim"
)

// This file ties the ghOSt class into the core scheduler: what schedule()
// does for ghOSt before and after the class walk (pnt_prologue,
// pick_next_ghost_agent, _pick_next_task_ghost, prepare_task_switch),
// wakeups of ghOSt tasks, and the tick's ghOSt duties (CPU_TICK,
// commit_at_tick, the watchdog, which destroys the enclave through
// ghost_enclave.go).

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
	} else if prev != nil && prev.g != nil && prev.g.isAgent {
		// put_prev_task_ghost: the agent's runtime, as a task's in
		// ghostPrevMessages.
		prev.g.sw.Runtime = prev.runtime
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
			next.g.sw.SwitchTime = now // pick_next_ghost_agent's ghost_prepare_switch
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
		k.commitAllGreedy(c, e)
	}
	if l := c.g.latched; l != nil && cur == c.g.agent && c.g.runFlags&RunDeferLatchedAgt != 0 {
		c.g.latched = nil
		k.preemptLatched(c, l, c.id)
	}
	if e.runnableTimeout > 0 {
		k.watchdog(c, e, now)
	}
}

// commitAllGreedy is ghost_commit_all_greedy_txns, which the tick runs on
// every CPU of an enclave with commit_at_tick: c commits its own greedy
// transaction, and every other CPU of e with one is kicked (resched IPI,
// none for a polling idle CPU) to commit it on IRQ exit or in
// balance_ghost, so that a CPU that does not tick (idle, NO_HZ) gets its
// transaction too.
func (k *Kernel) commitAllGreedy(c *cpuState, e *Enclave) {
	k.commitLocalTarget(c, atTick)
	var mask CPUSet
	for cpu := e.cpus.First(); cpu >= 0; cpu = e.cpus.Next(cpu + 1) {
		if cpu != c.id && k.cpus[cpu].g.txn.claimable(atIRQExit) {
			mask.Add(cpu)
		}
	}
	if mask.Empty() {
		return
	}
	if writes := k.ipiTargets(c.id, &mask); writes > 0 {
		k.chargeKernel(c.id, k.costs.IPISend*sim.Time(writes))
	}
	k.sendBatch(c.id, mask)
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
	if k.tracing() {
		k.emit(TraceEvent{CPU: c.id, Kind: TraceWatchdog, Enclave: e.id, Gtid: oldest.gtid(), Text: oldest.String(), Timeout: e.runnableTimeout})
	}
	k.stats.WatchdogDestroys++
	k.destroyEnclave(e, DestroyWatchdog)
}

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
