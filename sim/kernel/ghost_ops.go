package kernel

import (
	"fmt"
)

// This file carries out agent threads' ghOSt calls: what each costs on
// the agent's CPU (decided when the call starts) and what it does (when
// that work is done). The commit ioctls run as a sequence of steps
// (ghost_ioctl.go); a poll that finds its queue empty spins
// (ghost_spin.go).

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
		// ghost_run re-latches whatever a remote agent latched here
		// meanwhile with the yield's run flags: ghost_set_pnt_state(rq,
		// rq->ghost.latched_task, run_flags).
		k.setLatch(c, c.g.latched, o.rf, c.id)
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
