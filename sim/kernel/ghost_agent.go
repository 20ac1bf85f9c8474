package kernel

import (
	"errors"
	"fmt"

	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/hw"
)

// This file is the agents' side of the kernel: agent processes and their
// threads, and the ghOSt system calls an agent thread makes (queue reads,
// transactions, commits, local yield, ping, association), each costing
// simulated time on the agent's CPU.

// AgentProcess is a userspace agent process attached to an enclave: one
// agent thread per enclave CPU, pinned there in the agent class. Killing
// it (a crash) detaches every agent at once.
type AgentProcess struct {
	name    string
	enclave *Enclave
	agents  []*Task  // by order of the enclave's CPUs
	queues  []*Queue // closed when the process dies, as its fds would be
	ctl     *Ctl     // its fd of the enclave's ctl file, closed when it dies
	dead    bool
	hung    bool
	crashed bool
	err     error
	// crashedAt is when it crashed.
	crashedAt sim.Time
}

// Name returns the process's name.
func (p *AgentProcess) Name() string { return p.name }

// Alive reports whether the process still runs.
func (p *AgentProcess) Alive() bool { return !p.dead }

// Crashed reports whether the process died of a crash (a panic in policy
// code or an injected crash), and the panic if any.
func (p *AgentProcess) Crashed() (bool, error) { return p.crashed, p.err }

// CrashedAt returns when the process crashed (0 if it did not).
func (p *AgentProcess) CrashedAt() sim.Time { return p.crashedAt }

// Agents returns the agent threads, by order of the enclave's CPUs.
func (p *AgentProcess) Agents() []*Task { return p.agents }

// Errors of agent operations, as the ghOSt ioctls return them.
var (
	ErrStale      = errors.New("ESTALE")
	ErrNoEnt      = errors.New("ENOENT")
	ErrPerm       = errors.New("EPERM")
	ErrInval      = errors.New("EINVAL")
	ErrBusy       = errors.New("EBUSY")
	ErrTxnPending = errors.New("txn still pending: a committed txn may not be clobbered")
	// ErrSyncGroupBusy: Open asked for a slot another sync group owns
	// (upstream's Open pauses until the owner releases it).
	ErrSyncGroupBusy = errors.New("txn owned by another sync group")
	// ErrSyncGroupOwned: an Open without an owner found the slot owned
	// (upstream CHECK(!sync_group_owned()) fails: an agent bug).
	ErrSyncGroupOwned = errors.New("txn opened without a sync-group owner is owned")
)

// StartAgents starts an agent process on e: one agent thread per CPU of
// the enclave, each running body(at). The process opens the enclave's
// ctl file and holds it until it dies (see EnclaveConfig.Ephemeral). An
// agent attaches when its thread starts; a CPU that still has an agent
// (EBUSY while the previous one lives) makes StartAgents fail.
func (e *Enclave) StartAgents(name string, body func(a *AgentThread)) (*AgentProcess, error) {
	k := e.k
	if e.dying {
		return nil, fmt.Errorf("kernel: enclave %d is being destroyed (EXDEV)", e.id)
	}
	if e.defaultQ == nil {
		// become agent with no queue of its own takes the default;
		// ghost_prep_agent refuses an agent with neither.
		return nil, fmt.Errorf("kernel: enclave %d has no default queue for its agents (ENXIO): set one before starting agents", e.id)
	}
	for c := e.cpus.First(); c >= 0; c = e.cpus.Next(c + 1) {
		if k.cpus[c].g.agent != nil {
			return nil, fmt.Errorf("kernel: cpu%d still has an agent (EBUSY)", c)
		}
	}
	ctl, err := e.OpenCtl()
	if err != nil {
		return nil, err
	}
	p := &AgentProcess{name: name, enclave: e, ctl: ctl}
	e.procs = append(e.procs, p)
	for c := e.cpus.First(); c >= 0; c = e.cpus.Next(c + 1) {
		cpu := c
		t, err := k.Spawn(TaskSpec{
			Name:     fmt.Sprintf("%s/%d", name, cpu),
			Group:    k.agentGroup(),
			Class:    ClassAgent,
			Affinity: SetOf(cpu),
			CPU:      cpu,
			NUMAHome: -1,
			Program: func(th *Thread) {
				body(&AgentThread{Thread: th, cpu: cpu, e: e, proc: p})
			},
			deferStart: true,
		})
		if err != nil {
			return nil, err
		}
		k.attachAgent(t, e, cpu, p)
		p.agents = append(p.agents, t)
		k.activate(t, cpu, false, true)
		k.checkPreempt(cpu, t, -1)
	}
	return p, nil
}

// attachAgent makes t the agent of cpu (become agent): it kills any
// pending transaction with NO_AGENT and allocates the agent's status
// word.
func (k *Kernel) attachAgent(t *Task, e *Enclave, cpu int, p *AgentProcess) {
	c := &k.cpus[cpu]
	t.g = &ghostTask{enclave: e, isAgent: true, agentCPU: cpu, proc: p, dstQ: e.defaultQ, agentTask: &agentTask{}}
	t.g.sw = StatusWord{Gtid: t.gtid(), Flags: SWInUse | SWTaskIsAgent}
	c.g.agent = t
	if c.g.txn.State == TxnReady || c.g.txn.State >= 0 {
		k.finishTxn(c, TxnNoAgent, k.eng.Now(), cpu)
	}
	k.updateAvailability(c)
}

// releaseAgent detaches cpu's agent when its thread exits
// (release_from_ghost): a latched task gets PREEMPT(was_latched), the
// barrier and run flags reset, a pending transaction dies with NO_AGENT.
// Ghost tasks on a CPU without an agent are never picked.
func (k *Kernel) releaseAgent(t *Task) {
	cpu := t.g.agentCPU
	c := &k.cpus[cpu]
	if c.g.agent != t {
		return
	}
	// Detach first: the latched task's PREEMPT may target this CPU's
	// queue, whose wakeup must not revive the exiting agent.
	c.g.agent = nil
	if l := c.g.latched; l != nil {
		c.g.latched = nil
		k.preemptLatched(c, l, cpu)
	}
	c.g.runFlags = 0
	c.g.agentBarrier = 0
	c.g.mustResched = false
	if c.g.txn.State == TxnReady || c.g.txn.State >= 0 {
		k.finishTxn(c, TxnNoAgent, k.eng.Now(), cpu)
	}
	t.g.sw.Flags |= SWCanFree
	if t.g.spinning {
		k.stopSpin(t)
	}
	for _, q := range t.g.enclave.queues {
		q.spinners = removeTask(q.spinners, t)
	}
	// The running ghOSt task loses its CPU: no agent, no ghOSt execution.
	if cur := c.curr; cur != nil && cur.class == ClassGhost {
		c.g.mustResched = true
		k.resched(cpu)
	}
}

// Kill ends the agent process at once, as SIGKILL would: every agent
// thread exits and detaches, and its fds close: its queues, and its ctl
// fd, whose last close destroys an ephemeral enclave (§5.7). crash marks
// it a crash in the counters.
func (p *AgentProcess) Kill(crash bool, why error) {
	if p.dead {
		return
	}
	k := p.enclave.k
	p.dead = true
	if crash {
		p.crashed = true
		p.err = why
		p.crashedAt = k.eng.Now()
		k.stats.AgentCrashes++
	}
	for _, t := range p.agents {
		k.killTask(t)
	}
	for _, q := range p.queues {
		q.Close()
	}
	p.ctl.Close()
}

// Own makes q one of the process's queues: it is closed when the process
// dies (the queue's fd goes with the process).
func (p *AgentProcess) Own(q *Queue) { p.queues = append(p.queues, q) }

// Hang stops the process's agents from scheduling: their threads stay
// alive (so the CPUs keep their agents) but never run again. Only the
// watchdog can then rescue the enclave's tasks.
func (p *AgentProcess) Hang() {
	if p.dead || p.hung {
		return
	}
	p.hung = true
	k := p.enclave.k
	for _, t := range p.agents {
		t.g.hung = true
		if t.g.spinning {
			k.stopSpin(t)
		}
		if t.state == TaskRunning || t.state == TaskRunnable {
			// Block it where it stands; wakeups are ignored from now on.
			c := &k.cpus[t.cpu]
			if t.state == TaskRunning {
				k.pauseCurrent(c, k.eng.Now())
				t.inOp = false
				t.cur = op{}
				t.pendingKernelWork = 0
				k.deactivate(t)
				t.state = TaskBlocked
				k.schedule(c)
				t.cpu = -1
			} else {
				k.deactivate(t)
				t.state = TaskBlocked
				t.cpu = -1
			}
		}
	}
}

// killTask ends t wherever it is (a fatal signal): it exits as soon as it
// would next run, which for the model is at once.
func (k *Kernel) killTask(t *Task) {
	switch t.state {
	case TaskDead:
		return
	case TaskRunning:
		c := &k.cpus[t.cpu]
		k.pauseCurrent(c, k.eng.Now())
		t.inOp = false
		if t.g != nil && t.g.spinning {
			k.stopSpin(t)
		}
		k.exitCurrent(c, t)
		return
	case TaskRunnable:
		k.deactivate(t)
	}
	if t.g != nil && t.g.isAgent {
		k.releaseAgent(t)
	}
	t.sleepTimer.Stop()
	t.state = TaskDead
	t.cpu = -1
	t.exitedAt = k.eng.Now()
	k.stats.Exited++
	k.taskExited(t)
	t.co.Stop()
	t.co = nil // the program and its goroutine can go
}

// crashedBy ends the process after a panic in one of its agents.
func (p *AgentProcess) crashedBy(err error) { p.Kill(true, err) }

// wakeAgentOn is ghost_wake_agent_on(cpu), from CPU from (-1: none): bump
// the agent barrier and, if the agent sleeps in an ioctl (blocked in
// run), wake it; an agent in the agent class preempts whatever runs.
func (k *Kernel) wakeAgentOn(cpu, from int) {
	c := &k.cpus[cpu]
	c.g.agentBarrier++
	c.g.agentLine.write(from)
	a := c.g.agent
	if a == nil || a.g.hung {
		return
	}
	if a.g.blockedInRun {
		a.g.blockedInRun = false
		cost := k.wake(a, from)
		if from >= 0 {
			k.chargeKernel(from, cost+k.costs.GhostAgentWake)
		}
	}
}

// AgentThread is the handle an agent thread's body gets: the Thread API
// plus ghOSt's agent-side calls. Every call costs simulated time on the
// agent's CPU.
type AgentThread struct {
	*Thread
	cpu  int
	e    *Enclave
	proc *AgentProcess
	mask CPUSet // scratch for commit masks
}

// CPU returns the CPU this agent serves.
func (a *AgentThread) CPU() int { return a.cpu }

// Enclave returns the agent's enclave.
func (a *AgentThread) Enclave() *Enclave { return a.e }

// Process returns the agent's process.
func (a *AgentThread) Process() *AgentProcess { return a.proc }

// Machine returns the machine model (topology queries).
func (a *AgentThread) Machine() *hw.Machine { return a.k.m }

// Barrier returns the agent barrier of the agent's CPU, as read from its
// status word.
func (a *AgentThread) Barrier() uint32 { return a.k.cpus[a.cpu].g.agentBarrier }

// opResult carries an agent operation's result back to its thread.
type opResult struct {
	msg    Message
	ok     bool
	err    error
	state  TxnState
	status int
	sw     StatusWord
}

func (a *AgentThread) do(o op) opResult {
	a.yield(o)
	r := a.t.g.ret
	a.t.g.ret = opResult{}
	return r
}

// Consume pops the oldest message of q (Channel::Peek + Consume): the
// consume work plus the transfer of the message's line from the CPU that
// wrote it. ok is false when q is empty.
func (a *AgentThread) Consume(q *Queue) (Message, bool) {
	r := a.do(op{kind: opGhostConsume, q: q})
	return r.msg, r.ok
}

// Poll waits until q has a message or until the given time (sim.Never:
// no limit), spinning on the CPU like a global agent's busy loop: its SMT
// sibling sees a spinning thread. It returns at once if q is not empty.
// The agent notices a new message when the ring's cache line reaches its
// CPU.
func (a *AgentThread) Poll(q *Queue, until sim.Time) {
	a.do(op{kind: opGhostPoll, q: q, d: until})
}

// StatusWord reads the status word of the task with gtid g (a copy),
// paying for its cache line; ok is false for an unknown task.
func (a *AgentThread) StatusWord(g Gtid) (StatusWord, bool) {
	r := a.do(op{kind: opGhostReadSW, gtid: g})
	return r.sw, r.ok
}

// AgentStatusWord reads the status word of cpu's agent (its barrier and
// CPU_AVAIL / BOOST_PRIO flags), paying for its cache line when remote.
func (a *AgentThread) AgentStatusWord(cpu int) StatusWord {
	r := a.do(op{kind: opGhostReadAgentSW, n: cpu})
	return r.sw
}

// AvailCPUs reads the agent status words of cpus and returns those whose
// CPU_AVAIL flag is set (no task of a higher class wants the CPU), as a
// scan over the status-word table does: each word costs its cache line
// if it changed since this CPU last read it. CPUs outside the agent's
// enclave are never available. It is one call however many CPUs it reads.
func (a *AgentThread) AvailCPUs(cpus CPUSet) CPUSet {
	a.mask = cpus
	a.do(op{kind: opGhostReadAvail, set: &a.mask})
	return a.mask
}

// TaskAffinity returns the CPUs the task with gtid g may run on
// (sched_getaffinity: a system call). ok is false for an unknown or dead
// task. ghOSt's commit path does not check the mask (ghost.c
// _ghost_commit_txn, ghost_move_task): honouring it is the agent's job.
func (a *AgentThread) TaskAffinity(g Gtid) (CPUSet, bool) {
	r := a.do(op{kind: opGhostGetAffinity, gtid: g, set: &a.mask})
	return a.mask, r.ok
}

// Open publishes a transaction in cpu's slot (RunRequest::Open). With
// tx.SyncGroupOwner >= 0 it first takes the slot's sync-group ownership
// (ErrSyncGroupBusy while another owner holds it: pause and retry); with
// -1 it fails ErrSyncGroupOwned on an owned slot. It fails if the slot's
// previous transaction has not reached a final state. The kernel's
// outputs (CommitTime, CPUSeqnum) keep the last commit's values.
func (a *AgentThread) Open(cpu int, tx Txn) error {
	tx.CPU = cpu
	a.t.g.openTxn = tx
	r := a.do(op{kind: opGhostOpen, n: cpu})
	return r.err
}

// SetSyncGroupOwner writes cpu's slot's sync-group owner
// (RunRequest::sync_group_owner_set; -1 releases it), as an agent does
// after inspecting a failed sync group. It reports false for a CPU
// outside the agent's enclave.
func (a *AgentThread) SetSyncGroupOwner(cpu, owner int) bool {
	return a.do(op{kind: opGhostSetOwner, n: cpu, u32: uint32(int32(owner))}).ok
}

// TxnState reads cpu's transaction state (line transfer when the target
// CPU wrote it last).
func (a *AgentThread) TxnState(cpu int) Txn {
	r := a.do(op{kind: opGhostReadTxn, n: cpu})
	return a.t.g.readTxn.withState(r.state)
}

// Abort recalls cpu's transaction if the kernel has not claimed it yet
// (a userspace CAS READY→ABORTED). It reports success.
func (a *AgentThread) Abort(cpu int) bool {
	return a.do(op{kind: opGhostAbort, n: cpu}).ok
}

// Commit is GHOST_IOC_COMMIT_TXN on cpus: the ready transactions are
// committed (inline by this CPU, or by their targets for greedy remote
// ones), one batch of IPIs goes out, and if this CPU's own transaction
// succeeded the agent blocks until it is next woken, as in ghOSt. Read
// the results with TxnState.
func (a *AgentThread) Commit(cpus CPUSet) {
	a.mask = cpus
	a.do(op{kind: opGhostCommit, set: &a.mask})
}

// Submit is Commit without waiting: remote transactions are left for
// their targets (greedy) or committed inline (COMMIT_AT_TXN_COMMIT), and
// the call returns after the IPIs (SubmitRunRequests).
func (a *AgentThread) Submit(cpus CPUSet) {
	a.mask = cpus
	a.do(op{kind: opGhostCommit, set: &a.mask, n: 1})
}

// SyncCommit is GHOST_IOC_SYNC_GROUP_TXN on cpus: all of the transactions
// succeed or none runs. It reports whether the group succeeded.
func (a *AgentThread) SyncCommit(cpus CPUSet) bool {
	a.mask = cpus
	return a.do(op{kind: opGhostSyncCommit, set: &a.mask}).ok
}

// LocalYield gives the CPU up until the agent is woken
// (GHOST_IOC_RUN with the NULL gtid): ESTALE if the agent barrier moved
// since barrier was read. flags may hold RunRTLAOnIdle.
func (a *AgentThread) LocalYield(barrier uint32, flags RunFlags) error {
	return a.do(op{kind: opGhostYield, u32: barrier, rf: flags}).err
}

// Ping wakes cpu's agent (GHOST_IOC_RUN with the AGENT gtid): its barrier
// moves and it preempts whatever runs there.
func (a *AgentThread) Ping(cpu int) error {
	return a.do(op{kind: opGhostPing, n: cpu}).err
}

// Associate makes q the queue of the task with gtid g
// (GHOST_IOC_ASSOC_QUEUE), if barrier is the task's current barrier (else
// ESTALE: messages exist that the caller has not seen). An agent's own
// gtid associates its CPU messages, checked against the agent barrier. It
// returns AssocAlready / AssocBrandNew bits.
func (a *AgentThread) Associate(q *Queue, g Gtid, barrier uint32) (int, error) {
	r := a.do(op{kind: opGhostAssociate, q: q, gtid: g, u32: barrier})
	return r.status, r.err
}

// CreateQueue makes a queue of elems slots waking the agents of wakeup
// CPUs (none: a polling queue).
func (a *AgentThread) CreateQueue(elems int, wakeup ...int) (*Queue, error) {
	a.yield(op{kind: opCompute, work: a.k.syscallWork()})
	return a.e.CreateQueue(elems, wakeup...)
}

// Discover returns the status words of every task of the enclave still in
// use (DiscoverTasks scans the status-word region), for an agent that
// attached to a running enclave (an in-place upgrade).
func (a *AgentThread) Discover() []StatusWord {
	var out []StatusWord
	for _, t := range a.e.tasks {
		if !t.g.swFreed {
			out = append(out, t.g.sw)
		}
	}
	a.yield(op{kind: opCompute, work: a.k.syscallWork() + int64(len(out))*int64(a.k.m.LineTransfer(a.cpu, a.cpu, -1))})
	return out
}

// Finished reports whether the agent's process is shutting down.
func (a *AgentThread) Finished() bool { return a.proc.dead }

func (tx Txn) withState(s TxnState) Txn { tx.State = s; return tx }

// Charge adds d of the policy's own computation to this agent's CPU time.
// It is carried out with the agent's next call (before it), so charging
// costs no extra switch of the agent's coroutine.
func (a *AgentThread) Charge(d sim.Time) {
	if d > 0 {
		a.t.g.policyWork += int64(d)
	}
}

// agentGroup is the accounting group of every agent thread ("ghost-agents").
func (k *Kernel) agentGroup() int {
	if k.agentsGroup < 0 {
		k.agentsGroup = k.NewGroup("ghost-agents")
	}
	return k.agentsGroup
}
