package kernel

import (
	"fmt"

	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/hw"
)

// This file carries out agent threads' ghOSt calls: what each costs on
// the agent's CPU (decided when the call starts) and what it does (when
// that work is done). The commit ioctls run as a sequence of steps, so
// that each transaction latches, and the IPIs leave, at the simulated
// moment the agent's CPU gets to them.

// Agent operation kinds.
const (
	opGhostConsume opKind = iota + 64
	opGhostPoll
	opGhostReadSW
	opGhostReadAgentSW
	opGhostOpen
	opGhostReadTxn
	opGhostAbort
	opGhostCommit
	opGhostSyncCommit
	opGhostYield
	opGhostPing
	opGhostAssociate
	opGhostReadAvail
	opGhostGetAffinity
	opGhostSetOwner
)

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

// ghostOpWork returns the work of agent operation o about to start on
// the agent's CPU: the system call, and the cache lines it pulls in.
func (k *Kernel) ghostOpWork(t *Task, o *op) int64 {
	me := t.g.agentCPU
	switch o.kind {
	case opGhostConsume:
		read := int64(k.readCost(&o.q.line, me))
		if o.q.Len() == 0 {
			return read
		}
		return int64(k.costs.GhostMsgConsume) + read
	case opGhostPoll:
		// One iteration of the poll loop reads the ring's index: an L1 hit
		// (4 cycles, [AT-ROME]) unless its line moved. The floor also keeps
		// a policy that polls a non-empty queue without draining it from
		// freezing simulated time.
		return max(int64(k.readCost(&o.q.line, me)), int64(k.m.CyclesToTime(4)))
	case opGhostReadSW:
		if x := k.TaskByGtid(o.gtid); x != nil && x.g != nil {
			return int64(k.readCost(&x.g.swLine, me))
		}
		return 0
	case opGhostReadAgentSW:
		if o.n < 0 || o.n >= len(k.cpus) {
			return 0
		}
		return int64(k.readCost(&k.cpus[o.n].g.agentLine, me))
	case opGhostReadAvail:
		// One load per agent status word, each paying for its line if it
		// changed since this CPU last read it (the loads are charged one
		// after the other: no overlap of misses is assumed).
		var w int64
		for c := o.set.First(); c >= 0; c = o.set.Next(c + 1) {
			if c < len(k.cpus) {
				w += int64(k.readCost(&k.cpus[c].g.agentLine, me))
			}
		}
		return w
	case opGhostGetAffinity:
		return k.syscallWork()
	case opGhostOpen, opGhostReadTxn, opGhostAbort, opGhostSetOwner:
		if o.n < 0 || o.n >= len(k.cpus) {
			return 0
		}
		return int64(k.readCost(&k.cpus[o.n].g.txnLine, me))
	case opGhostCommit, opGhostSyncCommit:
		return k.syscallWork() + int64(k.costs.GhostIoctl)
	case opGhostYield, opGhostPing, opGhostAssociate:
		return k.syscallWork()
	}
	return 0
}

// ghostEffect applies agent operation o of t, running on c. It reports
// whether t goes on running its program (false: it blocked or spins).
func (k *Kernel) ghostEffect(c *cpuState, t *Task, o op) bool {
	g := t.g
	if g == nil || !g.isAgent {
		// Only an AgentThread, which StartAgents makes for agent tasks,
		// can issue these operations.
		panic(fmt.Sprintf("kernel: ghOSt operation %d from %v, which is not an agent", o.kind, t))
	}
	now := k.eng.Now()
	switch o.kind {
	case opGhostConsume:
		m, ok := o.q.pop()
		g.ret = opResult{msg: m, ok: ok}
		if ok {
			k.stats.GhostMsgsConsumed++
		}
		return true
	case opGhostPoll:
		if o.q.Len() > 0 || now >= o.d {
			return true
		}
		k.startSpin(c, t, o.q, o.d)
		return false
	case opGhostReadSW:
		x := k.TaskByGtid(o.gtid)
		if x == nil || x.g == nil {
			g.ret = opResult{}
			return true
		}
		sw := x.g.sw
		g.ret = opResult{sw: sw, ok: true}
		return true
	case opGhostReadAgentSW:
		if o.n < 0 || o.n >= len(k.cpus) || k.cpus[o.n].g.enclave == nil {
			g.ret = opResult{err: ErrInval}
			return true
		}
		g.ret = opResult{sw: k.cpus[o.n].g.enclave.AgentStatusWord(o.n), ok: true}
		return true
	case opGhostReadAvail:
		var avail CPUSet
		for c := o.set.First(); c >= 0; c = o.set.Next(c + 1) {
			if c < len(k.cpus) && k.cpus[c].g.enclave == g.enclave && g.enclave.AgentStatusWord(c).CPUAvail() {
				avail.Add(c)
			}
		}
		*o.set = avail
		g.ret = opResult{ok: true}
		return true
	case opGhostGetAffinity:
		x := k.TaskByGtid(o.gtid)
		if x == nil || x.state == TaskDead {
			g.ret = opResult{err: ErrNoEnt}
			return true
		}
		*o.set = x.affinity
		g.ret = opResult{ok: true}
		return true
	case opGhostOpen:
		if o.n < 0 || o.n >= len(k.cpus) || k.cpus[o.n].g.enclave != g.enclave {
			g.ret = opResult{err: ErrInval}
			return true
		}
		slot := &k.cpus[o.n].g
		tx := g.openTxn
		// LocalRunRequest::Open takes the slot's sync-group ownership
		// first (a CAS from -1; the caller pauses and retries while
		// another group owns it), and CHECKs that an unowned open finds
		// the slot unowned.
		if own := slot.txn.SyncGroupOwner; own >= 0 && own != tx.SyncGroupOwner {
			if tx.SyncGroupOwner < 0 {
				g.ret = opResult{err: fmt.Errorf("%w (cpu%d: owned by %d)", ErrSyncGroupOwned, o.n, own)}
			} else {
				g.ret = opResult{err: fmt.Errorf("%w (cpu%d: owned by %d)", ErrSyncGroupBusy, o.n, own)}
			}
			return true
		}
		if st := slot.txn.State; !st.Final() {
			g.ret = opResult{err: fmt.Errorf("%w (cpu%d: %v)", ErrTxnPending, o.n, st)}
			return true
		}
		tx.State = TxnReady
		tx.CPU = o.n
		// commit_time and cpu_seqnum are the kernel's outputs: an open
		// leaves the last commit's values until the next one writes them.
		tx.CommitTime = slot.txn.CommitTime
		tx.CPUSeqnum = slot.txn.CPUSeqnum
		slot.txn = tx
		slot.txnLine.write(g.agentCPU)
		g.ret = opResult{}
		return true
	case opGhostReadTxn:
		if o.n < 0 || o.n >= len(k.cpus) {
			g.ret = opResult{state: TxnInvalidCPU}
			return true
		}
		g.readTxn = k.cpus[o.n].g.txn
		g.ret = opResult{state: g.readTxn.State}
		return true
	case opGhostAbort:
		ok := false
		if o.n >= 0 && o.n < len(k.cpus) {
			if tx := &k.cpus[o.n].g.txn; tx.State == TxnReady {
				tx.State = TxnAborted
				ok = true
			}
		}
		g.ret = opResult{ok: ok}
		return true
	case opGhostSetOwner:
		ok := false
		if o.n >= 0 && o.n < len(k.cpus) && k.cpus[o.n].g.enclave == g.enclave {
			k.cpus[o.n].g.txn.SyncGroupOwner = int(int32(o.u32))
			k.cpus[o.n].g.txnLine.write(g.agentCPU)
			ok = true
		}
		g.ret = opResult{ok: ok}
		return true
	case opGhostCommit, opGhostSyncCommit:
		if g.ioctl == nil {
			g.ioctl = &ioctlState{}
		}
		io := g.ioctl
		if !io.active {
			io.op = o
			k.startIoctl(c, t, io, *o.set, o.kind == opGhostSyncCommit, o.n == 1)
		}
		return k.ioctlStep(c, t, io)
	case opGhostYield:
		if o.rf&^RunRTLAOnIdle != 0 {
			g.ret = opResult{err: ErrInval}
			return true
		}
		if o.u32 != c.g.agentBarrier {
			g.ret = opResult{err: ErrStale}
			return true
		}
		g.ret = opResult{}
		c.g.runFlags |= o.rf
		k.blockInRun(c, t)
		return false
	case opGhostPing:
		if o.n < 0 || o.n >= len(k.cpus) || k.cpus[o.n].g.enclave != g.enclave {
			g.ret = opResult{err: ErrInval}
			return true
		}
		if a := k.cpus[o.n].g.agent; a == nil || a.g.proc != g.proc {
			g.ret = opResult{err: ErrPerm}
			return true
		}
		g.ret = opResult{}
		// A sleeping agent wakes; a running one sees its barrier move.
		k.wakeAgentOn(o.n, g.agentCPU)
		return true
	case opGhostAssociate:
		g.ret = k.associate(g, o.q, o.gtid, o.u32)
		return true
	}
	panic("kernel: unknown agent operation")
}

// associate is GHOST_IOC_ASSOC_QUEUE.
func (k *Kernel) associate(g *ghostTask, q *Queue, gtid Gtid, barrier uint32) opResult {
	if q == nil || q.closed || q.enclave != g.enclave {
		return opResult{err: ErrInval}
	}
	x := k.TaskByGtid(gtid)
	if x == nil || x.g == nil || x.state == TaskDead || x.g.gated || x.g.enclave != g.enclave {
		return opResult{err: ErrNoEnt}
	}
	if x.g.isAgent {
		if barrier != k.cpus[x.g.agentCPU].g.agentBarrier {
			return opResult{err: ErrStale}
		}
	} else if barrier != x.g.sw.Barrier {
		return opResult{err: ErrStale}
	}
	status := 0
	if x.g.dstQ == q {
		status |= AssocAlready
	}
	if x.g.newPending {
		status |= AssocBrandNew
	}
	x.g.dstQ = q
	return opResult{status: status}
}

// blockInRun puts the agent t to sleep inside its ioctl (blocked_in_run):
// it stays attached and is woken by wakeAgentOn.
func (k *Kernel) blockInRun(c *cpuState, t *Task) {
	t.g.blockedInRun = true
	k.blockCurrent(c, t)
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
		state, resched := k.commitTxn(me, cpu, t, poison)
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

// startSpin makes agent t spin on q until a message arrives or until.
func (k *Kernel) startSpin(c *cpuState, t *Task, q *Queue, until sim.Time) {
	g := t.g
	g.spinning = true
	k.poll.add(k.eng.Now(), 1)
	g.spinQ = q
	q.spinners = append(q.spinners, t)
	t.inOp = true // the poll is still in progress
	k.setActivity(c, hw.SiblingSpinning)
	if until != sim.Never {
		g.spinEnd.Arm(k.eng, until, k.id, sim.Event{Kind: evSpinEnd, A: int32(t.id)})
	}
}

// endSpinOn tells spinning agent a that a message from CPU from is being
// written to q: it notices once the message is written and the ring's
// line reaches its CPU (the read that Consume then needs no more).
func (k *Kernel) endSpinOn(a *Task, q *Queue, from int) {
	if !a.g.spinning {
		return
	}
	at := k.eng.Now()
	if from >= 0 {
		at += k.costs.GhostMsgProduce + k.readCost(&q.line, a.g.agentCPU)
	}
	if cur, armed := a.g.spinEnd.Armed(); armed && cur <= at {
		return
	}
	a.g.spinEnd.Arm(k.eng, at, k.id, sim.Event{Kind: evSpinEnd, A: int32(a.id)})
}

// endSpin tells spinning agent a that a status word it watches changed on
// CPU from: it notices when the line reaches its CPU.
func (k *Kernel) endSpin(a *Task, from int) {
	if !a.g.spinning {
		return
	}
	at := k.eng.Now()
	if from >= 0 {
		at += k.m.LineTransfer(from, a.g.agentCPU, -1)
	}
	if cur, armed := a.g.spinEnd.Armed(); armed && cur <= at {
		return
	}
	a.g.spinEnd.Arm(k.eng, at, k.id, sim.Event{Kind: evSpinEnd, A: int32(a.id)})
}

// finishSpin ends a spinning poll: the agent's program goes on.
func (k *Kernel) finishSpin(t *Task) {
	if !t.g.spinning {
		return
	}
	k.stopSpin(t)
	t.inOp = false
	c := &k.cpus[t.cpu]
	if c.curr == t {
		k.setActivity(c, hw.SiblingComputing)
		k.resumeCurrent(c, k.eng.Now())
	}
}

// stopSpin takes t out of spinning without resuming it.
func (k *Kernel) stopSpin(t *Task) {
	g := t.g
	if g.spinning {
		k.poll.add(k.eng.Now(), -1)
	}
	g.spinning = false
	g.spinEnd.Stop()
	if g.spinQ != nil {
		g.spinQ.spinners = removeTask(g.spinQ.spinners, t)
		g.spinQ = nil
	}
}
