package agent

import (
	"errors"
	"fmt"

	"github.com/ghostsim/ghostsim/sim/kernel"
)

// Agent is one agent thread: the handle a policy's per-CPU body gets. Its
// methods cost simulated time on its CPU.
type Agent struct {
	kt   *kernel.AgentThread
	enc  *Enclave
	cpu  Cpu
	reqs []RunRequest // by CPU id, lazily filled
	mask CPUSet
}

// CPU returns the CPU this agent runs on and serves.
func (a *Agent) CPU() Cpu { return a.cpu }

// Enclave returns the agent's enclave.
func (a *Agent) Enclave() *Enclave { return a.enc }

// Now returns the current simulated time (the agent's clock).
func (a *Agent) Now() Time { return a.kt.Now() }

// Gtid returns the agent thread's own gtid.
func (a *Agent) Gtid() Gtid { return a.kt.Task().Gtid() }

// Barrier returns this CPU's agent barrier, read from the agent's status
// word. Read it before draining the channel (docs/GHOST-SEMANTICS.md §2.5).
func (a *Agent) Barrier() uint32 { return a.kt.Barrier() }

// StatusWord reads the agent status word of cpu (barrier, CPU_AVAIL,
// BOOST_PRIO).
func (a *Agent) StatusWord(cpu int) StatusWord { return a.kt.AgentStatusWord(cpu) }

// AvailCPUs returns the CPUs of cpus whose CPU_AVAIL flag is set, read
// from their agent status words in one pass (each word costs its cache
// line if it changed since this agent last read it).
func (a *Agent) AvailCPUs(cpus CPUSet) CPUSet { return a.kt.AvailCPUs(cpus) }

// TaskAffinity returns the CPUs task g may run on (sched_getaffinity, a
// system call); ok is false once the task is gone. The kernel does not
// enforce the mask on commits: a policy that honours it must check.
func (a *Agent) TaskAffinity(g Gtid) (CPUSet, bool) { return a.kt.TaskAffinity(g) }

// BoostedPriority reports whether this agent preempted other-class work
// to run: it should give the CPU back soon.
func (a *Agent) BoostedPriority() bool { return a.kt.AgentStatusWord(a.cpu.ID).BoostPrio() }

// Finished reports whether the agent process is shutting down.
func (a *Agent) Finished() bool { return a.kt.Finished() }

// Ping wakes cpu's agent.
func (a *Agent) Ping(cpu int) error { return a.kt.Ping(cpu) }

// LocalYield gives up this CPU until the agent is woken; ErrStale if the
// barrier moved since it was read.
func (a *Agent) LocalYield(barrier uint32, flags RunFlags) error {
	return a.kt.LocalYield(barrier, flags)
}

// TaskStatusWord reads a task's status word; ok is false if it is gone.
func (a *Agent) TaskStatusWord(g Gtid) (StatusWord, bool) { return a.kt.StatusWord(g) }

// Charge charges d of the policy's own computation on this CPU. It is
// added to the agent's next kernel call, so it costs no extra switch.
func (a *Agent) Charge(d Time) { a.kt.Charge(d) }

// ChargeCycles charges n cycles of the policy's own computation.
func (a *Agent) ChargeCycles(n int64) { a.kt.Charge(a.enc.m.CyclesToTime(n)) }

// Flush carries out the computation charged so far (Charge,
// ChargeCycles) now instead of with the next call, so that Now includes
// it: for a policy timing its own loop. It costs nothing beyond what was
// charged.
func (a *Agent) Flush() { a.kt.Run(0) }

// Spin busy-waits d on this CPU (a pause loop the SMT sibling sees as
// spinning), for policies that must wait without a message to wait for.
func (a *Agent) Spin(d Time) { a.kt.Run(d) }

// Sleep blocks this agent thread for d.
func (a *Agent) Sleep(d Time) { a.kt.Sleep(d) }

// Discover returns the status words of the enclave's tasks, for an agent
// attached to a running enclave (an in-place upgrade); see
// Dispatcher.DiscoverTasks.
func (a *Agent) Discover() []StatusWord { return a.kt.Discover() }

// RunRequest returns the run request (transaction slot) of cpu, as seen
// by this agent. The pointer is stable; it does not allocate after the
// first call per CPU.
func (a *Agent) RunRequest(cpu int) *RunRequest {
	if a.reqs == nil {
		a.reqs = make([]RunRequest, a.enc.m.NumCPUs())
	}
	r := &a.reqs[cpu]
	r.a, r.cpu = a, cpu
	return r
}

// CommitRunRequests commits reqs with one ioctl (CommitRunRequests):
// inline-committed ones are final on return; this agent's own, if any and
// successful, blocks it until woken.
func (a *Agent) CommitRunRequests(reqs []*RunRequest) {
	a.mask = CPUSet{}
	for _, r := range reqs {
		a.mask.Add(r.cpu)
	}
	a.kt.Commit(a.mask)
}

// CommitGroup commits reqs with one ioctl (CommitRunRequests), then reads
// each request's final state back and reports it, in order, to done(i,
// ok) with ok for TXN_COMPLETE: the outcome loop every centralized
// policy writes after its group commit. A failure RoutineFailure does not
// list is an agent bug and panics with policy's name, as upstream's
// LocalEnclave::CompleteRunRequest CHECKs. Nothing is committed for an
// empty reqs.
func (a *Agent) CommitGroup(policy string, reqs []*RunRequest, done func(i int, ok bool)) {
	if len(reqs) == 0 {
		return
	}
	a.CommitRunRequests(reqs)
	for i, req := range reqs {
		if req.State() == TxnComplete {
			done(i, true)
			continue
		}
		if st := req.Last().State; !RoutineFailure(st) {
			panic(policy + ": commit failed with " + st.String())
		}
		done(i, false)
	}
}

// SubmitRunRequests commits reqs without waiting (SubmitRunRequests):
// greedy remote transactions are left for their targets.
func (a *Agent) SubmitRunRequests(reqs []*RunRequest) {
	a.mask = CPUSet{}
	for _, r := range reqs {
		a.mask.Add(r.cpu)
	}
	a.kt.Submit(a.mask)
}

// CommitSyncRequests commits reqs as a sync group: all succeed or none
// runs. It reports whether the group succeeded.
func (a *Agent) CommitSyncRequests(reqs []*RunRequest) bool {
	a.mask = CPUSet{}
	for _, r := range reqs {
		a.mask.Add(r.cpu)
	}
	if a.kt.SyncCommit(a.mask) {
		// The kernel released the slots' ownership (ghost_sync_group).
		for _, r := range reqs {
			r.owned = false
		}
		return true
	}
	// A failed group leaves its slots owned for the agent to inspect;
	// release them, as LocalEnclave::CommitSyncRequests does once every
	// transaction is final (ReleaseSyncRequests).
	for _, r := range reqs {
		if r.owned {
			r.a.kt.SetSyncGroupOwner(r.cpu, -1)
			r.owned = false
		}
	}
	return false
}

// RunRequest is a CPU's transaction slot as an agent drives it
// (LocalRunRequest).
type RunRequest struct {
	a   *Agent
	cpu int
	// last is the slot as last read back.
	last Txn
	// owned: this request's last Open took the slot's sync-group
	// ownership and nothing released it yet.
	owned bool
}

// RunRequestOptions are what Open writes.
type RunRequestOptions struct {
	Target        Gtid
	TargetBarrier uint32
	AgentBarrier  uint32
	RunFlags      RunFlags
	CommitFlags   CommitFlags
	// SyncGroup claims the slot for the sync group owned by
	// SyncGroupOwner (a CPU id, 0 included), as upstream's
	// sync_group_owner; the zero value claims nothing
	// (kSyncGroupNotOwned). CommitSyncRequests releases the claim after
	// the group, whatever its outcome; Abort releases it too.
	SyncGroup      bool
	SyncGroupOwner int
}

// CPU returns the request's target CPU.
func (r *RunRequest) CPU() int { return r.cpu }

// Open publishes the transaction, as LocalRunRequest::Open: with
// SyncGroup it first takes the slot's sync-group ownership, pausing while
// another group owns the slot. It panics (an agent bug, as ghOSt's CHECK)
// if the slot's previous transaction is not final, if an open without
// SyncGroup finds the slot owned, or if SyncGroupOwner is set without
// SyncGroup or is negative with it.
func (r *RunRequest) Open(o RunRequestOptions) {
	owner := -1
	switch {
	case o.SyncGroup && o.SyncGroupOwner < 0:
		panic(fmt.Sprintf("agent: RunRequest(cpu%d).Open: SyncGroup with owner %d", r.cpu, o.SyncGroupOwner))
	case o.SyncGroup:
		owner = o.SyncGroupOwner
	case o.SyncGroupOwner != 0:
		panic(fmt.Sprintf("agent: RunRequest(cpu%d).Open: SyncGroupOwner %d without SyncGroup", r.cpu, o.SyncGroupOwner))
	}
	tx := Txn{
		Gtid: o.Target, TaskBarrier: o.TargetBarrier, AgentBarrier: o.AgentBarrier,
		RunFlags: o.RunFlags, CommitFlags: o.CommitFlags, SyncGroupOwner: owner,
	}
	for {
		err := r.a.kt.Open(r.cpu, tx)
		if err == nil {
			break
		}
		if errors.Is(err, kernel.ErrSyncGroupBusy) {
			r.a.kt.Run(syncGroupPause) // Pause(), then look again
			continue
		}
		panic(fmt.Sprintf("agent: RunRequest(cpu%d).Open: %v", r.cpu, err))
	}
	r.owned = owner >= 0
}

// syncGroupPause is how long Open waits before looking at an owned slot
// again (a pause loop iteration).
const syncGroupPause = 100 * Nanosecond

// OpenUnschedule publishes a NULL-gtid transaction: take the CPU's task
// off and leave it idle.
func (r *RunRequest) OpenUnschedule(flags CommitFlags) {
	r.Open(RunRequestOptions{Target: GtidNull, CommitFlags: flags})
}

// Commit commits this request alone and returns whether it succeeded.
func (r *RunRequest) Commit() bool {
	r.a.mask = SetOf(r.cpu)
	r.a.kt.Commit(r.a.mask)
	return r.State() == TxnComplete
}

// Submit commits without waiting.
func (r *RunRequest) Submit() {
	r.a.mask = SetOf(r.cpu)
	r.a.kt.Submit(r.a.mask)
}

// Abort recalls the transaction if the kernel has not claimed it, and
// then releases the slot's sync-group ownership if Open took it
// (LocalRunRequest::Abort).
func (r *RunRequest) Abort() bool {
	ok := r.a.kt.Abort(r.cpu)
	if ok && r.owned {
		r.a.kt.SetSyncGroupOwner(r.cpu, -1)
		r.owned = false
	}
	return ok
}

// State reads the transaction's state back from the slot.
func (r *RunRequest) State() TxnState {
	r.last = r.a.kt.TxnState(r.cpu)
	return r.last.State
}

// Last returns the slot as the last State call read it.
func (r *RunRequest) Last() Txn { return r.last }

// TaskVM returns the VM a vCPU task belongs to (0: not a vCPU), read as
// the thread's process from /proc: a system call. ok is false once the
// task is gone.
func (a *Agent) TaskVM(g Gtid) (int, bool) { return a.kt.TaskVM(g) }
