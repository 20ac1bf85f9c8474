package kernel

import (
	"github.com/ghostsim/ghostsim/sim"
)

// This file holds the ghOSt class's state: status words, the per-CPU and
// per-task ghOSt state, and how tasks enter and leave the class (the
// enclave itself is in ghost_enclave.go). The reference is
// docs/GHOST-SEMANTICS.md (§§1–6), which follows google/ghost-kernel's
// kernel/sched/ghost.c; where it and the paper (§3) differ, the paper's
// design wins and the spot says so.

// StatusWord is a task's or an agent's status word (struct
// ghost_status_word): what the kernel publishes in shared memory for
// agents to read. Agents get copies through AgentThread.StatusWord.
type StatusWord struct {
	// Barrier is the task barrier (the paper's Tseq): bumped by every
	// message-production attempt for the task. For an agent it is its
	// CPU's agent barrier (Aseq).
	Barrier uint32
	// Flags are SW* bits.
	Flags uint32
	// Gtid is the task's gtid.
	Gtid Gtid
	// SwitchTime is when the task (or agent) was last picked to switch
	// in (ghost_prepare_switch's ghost_sw_set_time).
	SwitchTime sim.Time
	// Runtime is the task's CPU time (sum_exec_runtime) as of its last
	// write by __update_curr_ghost: each schedule() that puts it back
	// (put_prev_task_ghost), and sched_setaffinity on it while it runs.
	// It is stale while the task runs, as in ghOSt: ticks do not update
	// it.
	Runtime sim.Time
}

// OnCPU reports whether the task is on a CPU (GHOST_SW_TASK_ONCPU).
func (s StatusWord) OnCPU() bool { return s.Flags&SWTaskOnCPU != 0 }

// Runnable reports whether the task is runnable (GHOST_SW_TASK_RUNNABLE).
func (s StatusWord) Runnable() bool { return s.Flags&SWTaskRunnable != 0 }

// CanFree reports whether the kernel is done with the status word.
func (s StatusWord) CanFree() bool { return s.Flags&SWCanFree != 0 }

// CPUAvail reports, for an agent's status word, that no higher-class task
// is runnable on its CPU (GHOST_SW_CPU_AVAIL).
func (s StatusWord) CPUAvail() bool { return s.Flags&SWCPUAvail != 0 }

// BoostPrio reports, for an agent's status word, that the agent was
// picked while other-class tasks were runnable: it should give the CPU
// back soon (GHOST_SW_BOOST_PRIO).
func (s StatusWord) BoostPrio() bool { return s.Flags&SWBoostPrio != 0 }

// String returns the cause's name as results report it: "destroy",
// "watchdog", "owner_exit" ("" while the enclave lives).
func (c DestroyCause) String() string {
	switch c {
	case DestroyCtl:
		return "destroy"
	case DestroyWatchdog:
		return "watchdog"
	case DestroyOwnerExit:
		return "owner_exit"
	}
	return ""
}

// ghostCPU is one CPU's ghOSt state (rq->ghost).
type ghostCPU struct {
	enclave *Enclave
	agent   *Task // the attached agent, or nil
	// agentBarrier is the agent barrier (Aseq): bumped by every message
	// for this CPU's agent, every wakeup of it, and every successful
	// commit to this CPU.
	agentBarrier uint32
	// agentFlags are the agent status word's CPU flags (CPU_AVAIL,
	// BOOST_PRIO).
	agentFlags uint32
	// latched is the task a commit latched to run here next.
	latched  *Task
	runFlags RunFlags // of the latched or running task
	// mustResched forces the running ghOSt task off (a NULL-gtid commit).
	mustResched bool
	// elidePreempt suppresses the PREEMPT for the task the last latch
	// displaced (ELIDE_PREEMPT, one use).
	elidePreempt bool
	cpuSeqnum    uint64
	txn          Txn
	// txnLine and agentLine are the cache lines of the txn slot and of
	// the agent's status word: who wrote them last, for the cost of
	// reading them (and the txn's owner).
	txnLine   cacheLine
	agentLine cacheLine
	// latchLine is rq->ghost.latched_task's line, written by the
	// committing CPU and read by this CPU when it picks the task.
	latchLine cacheLine
}

// ghostTask is a task's ghOSt state (task_struct.ghost).
type ghostTask struct {
	enclave *Enclave
	sw      StatusWord
	swFreed bool
	dstQ    *Queue
	// newPending defers TASK_NEW for a task that entered while running.
	newPending bool
	// yielded marks a YIELD to produce when the task gets off its CPU.
	yielded bool
	// gated swallows messages of a departed task until its old status
	// word is freed (inhibit_task_msgs).
	gated bool
	// lastRunnableAt is when the task last became runnable without
	// running (the watchdog's stamp); notWaiting while it runs or sleeps
	// (0 is a time: a task queued at the start of the run waits from 0).
	lastRunnableAt sim.Time
	// ignorePrevPreemption: forced off by a poisoned sync group, no
	// PREEMPT.
	ignorePrevPreemption bool

	// Agents only.
	isAgent      bool
	agentCPU     int
	proc         *AgentProcess
	blockedInRun bool
	// spinning marks an agent spinning in a poll of spinQ.
	spinning bool
	// swLine is the status word's cache line.
	swLine cacheLine
	// agentTask holds what only agents use; nil for other tasks, so
	// that the many short-lived tasks of a workload stay small.
	*agentTask
	// hung: the agent stopped scheduling (an injected hang).
	hung bool
	// policyWork is policy computation (full-rate ps) charged by
	// AgentThread.Charge, added to the agent's next operation.
	policyWork int64
	// forceOff: the task must leave its CPU at this switch (it yielded or
	// its TASK_NEW was just produced).
	forceOff bool
	// gapGroup is 1 + the gap clock's mask group the task waits in, 0
	// while it does not wait on a run queue (ghost_gap.go).
	gapGroup int32
}

// agentTask is the part of an agent's ghOSt state other tasks do not
// need.
type agentTask struct {
	// spinQ is the queue a spinning agent polls; spinEnd ends the spin.
	spinQ   *Queue
	spinEnd sim.Timer
	// ret holds an agent operation's result for its thread.
	ret     opResult
	openTxn Txn
	readTxn Txn
	ioctl   *ioctlState
}

// gtid returns t's gtid.
func (t *Task) gtid() Gtid { return Gtid(t.id + 1) }

// Gtid returns the task's ghOSt thread id.
func (t *Task) Gtid() Gtid { return t.gtid() }

// TaskByGtid returns the task with gtid g, or nil.
func (k *Kernel) TaskByGtid(g Gtid) *Task {
	if g <= 0 || int(g) > len(k.tasks) {
		return nil
	}
	return k.tasks[g-1]
}

// enterGhost moves t into enclave e's ghOSt class (sched_setscheduler to
// SCHED_GHOST through the enclave's tasks file). t must not be in ghOSt.
// A running task's TASK_NEW is deferred until it passes through schedule.
//
// A task that was in ghOSt before (it departed) gets a new status word
// whose barrier continues from the old one, so that a task's seqnums only
// grow. Upstream its messages stay gated until the agent frees the old
// status word (docs/GHOST-SEMANTICS.md §2.4); model agents never free status
// words, so the old one counts as freed when the task re-enters.
//
// from is the CPU producing TASK_NEW, -1 for the task's own CPU.
func (k *Kernel) enterGhost(t *Task, e *Enclave, from int) {
	var barrier uint32
	if t.g != nil {
		barrier = t.g.sw.Barrier
	}
	t.g = &ghostTask{enclave: e, dstQ: e.defaultQ, swLine: newCacheLine(), lastRunnableAt: notWaiting}
	t.g.sw = StatusWord{Gtid: t.gtid(), Flags: SWInUse, Runtime: t.runtime, Barrier: barrier}
	e.tasks = append(e.tasks, t)
	switch t.state {
	case TaskRunning:
		t.g.sw.Flags |= SWTaskOnCPU | SWTaskRunnable
		t.g.newPending = true
	case TaskRunnable:
		t.g.sw.Flags |= SWTaskRunnable
		t.g.lastRunnableAt = k.eng.Now()
		k.gapWaiting(t, true) // queued before it had ghOSt state (spawn)
		k.produceTaskNew(t, from)
	default:
		k.produceTaskNew(t, from)
	}
}

// leaveGhost takes t out of the ghOSt class (setscheduler to another
// policy; the enclave-destroy reaper): DEPARTED, and the status word can
// be freed. t's class field is changed by the caller.
func (k *Kernel) leaveGhost(t *Task, cpu int) {
	g := t.g
	if g.newPending {
		// A running task with a pending TASK_NEW: NEW(runnable=0) first.
		g.newPending = false
		k.produceTaskMsg(t, Message{Type: MsgTaskNew, Runnable: false}, cpu)
	}
	// task_deliver_msg_departed: cpu and cpu_seqnum are those of the
	// task's run queue (a blocked task's last CPU), not the caller's.
	m := Message{Type: MsgTaskDeparted, CPU: t.cpu, WasCurrent: t.state == TaskRunning}
	if m.CPU < 0 {
		m.CPU = t.lastCPU
	}
	if m.CPU < 0 { // never ran: where it was placed
		m.CPU = cpu
	}
	if m.CPU >= 0 {
		k.cpus[m.CPU].g.cpuSeqnum++
		m.CPUSeqnum = k.cpus[m.CPU].g.cpuSeqnum
	}
	k.produceTaskMsg(t, m, cpu)
	g.sw.Flags |= SWCanFree | SWMsgGated
	g.gated = true
	g.sw.Flags &^= SWTaskOnCPU
	if cpu >= 0 {
		c := &k.cpus[cpu]
		if c.g.latched == t {
			c.g.latched = nil
		}
	}
	e := g.enclave
	e.tasks = removeTask(e.tasks, t)
}

// removeFromRunqueues is used when a task changes class from ghOSt: the
// task leaves whichever ghOSt queue holds it.
func (c *cpuState) ghostDequeue(t *Task) {
	if n := len(c.ghostQ); n > 0 {
		if c.ghostQ = removeTask(c.ghostQ, t); len(c.ghostQ) < n && t.g != nil && t.g.enclave != nil {
			t.g.enclave.k.gapWaiting(t, false)
		}
	}
	if c.g.latched == t {
		c.g.latched = nil
		c.g.elidePreempt = false
	}
}
