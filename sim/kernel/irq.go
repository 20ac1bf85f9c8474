package kernel

import (
	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/hw"
)

// This file models interrupts: the scheduler tick and IPIs. An interrupt
// handler takes the CPU from whatever runs there for its cost; the task's
// work pauses meanwhile, and a reschedule it asks for happens on return
// (preemption at interrupt exit).

// enterIRQ occupies c with interrupt handling for cost. During a context
// switch the handler delays the switch.
func (k *Kernel) enterIRQ(c *cpuState, cost sim.Time) {
	if cost <= 0 {
		return
	}
	now := k.eng.Now()
	k.stats.IRQTime += cost
	if c.switching {
		at, _ := c.switchTimer.Armed()
		c.switchTimer.Arm(k.eng, at+cost, k.id, sim.Event{Kind: evSwitchDone, A: int32(c.id)})
		return
	}
	if !c.inIRQ {
		c.inIRQ = true
		c.irqEnd = now
		k.pauseCurrent(c, now)
		if c.curr == nil {
			k.setActivity(c, hw.SiblingComputing)
		}
	}
	c.irqEnd += cost
	c.irqTimer.Arm(k.eng, c.irqEnd, k.id, sim.Event{Kind: evIRQDone, A: int32(c.id)})
}

// exitIRQ returns c from interrupt handling: reschedule if asked,
// otherwise resume the current task.
func (k *Kernel) exitIRQ(c *cpuState) {
	c.inIRQ = false
	now := k.eng.Now()
	if c.curr == nil {
		k.setActivity(c, hw.SiblingIdle)
	}
	if c.needResched {
		k.schedule(c)
		return
	}
	if c.curr != nil {
		k.resumeCurrent(c, now)
	}
}

// startTick starts c's periodic tick if it is stopped. Ticks fall on
// multiples of the tick period on every CPU (skew_tick = 0).
func (k *Kernel) startTick(c *cpuState, now sim.Time) {
	if c.tickOn {
		return
	}
	c.tickOn = true
	next := (now/k.tickPeriod + 1) * k.tickPeriod
	c.tickTimer.Arm(k.eng, next, k.id, sim.Event{Kind: evTick, A: int32(c.id)})
}

// tick is scheduler_tick on c. An idle CPU with an empty run queue
// stops its tick (NO_HZ_IDLE). A CPU idling while ghOSt tasks are queued
// on it (no agent picked them) keeps ticking: that is what lets the
// ghOSt watchdog, which runs from the tick of every enclave CPU, see
// them. (Modeling choice: docs/GHOST-SEMANTICS.md §5.8 says the check runs on
// every tick of every enclave CPU; the paper relies on it to contain a
// stuck agent.)
func (k *Kernel) tick(c *cpuState) {
	now := k.eng.Now()
	if c.curr == nil && !c.switching && c.nrRunning() == 0 {
		c.tickOn = false
		return
	}
	c.tickTimer.Arm(k.eng, now+k.tickPeriod, k.id, sim.Event{Kind: evTick, A: int32(c.id)})
	k.stats.Ticks++
	k.enterIRQ(c, k.costs.Tick)
	if !c.switching {
		k.updateCurr(c, now)
		if t := c.curr; t != nil && t.class == ClassCFS {
			k.cfsTick(c)
		}
		k.vmTick(c)
	}
	k.ghostTick(c, now)
	k.triggerLoadBalance(c, now)
	if c.curr != nil && !c.switching && c.g.enclave != nil && c.g.agent != nil {
		// The tick interrupted a task, and its return to user mode
		// commits the CPU's greedy transaction, commit_at_tick or not
		// (exit_to_user_mode_prepare -> ghost_commit_greedy_txn). An idle
		// CPU's tick returns to the kernel and commits nothing. (The
		// model does not tell a task's system calls from its user code:
		// every tick that finds a task current returns to user mode.)
		k.commitLocalTarget(c, atIRQExit)
	}
}

// sendIPI sends an IPI of kind from CPU from to CPU to: it arrives after
// the flight time by distance.
func (k *Kernel) sendIPI(from, to int, kind int32) {
	k.stats.IPIs++
	k.at(k.eng.Now()+k.m.IPIFlight(from, to), evIPI, int32(to), kind)
}

// handleIPI runs an IPI's handler on c.
func (k *Kernel) handleIPI(c *cpuState, kind int32) {
	if k.probe.IPI != nil {
		k.probe.IPI(k.eng.Now(), c.id)
	}
	k.enterIRQ(c, k.costs.IPIReceive)
	switch kind {
	case ipiResched:
		// On IRQ exit the target commits its own greedy transaction.
		k.commitLocalTarget(c, atIRQExit)
		k.resched(c.id)
	case ipiNohzBalance:
		k.nohzIdleBalance(c)
	}
}
