package kernel

import (
	"github.com/ghostsim/ghostsim/sim"
)

// This file is ghOSt's transactions (docs/GHOST-SEMANTICS.md §3): the per-CPU
// slot, validation in the order of _ghost_commit_txn, latching, and the
// places a transaction gets committed.

// Txn is one CPU's transaction slot (struct ghost_txn) in the enclave's
// shared cpu_data. Agents fill it with AgentThread.Open and read it back.
type Txn struct {
	State        TxnState
	CPU          int
	AgentBarrier uint32
	TaskBarrier  uint32
	Gtid         Gtid
	RunFlags     RunFlags
	CommitFlags  CommitFlags
	CommitTime   sim.Time
	CPUSeqnum    uint64
	// SyncGroupOwner is the slot's sync-group owner, taken as written
	// (a CPU, 0 included; -1: unowned, as ghost.h): Open writes it, and a
	// successful sync group releases it to -1.
	SyncGroupOwner int
}

// commitPoint says where a transaction is being committed.
type commitPoint uint8

const (
	atTxnCommit commitPoint = iota // inline, in the commit ioctl
	atIRQExit                      // the target, on interrupt (IPI) exit: greedy only
	atSchedule                     // the target, in balance_ghost: greedy or COMMIT_AT_SCHEDULE
	atTick                         // the target, at a tick with commit_at_tick
)

// claimable reports whether a commit at point where may take txn.
func (tx *Txn) claimable(where commitPoint) bool {
	if tx.State != TxnReady {
		return false
	}
	at := tx.CommitFlags & (CommitAtSchedule | CommitAtTxnCommit)
	switch where {
	case atTxnCommit:
		return true
	case atSchedule:
		return at == 0 || at == CommitAtSchedule
	default:
		return at == 0
	}
}

func runFlagsValid(g Gtid, f RunFlags) bool {
	switch {
	case f&^runFlagsAll != 0:
		return false
	case f&RunRTLAOnIdle != 0 && g < 0:
		return false
	case f&RunNeedCPUNotIdle != 0 && g != GtidIdle:
		return false
	case g == GtidAgent && f != 0:
		return false
	}
	return true
}

func commitFlagsValid(f CommitFlags) bool {
	switch {
	case f&^commitFlagsAll != 0:
		return false
	case f&CommitAtSchedule != 0 && f&CommitAtTxnCommit != 0:
		return false
	case f&ElideAgentBarrierInc != 0 && f&IncAgentBarrierOnFailure != 0:
		return false
	}
	return true
}

// commitTxn commits target's claimed transaction on runCPU, the CPU
// doing the work (the committing agent's CPU for an inline commit, target
// itself for an asynchronous one). caller is the agent the transaction is
// committed for: the ioctl's agent inline, the agent of the CPU that last
// wrote the slot asynchronously (txnOwner), nil if there is none. It
// returns the final state and, on success, whether target needs a
// reschedule; it writes the final state, commit_time and (on success)
// cpu_seqnum into the slot. A sync group's member (sync) that succeeds
// gets only its cpu_seqnum now and stays claimed: ghost_sync_group writes
// its state and commit_time when it publishes the group's outcome
// (publishSync).
//
// Preconditions: target is a CPU of an enclave; its slot is claimed
// by runCPU (State == TxnState(runCPU), set by startIoctl or ioctlStep
// inline, by commitLocalTarget asynchronously), so no other commit can
// take it; the commit's work (GhostTxnCommit, and for a remote target its
// run-queue lock line) has already been charged to runCPU: inline, the
// ioctl step that ends here; asynchronously, chargeKernel in
// commitLocalTarget at IRQ exit, in balance_ghost or at the tick. poison
// is set only inline, for a sync group's member after a failure or the
// agent's own CPU after a failed remote commit.
//
// The checks run in the order of _ghost_commit_txn (ghost.c); the first
// failure decides the state (docs/GHOST-SEMANTICS.md §3.7).
func (k *Kernel) commitTxn(runCPU, target int, caller *Task, poison, sync bool) (TxnState, bool) {
	c := &k.cpus[target]
	tx := &c.g.txn
	now := k.eng.Now()
	state, resched := k.validateAndLatch(c, tx, runCPU, caller, poison)
	if state != TxnComplete {
		if tx.CommitFlags&IncAgentBarrierOnFailure != 0 {
			c.g.agentBarrier++
			c.g.agentLine.write(runCPU)
		}
		k.finishTxn(c, state, now, runCPU)
		return state, false
	}
	// _ghost_commit_txn writes cpu_seqnum only on success, with an
	// increment of its own (txn->cpu_seqnum = ++rq->ghost.cpu_seqnum) on
	// top of ghost_set_pnt_state's (setLatch, or the already-on-CPU path;
	// a ping has none); a failure leaves the previous commit's value.
	c.g.cpuSeqnum++
	tx.CPUSeqnum = c.g.cpuSeqnum
	if !sync {
		k.finishTxn(c, TxnComplete, now, runCPU)
	}
	return TxnComplete, resched
}

// finishTxn writes a transaction's final state and commit_time
// (_ghost_set_txn_state) on behalf of CPU by.
func (k *Kernel) finishTxn(c *cpuState, state TxnState, now sim.Time, by int) {
	tx := &c.g.txn
	tx.State = state
	tx.CommitTime = now
	c.g.txnLine.write(by)
	k.stats.GhostTxns[txnIndex(state)]++
	if k.tracing() {
		k.emit(TraceEvent{CPU: c.id, Kind: TraceTxnFinal, Gtid: tx.Gtid, Txn: state})
	}
}

// validateAndLatch runs the checks and, on success, latches. It returns
// the final state and, on success, whether c needs a reschedule; it does
// not write the slot's state (commitTxn does).
//
// Preconditions: called only from commitTxn, with its preconditions;
// tx is c's slot (&c.g.txn), claimed by runCPU; the effects of success
// (the agent barrier, the latch, moving the task to c's run queue) apply
// at the current time, as under c's run-queue lock upstream.
func (k *Kernel) validateAndLatch(c *cpuState, tx *Txn, runCPU int, caller *Task, poison bool) (TxnState, bool) {
	if poison {
		return TxnPoisoned, false
	}
	if tx.CPU != c.id {
		return TxnInvalidCPU, false
	}
	if !runFlagsValid(tx.Gtid, tx.RunFlags) || !commitFlagsValid(tx.CommitFlags) {
		return TxnInvalidFlags, false
	}
	e := c.g.enclave
	var next *Task
	// idle: the gtid is IDLE, so upstream's next is the idle task, which
	// is checked like a task (idleOnCPU: it is running, c.curr == nil).
	idle := tx.Gtid == GtidIdle
	idleOnCPU := idle && c.curr == nil
	switch {
	case tx.Gtid > 0:
		t := k.TaskByGtid(tx.Gtid)
		if t == nil {
			return TxnTargetNotFound, false
		}
		if t.g != nil && t.g.isAgent {
			return TxnInvalidTarget, false
		}
		if t.g != nil && t.g.gated {
			return TxnTargetStale, false
		}
		if t.class != ClassGhost || t.g == nil || t.g.enclave != e {
			if t.state == TaskDead {
				return TxnTargetNotFound, false
			}
			return TxnInvalidTarget, false
		}
		if t.state == TaskDead {
			return TxnTargetStale, false
		}
		if t.g.sw.Barrier != tx.TaskBarrier {
			return TxnTargetStale, false
		}
		if t.state == TaskBlocked {
			return TxnTargetNotRunnable, false
		}
		if t.state == TaskRunning {
			onTarget := t.cpu == c.id
			if !(tx.CommitFlags&AllowTaskOnCPU != 0 && onTarget) {
				return TxnTargetOnCPU, false
			}
			if c.g.mustResched {
				return TxnTargetStale, false
			}
		}
		next = t
	case idle:
		// validate_next_offcpu on rq->idle: the idle task is running
		// when the CPU is idle.
		if idleOnCPU && tx.CommitFlags&AllowTaskOnCPU == 0 {
			return TxnTargetOnCPU, false
		}
	case tx.Gtid == GtidNull, tx.Gtid == GtidAgent:
	default:
		return TxnInvalidTarget, false
	}
	if c.g.agent == nil {
		return TxnNoAgent, false
	}
	if caller == nil || caller.g == nil || !caller.g.isAgent || caller.g.enclave != e {
		return TxnNotPermitted, false
	}
	// Upstream checks DO_NOT_PREEMPT and ghost_can_schedule only with a
	// next: a task or the idle task, not NULL or AGENT.
	if (next != nil || idle) && tx.RunFlags&RunDoNotPreempt != 0 {
		if cur := c.curr; (cur != nil && cur.class == ClassGhost) || c.g.latched != nil {
			return TxnAgentStale, false
		}
	}
	if (next != nil || idle) && !k.ghostCanSchedule(c) {
		return TxnCPUUnavail, false
	}
	local := caller != nil && caller.g.agentCPU == c.id && tx.Gtid != GtidAgent
	if local && tx.AgentBarrier != c.g.agentBarrier {
		return TxnAgentStale, false
	}

	// Success.
	if (next != nil && next.state == TaskRunning) || idleOnCPU {
		// ALLOW_TASK_ONCPU on the CPU it runs on (a task, or IDLE on an
		// idle CPU): nothing moves, no agent-barrier increment, no
		// reschedule. The latch is cleared as ghost_set_pnt_state(rq,
		// NULL) does: a task latched meanwhile (committed, the CPU not
		// yet rescheduled) gets PREEMPT(was_latched), as any displaced
		// latch.
		if old := c.g.latched; old != nil {
			c.g.latched = nil
			k.preemptLatched(c, old, runCPU)
		}
		c.g.runFlags = tx.RunFlags
		c.g.cpuSeqnum++ // ghost_set_pnt_state's increment
		return TxnComplete, false
	}
	if tx.CommitFlags&ElideAgentBarrierInc == 0 {
		c.g.agentBarrier++
		c.g.agentLine.write(runCPU)
	}
	switch tx.Gtid {
	case GtidAgent:
		// A ping: bump the barrier again and wake the agent; any latched
		// task stays.
		// (No ghost_set_pnt_state, so only the commit's own cpu_seqnum
		// increment, in commitTxn.)
		k.wakeAgentOn(c.id, runCPU)
		return TxnComplete, !local
	case GtidNull, GtidIdle:
		k.setLatch(c, nil, tx.RunFlags, runCPU)
		c.g.mustResched = true
		return TxnComplete, true
	}
	if next.cpu != c.id {
		// move_queued_task: take the task to the target's run queue; a
		// latch elsewhere is dropped without a message.
		old := &k.cpus[next.cpu]
		old.ghostDequeue(next)
		next.cpu = c.id
		c.ghostQ = append(c.ghostQ, next)
		k.gapWaiting(next, true)
	}
	for i := range k.cpus {
		if o := &k.cpus[i]; o != c && o.g.latched == next {
			o.g.latched = nil
			o.g.elidePreempt = false
		}
	}
	k.setLatch(c, next, tx.RunFlags, runCPU)
	return TxnComplete, true
}

// ghostCanSchedule reports whether a ghOSt task may be latched on c: its
// current task is not of a class above ghOSt, the CPU's own agent and idle
// aside (ghost_can_schedule; a commit meets CPU_UNAVAIL otherwise).
func (k *Kernel) ghostCanSchedule(c *cpuState) bool {
	cur := c.curr
	return cur == nil || cur.class == ClassGhost || cur == c.g.agent
}

// setLatch is ghost_set_pnt_state: latch next (nil: none) on c with run
// flags f; a different task already latched gets PREEMPT(was_latched).
// It counts the commit in c's cpu_seqnum and writes the latch's line from
// runCPU.
//
// Preconditions: a commit onto c has succeeded (validateAndLatch, or the
// BPF hook's run in PNTContext.Run on c itself) and the agent barrier was
// already bumped if it is to be; next is nil or a runnable ghOSt task of
// c's enclave that is not running, already queued on c (c.ghostQ) and
// latched on no other CPU; the caller reschedules c (the BPF hook runs
// inside c's schedule already).
func (k *Kernel) setLatch(c *cpuState, next *Task, f RunFlags, runCPU int) {
	if old := c.g.latched; old != nil && old != next {
		c.g.latched = nil
		k.preemptLatched(c, old, runCPU)
	}
	c.g.latched = next
	c.g.latchLine.write(runCPU)
	c.g.mustResched = false
	c.g.runFlags = f
	c.g.elidePreempt = f&RunElidePreempt != 0
	c.g.cpuSeqnum++
}

// preemptLatched sends PREEMPT(was_latched) for a latched task displaced
// before it ran.
// The latch is over, so its ELIDE_PREEMPT goes with it
// (ghost_latched_task_preempted).
func (k *Kernel) preemptLatched(c *cpuState, t *Task, cpu int) {
	c.g.elidePreempt = false
	c.g.cpuSeqnum++
	t.g.sw.Runtime = t.runtime
	k.produceTaskMsg(t, Message{Type: MsgTaskPreempt, CPU: c.id, WasLatched: true, Runtime: t.runtime, CPUSeqnum: c.g.cpuSeqnum}, cpu)
}

// commitLocalTarget commits c's own greedy (or, at schedule, pre-staged)
// transaction from the target side. It reports whether one was taken.
func (k *Kernel) commitLocalTarget(c *cpuState, where commitPoint) bool {
	if c.g.enclave == nil || !c.g.txn.claimable(where) {
		return false
	}
	if where == atSchedule && (c.g.latched != nil || len(c.rtQ) > 0 || c.mqBusy() || c.cfs.nr > 0) {
		return false
	}
	tx := &c.g.txn
	tx.State = TxnState(c.id) // claimed
	// Reading the slot the agent wrote moves its line here; latching
	// takes the commit work.
	k.chargeKernel(c.id, k.readCost(&c.g.txnLine, c.id)+k.costs.GhostTxnCommit)
	owner := k.txnOwner(c)
	state, _ := k.commitTxn(c.id, c.id, owner, false, false)
	// No reschedule in agent context (_ghost_commit_txn: agents have
	// absolute priority; the latched task runs when the agent blocks):
	// rescheduling now would have the running agent displace the latch.
	// In balance_ghost the CPU is scheduling already.
	if state == TxnComplete && c.g.latched != nil && (where == atSchedule || c.curr != c.g.agent) {
		k.resched(c.id)
	}
	return true
}

// txnOwner returns the agent that published c's transaction: the
// enclave's agent of the CPU that last wrote the slot.
func (k *Kernel) txnOwner(c *cpuState) *Task {
	if w := c.g.txnLine.writer; w >= 0 {
		if a := k.cpus[w].g.agent; a != nil {
			return a
		}
	}
	return c.g.agent
}

// txnIndex maps a final state to a counter slot.
func txnIndex(s TxnState) int {
	if s == TxnComplete {
		return 0
	}
	i := int(-s)
	if i < 0 || i >= numTxnCounters {
		return numTxnCounters - 1
	}
	return i
}

const numTxnCounters = 17

// TxnCounts returns committed transactions by final state name.
func (s *Stats) TxnCounts() map[string]int64 {
	out := map[string]int64{}
	for i, n := range s.GhostTxns {
		if n == 0 {
			continue
		}
		st := TxnComplete
		if i > 0 {
			st = TxnState(-i)
		}
		out[st.String()] = n
	}
	return out
}
