package kernel

import (
	"fmt"

	"github.com/ghostsim/ghostsim/sim"
)

// This file is the enclave's lifecycle: creation and tunables, the ghostfs
// ctl fd (an ephemeral enclave dies with its last one), tasks entering an
// enclave through its tasks file, and destruction (docs/GHOST-SEMANTICS.md
// §5.7): marked dying, agents killed, every task moved to CFS, CPUs
// released.

// Enclave is a ghOSt enclave (struct ghost_enclave): a set of CPUs, the
// tasks scheduled on them, their queues, and the agents that schedule
// them.
type Enclave struct {
	k    *Kernel
	id   int
	cpus CPUSet

	queues   []*Queue
	defaultQ *Queue
	tasks    []*Task // ghOSt tasks of the enclave, in order of entry
	procs    []*AgentProcess
	// bpf is the attached BPF program and the scheduling-gap clock
	// (ghost_bpf.go, ghost_gap.go).
	bpf enclaveBPF

	// Tunables (enclave files); all default to off.
	runnableTimeout        sim.Time // runnable_timeout (0 = no watchdog)
	deliverTicks           bool     // deliver_ticks
	deliverCPUAvailability bool     // deliver_cpu_availability
	commitAtTick           bool     // commit_at_tick
	wakeOnWakerCPU         bool     // wake_on_waker_cpu

	// ephemeral: destroyed when the last open fd of its ctl file closes
	// (ghostfs "create <id> ... ephemeral"); ctlOpen counts those fds.
	ephemeral bool
	ctlOpen   int

	dying       bool
	destroyed   bool
	cause       DestroyCause
	destroyedAt sim.Time
}

// DestroyCause says why an enclave was destroyed (docs/GHOST-SEMANTICS.md
// §5.7 lists the triggers).
type DestroyCause uint8

// Destroy causes.
const (
	// NotDestroyed: the enclave lives.
	NotDestroyed DestroyCause = iota
	// DestroyCtl: "destroy" written to its ctl file (DestroyEnclave).
	DestroyCtl
	// DestroyWatchdog: a runnable task waited longer than
	// runnable_timeout (§5.8).
	DestroyWatchdog
	// DestroyOwnerExit: the last open fd of an ephemeral enclave's ctl
	// file closed: its agent process died with no successor holding the
	// enclave open.
	DestroyOwnerExit
)

// EnclaveConfig are an enclave's tunables.
type EnclaveConfig struct {
	// RunnableTimeout is the watchdog's limit (0 = off): if a runnable
	// task of the enclave waits longer than this for a CPU, the enclave is
	// destroyed and its tasks go back to CFS.
	RunnableTimeout sim.Time
	// DeliverTicks sends MSG_CPU_TICK on ticks while a ghOSt task or agent
	// is current.
	DeliverTicks bool
	// DeliverCPUAvailability sends MSG_CPU_AVAILABLE / MSG_CPU_BUSY.
	DeliverCPUAvailability bool
	// CommitAtTick commits greedy transactions at each tick.
	CommitAtTick bool
	// WakeOnWakerCPU queues a waking task on its waker's CPU.
	WakeOnWakerCPU bool
	// Ephemeral makes an enclave that is destroyed when the last open fd
	// of its ctl file closes (ghostfs "create <id> <abi> ephemeral"):
	// every agent process holds one (StartAgents opens it, Kill closes
	// it), so the enclave dies with its agent process unless a successor
	// opened it first (OpenCtl, an in-place upgrade). A persistent
	// enclave (false) outlives its agents until DestroyEnclave or the
	// watchdog; its tasks then wait, never picked, for a new agent.
	Ephemeral bool
}

// CreateEnclave makes an enclave of cpus. A CPU belongs to at most one
// enclave.
func (k *Kernel) CreateEnclave(cpus CPUSet, cfg EnclaveConfig) (*Enclave, error) {
	cpus = cpus.And(RangeSet(0, len(k.cpus)))
	if cpus.Empty() {
		return nil, fmt.Errorf("kernel: enclave with no CPU of this machine")
	}
	for c := cpus.First(); c >= 0; c = cpus.Next(c + 1) {
		if e := k.cpus[c].g.enclave; e != nil {
			return nil, fmt.Errorf("kernel: cpu%d already belongs to enclave %d (EBUSY)", c, e.id)
		}
	}
	e := &Enclave{
		k:                      k,
		id:                     len(k.enclaves),
		cpus:                   cpus,
		runnableTimeout:        cfg.RunnableTimeout,
		deliverTicks:           cfg.DeliverTicks,
		deliverCPUAvailability: cfg.DeliverCPUAvailability,
		commitAtTick:           cfg.CommitAtTick,
		wakeOnWakerCPU:         cfg.WakeOnWakerCPU,
		ephemeral:              cfg.Ephemeral,
	}
	k.enclaves = append(k.enclaves, e)
	for c := cpus.First(); c >= 0; c = cpus.Next(c + 1) {
		g := &k.cpus[c].g
		g.enclave = e
		g.txn = Txn{State: TxnComplete, CPU: c, SyncGroupOwner: -1}
		g.txnLine = newCacheLine()
		g.agentLine = newCacheLine()
		g.latchLine = newCacheLine()
		k.updateAvailability(&k.cpus[c])
	}
	return e, nil
}

// ID returns the enclave's id.
func (e *Enclave) ID() int { return e.id }

// CPUs returns the enclave's CPUs.
func (e *Enclave) CPUs() CPUSet { return e.cpus }

// Dying reports whether the enclave is being or has been destroyed.
func (e *Enclave) Dying() bool { return e.dying }

// Ephemeral reports whether the enclave dies with the last open fd of
// its ctl file (EnclaveConfig.Ephemeral).
func (e *Enclave) Ephemeral() bool { return e.ephemeral }

// Destroyed returns why and when the enclave was destroyed
// (NotDestroyed while it lives).
func (e *Enclave) Destroyed() (DestroyCause, sim.Time) { return e.cause, e.destroyedAt }

// Ctl is an open fd of an enclave's ctl file. The agent processes of
// StartAgents hold one each; OpenCtl gives one to whoever else must keep
// an ephemeral enclave alive, such as an upgrade's new agent process,
// which opens the enclave before the old process dies (docs/GHOST-SEMANTICS.md
// §5.6).
type Ctl struct {
	e      *Enclave
	closed bool
}

// OpenCtl opens e's ctl file. It fails once e is dying (its ghostfs
// directory is being removed).
func (e *Enclave) OpenCtl() (*Ctl, error) {
	if e.dying {
		return nil, fmt.Errorf("kernel: enclave %d is being destroyed (ENOENT)", e.id)
	}
	e.ctlOpen++
	return &Ctl{e: e}, nil
}

// Close closes the fd (again: nothing). The last close of an ephemeral
// enclave's ctl destroys the enclave: it is marked dying at once and torn
// down by the kernel's workqueue (an event at the same time), as
// ghost_destroy_enclave defers __ghost_destroy_enclave.
func (c *Ctl) Close() {
	if c == nil || c.closed {
		return
	}
	c.closed = true
	e := c.e
	e.ctlOpen--
	if e.ctlOpen > 0 || !e.ephemeral || e.dying {
		return
	}
	k := e.k
	if k.tracing() {
		k.emit(TraceEvent{CPU: -1, Kind: TraceEnclaveDestroy, Enclave: e.id, Reason: DestroyOwnerExit.String()})
	}
	k.markDying(e, DestroyOwnerExit)
	k.at(k.eng.Now(), evDestroy, int32(e.id), 0)
}

// Tasks returns the enclave's tasks (agents excluded), in order of entry.
func (e *Enclave) Tasks() []*Task { return e.tasks }

// DefaultQueue returns the queue new tasks are associated with, or nil.
func (e *Enclave) DefaultQueue() *Queue { return e.defaultQ }

// Agent returns the agent attached on cpu, or nil.
func (e *Enclave) Agent(cpu int) *Task {
	if !e.cpus.Has(cpu) {
		return nil
	}
	return e.k.cpus[cpu].g.agent
}

// AgentBarrier returns cpu's agent barrier.
func (e *Enclave) AgentBarrier(cpu int) uint32 { return e.k.cpus[cpu].g.agentBarrier }

// AgentStatusWord returns the status word of cpu's agent: the agent
// barrier and the CPU flags.
func (e *Enclave) AgentStatusWord(cpu int) StatusWord {
	g := &e.k.cpus[cpu].g
	sw := StatusWord{Barrier: g.agentBarrier, Flags: g.agentFlags | SWTaskIsAgent | SWInUse}
	if a := g.agent; a != nil {
		sw.Gtid = a.gtid()
		sw.Flags |= a.g.sw.Flags & (SWTaskOnCPU | SWTaskRunnable)
		sw.SwitchTime, sw.Runtime = a.g.sw.SwitchTime, a.g.sw.Runtime
	}
	return sw
}

// Enclaves returns every enclave created, destroyed ones included.
func (k *Kernel) Enclaves() []*Enclave { return k.enclaves }

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
