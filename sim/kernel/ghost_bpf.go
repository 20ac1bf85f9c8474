package kernel

import (
	"errors"
	"fmt"

	"github.com/ghostsim/ghostsim/sim"
)

// This file is ghOSt's BPF fast path (paper §3.2 "Accelerating scheduling
// with BPF", §5): a pick-next-task program an agent process attaches to
// its enclave (BPF_GHOST_SCHED_PNT; ghost.c ghost_bpf_pnt), the bounded
// shared region that program and the agent both use (BPF array maps the
// agent mmaps: the paper's "shared-memory window into the agent's address
// space"), and the helpers a program may call (bpf.c bpf_ghost_run_gtid,
// bpf_ghost_wake_agent).
//
// When the program runs. pickGhost calls it on the CPU that is picking,
// synchronously, only when the ghOSt class would otherwise leave the CPU
// idle: no task is latched for it (the agent has committed nothing, or
// what it committed was taken), and the previous task does not keep it.
// Every class above ghOSt has already passed (nothing of theirs is
// runnable), and a pre-staged COMMIT_AT_SCHEDULE transaction has already
// been tried (ghostPrologue), as in ghost.c, where the program runs after
// the kernel's own commit attempt. The program does not run while the
// enclave is dying, on a CPU without an agent, or once the process that
// attached it has died (its BPF link was an fd of that process).
//
// What it may do. Read and write the enclave's maps (PNTContext.Load,
// Store), run one task (RunGtid), wake an agent (WakeAgent), and read the
// clock; nothing else of the kernel is visible to it. It must not block:
// it is a plain function call inside schedule(). The verifier bounds a real
// program's loops; here each call may make at most MaxPNTMapAccesses map
// accesses, and a program that goes past that, or panics, is detached and
// the error kept (Enclave.PNTError), as if the kernel had refused to load
// it. A program must not allocate in the steady state (the context is
// reused; maps are fixed-size).
//
// What it costs. Each call charges hw.Costs.BPFPNTCall to the picking CPU
// (inside the context switch, like the rest of schedule()); each map access
// BPFMapAccess plus the transfer of the map's cache line when another CPU
// wrote it last; RunGtid the validation and latch of a commit
// (GhostTxnCommit) plus the task's run-queue lock line when it sits on
// another CPU, as a remote commit pays. The agent's own map accesses cost
// only the line transfers (plain loads and stores to mmapped memory),
// charged as policy work (AgentThread.Charge): their effect is visible at
// once and their cost is paid with the agent's next call.
//
// Races. RunGtid validates as a commit does (ghost.c ghost_run_gtid_on:
// validate_next_task, validate_next_offcpu, ghost_can_schedule) and fails
// with the errors biff.bpf.c handles: ENOENT (gone or departed), ESTALE
// (the task barrier moved: a message about the task was produced since
// the agent wrote the entry), EINVAL (not runnable, not of this enclave,
// bad run flags), EBUSY (still on a CPU, e.g. the agent committed it
// elsewhere and it runs there), ENOSPC (a higher class holds the CPU). A
// success latches the task like a commit (ghost_set_pnt_state): the task
// is moved to this CPU's run queue, a latch of it elsewhere is dropped
// without a message (ghost_move_task, skip_latched_preemption), this CPU's
// agent barrier is bumped, and the run flags apply, so SEND_TASK_ON_CPU
// produces TASK_ON_CPU when it gets on the CPU and everything after is the
// messages of any running task: a later agent commit to this CPU displaces
// it with TASK_PREEMPT, an agent commit of the same task elsewhere fails
// TARGET_ONCPU, and a local agent's commit with an older agent barrier
// fails AGENT_STALE.
//
// Left out: the MSG_SEND and SKIP_TICK attach points, the context's
// dont_idle output (the model's idle CPU picks again whenever something
// wakes it), and map types other than arrays of 64-bit words (rings and
// queues are built on words by sim/agent).

// MaxMapWords bounds one map: 65536 words of 8 bytes (512 KiB).
const MaxMapWords = 1 << 16

// MaxPNTMapAccesses bounds the map accesses of one program run, standing
// for the verifier's bound on a program's loops.
const MaxPNTMapAccesses = 4096

// mapLineWords is how many words share a cache line (64 bytes).
const mapLineWords = 8

// ErrNoSpc is ENOSPC: a higher class holds the CPU (run_gtid).
var ErrNoSpc = errors.New("ENOSPC")

// BPFMap is a BPF array map of 64-bit words shared by an enclave's agent
// process and its programs. Its size is fixed at creation.
type BPFMap struct {
	e     *Enclave
	words []uint64
	lines []cacheLine
}

// CreateMap makes a map of words 64-bit words (1..MaxMapWords), zeroed,
// for programs attached to e and e's agents.
func (e *Enclave) CreateMap(words int) (*BPFMap, error) {
	if words <= 0 || words > MaxMapWords {
		return nil, fmt.Errorf("kernel: BPF map of %d words: must be 1..%d (EINVAL)", words, MaxMapWords)
	}
	m := &BPFMap{e: e, words: make([]uint64, words), lines: make([]cacheLine, (words+mapLineWords-1)/mapLineWords)}
	for i := range m.lines {
		m.lines[i] = newCacheLine()
	}
	return m, nil
}

// Len returns the map's size in words.
func (m *BPFMap) Len() int { return len(m.words) }

// Peek returns word i without cost or effect (tests and traces).
func (m *BPFMap) Peek(i int) uint64 { return m.words[i] }

// PNTProgram is a program attached at BPF_GHOST_SCHED_PNT. PickNextTask
// runs on the picking CPU when the ghOSt class has nothing for it; it may
// run one task with x.RunGtid.
type PNTProgram interface {
	PickNextTask(x *PNTContext)
}

// PNTContext is what a running program sees (struct bpf_ghost_sched) and
// its helpers. It is valid only during PickNextTask.
type PNTContext struct {
	k   *Kernel
	c   *cpuState
	acc int // map accesses so far in this run
	// AgentRunnable: the CPU's agent is runnable and not blocked in its
	// run ioctl (it is about to run anyway). MightYield: tasks of other
	// classes are runnable on this CPU. NextGtid: a task latched or
	// keeping the CPU (0: none). At the model's call point all three are
	// always false or 0; they are filled for programs written against
	// ghost.c's context.
	AgentRunnable bool
	MightYield    bool
	NextGtid      Gtid
}

// enclaveBPF is an enclave's BPF state: the attached program and its owner,
// the reusable context, and the scheduling-gap clock (ghost_gap.go).
type enclaveBPF struct {
	pnt   PNTProgram
	owner *AgentProcess
	err   error
	ctx   PNTContext
	gap   gapClock
}

// AttachPNT attaches prog at the enclave's pick-next-task point on behalf
// of agent process owner (its BPF link). A second program fails with EBUSY
// while the first one's owner lives; a dead owner's program is replaced.
func (e *Enclave) AttachPNT(owner *AgentProcess, prog PNTProgram) error {
	switch {
	case e.dying:
		return fmt.Errorf("kernel: enclave %d is being destroyed (EXDEV)", e.id)
	case prog == nil || owner == nil || owner.enclave != e:
		return ErrInval
	case e.bpf.pnt != nil && e.bpf.owner.Alive():
		return ErrBusy
	}
	e.bpf.pnt, e.bpf.owner, e.bpf.err = prog, owner, nil
	return nil
}

// PNTAttached reports whether a live pick-next-task program is attached.
func (e *Enclave) PNTAttached() bool { return e.bpf.pnt != nil && e.bpf.owner.Alive() }

// PNTError returns why the kernel detached the enclave's program, if it
// did (it panicked or exceeded MaxPNTMapAccesses).
func (e *Enclave) PNTError() error { return e.bpf.err }

// runPNT runs e's program on c if one is attached and may run, and
// reports whether it latched a task there.
func (k *Kernel) runPNT(c *cpuState, e *Enclave) bool {
	b := &e.bpf
	if b.pnt == nil || e.dying {
		return false
	}
	if !b.owner.Alive() {
		b.pnt, b.owner = nil, nil // the link's fd closed with its process
		return false
	}
	k.stats.GhostBPFCalls++
	k.chargeKernel(c.id, k.costs.BPFPNTCall)
	x := &b.ctx
	*x = PNTContext{k: k, c: c, AgentRunnable: len(c.agentQ) > 0, MightYield: len(c.rtQ) > 0 || c.cfs.nr > 0}
	if l := c.g.latched; l != nil {
		x.NextGtid = l.gtid()
	}
	k.callPNT(b, x)
	x.c = nil
	return c.g.latched != nil
}

// callPNT runs the program, detaching it if it fails.
func (k *Kernel) callPNT(b *enclaveBPF, x *PNTContext) {
	defer func() {
		if r := recover(); r != nil {
			b.err = fmt.Errorf("kernel: BPF pick-next-task program detached at %v on cpu%d: %v", k.eng.Now(), x.c.id, r)
			b.pnt, b.owner = nil, nil
			if k.tracing() {
				k.emit(TraceEvent{CPU: x.c.id, Kind: TraceBPF, Text: "detached", Reason: fmt.Sprint(r)})
			}
		}
	}()
	b.pnt.PickNextTask(x)
}

// CPU returns the picking CPU (bpf_get_smp_processor_id).
func (x *PNTContext) CPU() int { return x.c.id }

// Now returns the current time (bpf_ktime_get_ns).
func (x *PNTContext) Now() sim.Time { return x.k.eng.Now() }

// access charges one map access to word i of m.
func (x *PNTContext) access(m *BPFMap, i int, write bool) *cacheLine {
	if x.c == nil {
		panic("kernel: PNTContext used outside PickNextTask")
	}
	if m.e != x.c.g.enclave {
		panic("kernel: BPF program touched another enclave's map")
	}
	x.acc++
	if x.acc > MaxPNTMapAccesses {
		panic(fmt.Sprintf("more than %d map accesses in one run", MaxPNTMapAccesses))
	}
	l := &m.lines[i/mapLineWords]
	d := x.k.costs.BPFMapAccess + x.k.readCost(l, x.c.id)
	if write {
		l.write(x.c.id)
	}
	x.k.chargeKernel(x.c.id, d)
	return l
}

// Load reads word i of m (a map lookup).
func (x *PNTContext) Load(m *BPFMap, i int) uint64 {
	x.access(m, i, false)
	return m.words[i]
}

// Store writes v to word i of m (a map update).
func (x *PNTContext) Store(m *BPFMap, i int, v uint64) {
	x.access(m, i, true)
	m.words[i] = v
}

// CompareAndSwap sets word i of m to new if it holds old (an atomic
// cmpxchg on map memory), and reports whether it did.
func (x *PNTContext) CompareAndSwap(m *BPFMap, i int, old, new uint64) bool {
	x.access(m, i, true)
	if m.words[i] != old {
		return false
	}
	m.words[i] = new
	return true
}

// WakeAgent wakes the agent of cpu (bpf_ghost_wake_agent), e.g. to tell
// it the shared region ran dry.
func (x *PNTContext) WakeAgent(cpu int) error {
	k := x.k
	if cpu < 0 || cpu >= len(k.cpus) || k.cpus[cpu].g.enclave != x.c.g.enclave {
		return ErrInval
	}
	k.wakeAgentOn(cpu, x.c.id)
	return nil
}

// RunGtid latches task g on the picking CPU (bpf_ghost_run_gtid), with
// the validation of a commit: barrier is the task barrier the agent saw
// with the entry, flags the run flags (SEND_TASK_ON_CPU to hear when it
// gets on the CPU). See the file comment for the errors.
func (x *PNTContext) RunGtid(g Gtid, barrier uint32, flags RunFlags) error {
	k, c := x.k, x.c
	if c == nil {
		panic("kernel: PNTContext used outside PickNextTask")
	}
	k.chargeKernel(c.id, k.costs.GhostTxnCommit)
	err := k.validateRunGtid(c, g, barrier, flags)
	if err != nil {
		k.stats.GhostBPFRunErrors++
		if k.tracing() {
			k.emit(TraceEvent{CPU: c.id, Kind: TraceBPF, Text: "run", Gtid: g, Reason: err.Error()})
		}
		return err
	}
	t := k.TaskByGtid(g)
	if t.cpu != c.id {
		// The task's run-queue lock, held last by its CPU (move_queued_task).
		k.chargeKernel(c.id, k.m.LineTransfer(t.cpu, c.id, -1))
		k.cpus[t.cpu].ghostDequeue(t)
		t.cpu = c.id
		c.ghostQ = append(c.ghostQ, t)
		k.gapWaiting(t, true)
	}
	for i := range k.cpus {
		if o := &k.cpus[i]; o != c && o.g.latched == t {
			o.g.latched = nil // ghost_move_task: no message for that latch
		}
	}
	c.g.agentBarrier++
	c.g.agentLine.write(c.id)
	k.setLatch(c, t, flags, c.id)
	k.stats.GhostBPFRuns++
	if k.tracing() {
		k.emit(TraceEvent{CPU: c.id, Kind: TraceBPF, Text: "run", Gtid: g})
	}
	return nil
}

// validateRunGtid is ghost_run_gtid_on's checks, in validate_next_task's
// order, mapped to the errors biff.bpf.c's PNT handles.
func (k *Kernel) validateRunGtid(c *cpuState, g Gtid, barrier uint32, flags RunFlags) error {
	if g <= 0 || !runFlagsValid(g, flags) {
		return ErrInval
	}
	t := k.TaskByGtid(g)
	switch {
	case t == nil || t.state == TaskDead:
		return ErrNoEnt
	case t.g == nil || t.g.isAgent:
		return ErrInval
	case t.g.gated || t.class != ClassGhost:
		return ErrNoEnt // departed
	case t.g.enclave != c.g.enclave:
		return ErrInval
	case t.g.sw.Barrier != barrier:
		return ErrStale
	case t.state == TaskBlocked:
		return ErrInval
	case t.state == TaskRunning:
		return ErrBusy
	case len(c.rtQ) > 0 || c.cfs.nr > 0:
		// A higher class wants the CPU. (ghost_can_schedule looks at
		// rq->curr, which during the pick is still prev, possibly of
		// another class that is leaving: the model asks the queues.)
		return ErrNoSpc
	}
	return nil
}

// MapLoad reads word i of m from agent a: a plain load from the mmapped
// map, costing the line's transfer if another CPU wrote it last (charged
// as the agent's own work).
func (a *AgentThread) MapLoad(m *BPFMap, i int) uint64 {
	a.mapAccess(m, i, false)
	return m.words[i]
}

// MapStore writes v to word i of m from agent a.
func (a *AgentThread) MapStore(m *BPFMap, i int, v uint64) {
	a.mapAccess(m, i, true)
	m.words[i] = v
}

// MapCompareAndSwap sets word i of m to new if it holds old (a lock
// cmpxchg from the agent), and reports whether it did.
func (a *AgentThread) MapCompareAndSwap(m *BPFMap, i int, old, new uint64) bool {
	a.mapAccess(m, i, true)
	if m.words[i] != old {
		return false
	}
	m.words[i] = new
	return true
}

func (a *AgentThread) mapAccess(m *BPFMap, i int, write bool) {
	if m.e != a.e {
		panic(fmt.Sprintf("agent: map of enclave %d used by an agent of enclave %d", m.e.id, a.e.id))
	}
	l := &m.lines[i/mapLineWords]
	a.Charge(a.k.readCost(l, a.cpu))
	if write {
		l.write(a.cpu)
	}
}
