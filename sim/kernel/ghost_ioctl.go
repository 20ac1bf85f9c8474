package kernel

import (
	"github.com/ghostsim/ghostsim/sim"
)

// This file steps the commit ioctls (GHOST_IOC_COMMIT_TXN,
// GHOST_IOC_SYNC_GROUP_TXN) through their transactions, one step per
// commit, so that each transaction latches, and the IPI batch at the end
// leaves, at the simulated moment the agent's CPU gets to it; and it ends
// a sync group by publishing its outcome.

// ioctlState is the progress of a commit ioctl through its steps.
type ioctlState struct {
	op      op // the ioctl's operation, restored for each step
	active  bool
	order   []int // CPUs in commit order: this_cpu+1 onwards, wrapping, this CPU last
	i       int
	pending int // the CPU whose transaction is being committed, -1 none
	failed  bool
	localOK bool
	ipi     CPUSet // targets to reschedule
	sent    bool
	sync    bool
	submit  bool
	latched []int  // sync group: targets that latched
	members []Gtid // sync group: what each of latched latched
}

// startIoctl prepares a commit ioctl on mask.
func (k *Kernel) startIoctl(c *cpuState, t *Task, io *ioctlState, mask CPUSet, sync, submit bool) {
	me := c.id
	io.active = true
	io.order = io.order[:0]
	n := len(k.cpus)
	for i := 1; i <= n; i++ {
		cpu := (me + i) % n
		if mask.Has(cpu) && k.cpus[cpu].g.enclave == t.g.enclave {
			io.order = append(io.order, cpu)
		}
	}
	io.i, io.pending, io.failed, io.localOK, io.sent = 0, -1, false, false, false
	io.ipi = CPUSet{}
	io.sync, io.submit = sync, submit
	io.latched = io.latched[:0]
	io.members = io.members[:0]
	if sync {
		// Claim every transaction first; a claim failure fails the group.
		for _, cpu := range io.order {
			tx := &k.cpus[cpu].g.txn
			if tx.State == TxnReady {
				tx.State = TxnState(me)
			} else {
				io.failed = true
			}
		}
	}
}

// ioctlStep finishes the pending step of t's commit ioctl and starts the
// next; it reports whether t goes on running (the ioctl returned).
func (k *Kernel) ioctlStep(c *cpuState, t *Task, io *ioctlState) bool {
	me := c.id
	now := k.eng.Now()
	if cpu := io.pending; cpu >= 0 {
		io.pending = -1
		poison := io.failed && (io.sync || cpu == me)
		state, resched := k.commitTxn(me, cpu, t, poison, io.sync)
		switch {
		case state != TxnComplete:
			io.failed = true
		case cpu == me:
			io.localOK = true
		case resched && !io.sync && k.pollingIdle(cpu):
			// _ghost_commit_txn's set_nr_and_not_polling: a target polling
			// in idle sees the flag as soon as its transaction is
			// committed and leaves idle while the agent goes on with the
			// next one; only the others wait for the IPI batch. (A sync
			// group's member would wake too but spin until the rendezvous
			// is published at the end: the model wakes it then.)
			k.reschedFrom(cpu, me)
		case resched:
			io.ipi.Add(cpu)
		}
		if state == TxnComplete && io.sync {
			io.latched = append(io.latched, cpu)
			io.members = append(io.members, k.cpus[cpu].g.txn.Gtid)
		}
	}
	for io.i < len(io.order) {
		cpu := io.order[io.i]
		io.i++
		tx := &k.cpus[cpu].g.txn
		claimedByMe := io.sync && tx.State == TxnState(me)
		if !claimedByMe && tx.State != TxnReady {
			continue
		}
		remote := cpu != me
		if remote && !io.sync && tx.CommitFlags&CommitAtTxnCommit == 0 {
			if tx.CommitFlags&CommitAtSchedule == 0 {
				io.ipi.Add(cpu) // greedy: the target commits it on IRQ exit
			}
			continue
		}
		tx.State = TxnState(me)
		io.pending = cpu
		work := k.costs.GhostTxnCommit
		if remote {
			work += k.m.LineTransfer(me, cpu, -1) // the target's run-queue lock
		}
		k.continueOp(t, io.op, now, int64(work))
		return true
	}
	if !io.sent {
		io.sent = true
		if writes := k.ipiTargets(me, &io.ipi); writes > 0 {
			k.continueOp(t, io.op, now, int64(k.costs.IPISend)*int64(writes))
			return true
		}
	}
	// IPIs leave once their ICR writes are done.
	k.sendBatch(me, io.ipi)
	if io.sync {
		k.publishRendezvous(io)
		k.publishSync(io, me, now)
		t.g.ret = opResult{ok: !io.failed}
		if !io.failed {
			// ghost_sync_group releases the slots' ownership after a
			// successful group; after a failure the agent keeps it to
			// inspect the states.
			for _, cpu := range io.order {
				k.cpus[cpu].g.txn.SyncGroupOwner = -1
			}
		}
	}
	io.active = false
	if io.localOK && !io.submit && !(io.sync && io.failed) {
		k.blockInRun(c, t)
		return false
	}
	return true
}

// continueOp gives t's operation o another step of work.
func (k *Kernel) continueOp(t *Task, o op, now sim.Time, work int64) {
	t.cur = o
	t.inOp = true
	t.progress.Start(now, work, t.progress.Rate())
}

// ipiTargets decides which targets need an IPI: an idle CPU notices its
// need_resched through its monitor (no IPI), one that already has
// need_resched needs nothing. It returns the number of ICR writes: one
// per x2APIC cluster of targets ([L415] x2apic_cluster.c), and leaves in
// mask only the CPUs to interrupt.
func (k *Kernel) ipiTargets(me int, mask *CPUSet) int {
	var clusters CPUSet // cluster ids seen; fewer than MaxCPUs clusters
	writes := 0
	for cpu := mask.First(); cpu >= 0; cpu = mask.Next(cpu + 1) {
		c := &k.cpus[cpu]
		switch {
		case c.needResched && c.g.txn.State != TxnReady:
			mask.Remove(cpu)
		case k.pollingIdle(cpu):
			mask.Remove(cpu)
			k.reschedFrom(cpu, me) // IPI-less: the polling idle CPU wakes
		default:
			if cl := k.m.IPICluster(cpu); !clusters.Has(cl) {
				clusters.Add(cl)
				writes++
			}
		}
	}
	return writes
}

// pollingIdle reports whether cpu sits in the idle loop, polling its
// need-resched flag (TIF_POLLING_NRFLAG): a remote write of the flag wakes
// it without an IPI. A CPU still switching to idle is not polling yet.
func (k *Kernel) pollingIdle(cpu int) bool {
	c := &k.cpus[cpu]
	return c.curr == nil && !c.switching && !c.inIRQ
}

// sendBatch sends resched IPIs from me to every CPU of mask.
func (k *Kernel) sendBatch(me int, mask CPUSet) {
	for cpu := mask.First(); cpu >= 0; cpu = mask.Next(cpu + 1) {
		k.sendIPI(me, cpu, ipiResched)
	}
}

// publishRendezvous ends a sync-group commit: on failure every member that
// latched is pulled back without a message (its task never runs, or is
// forced off at once), so no member of a failed group runs. Only members
// are touched: a task that was running on a member's CPU before the group
// keeps it, and an unschedule member does not happen. (Upstream the IPI
// switches that task out for the member, which spins in
// wait_for_rendezvous, so it gets TASK_PREEMPT and the agent re-places
// it; keeping it on its CPU without a message has the same outcome.
// Yanking it off without a message would lose it.)
func (k *Kernel) publishRendezvous(io *ioctlState) {
	if !io.failed {
		return
	}
	for i, cpu := range io.latched {
		c := &k.cpus[cpu]
		g := io.members[i]
		if g <= 0 {
			c.g.mustResched = false // a NULL or IDLE member: no unschedule
			continue
		}
		member := k.TaskByGtid(g)
		if c.g.latched == member {
			c.g.latched = nil // never ran: no message
		}
		if c.curr == member && member.class == ClassGhost {
			// It got on its CPU before the failure was published: yanked
			// off with no message (ignore_prev_preemption).
			member.g.ignorePrevPreemption = true
			c.g.mustResched = true
			k.resched(cpu)
		}
	}
}

// publishSync writes the outcome of a sync group into every member that
// committed successfully, as ghost_sync_group does once the rendezvous is
// published: COMPLETE, or POISONED when the group failed, each with this
// moment's commit_time. (A member that failed, or was poisoned after a
// failure, got its state when that happened; a successful member's
// cpu_seqnum was written at its commit.)
func (k *Kernel) publishSync(io *ioctlState, me int, now sim.Time) {
	state := TxnComplete
	if io.failed {
		state = TxnPoisoned
	}
	for _, cpu := range io.latched {
		k.finishTxn(&k.cpus[cpu], state, now, me)
	}
}
