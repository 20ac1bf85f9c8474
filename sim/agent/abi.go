// Package agent is ghOSt's userspace library for the simulator, playing
// ghost-userspace's lib/: Enclave, Agent (one per enclave CPU), Channel,
// StatusWord, RunRequest, a message dispatcher with per-task sequence
// tracking, CPU sets and topology helpers, deterministic runqueue
// containers, and a registry of policies.
//
// On top of these it holds what ghost-userspace's schedulers share
// (BasicDispatchScheduler and the FIFO schedulers), so that a policy
// writes only its decisions: the agents' loops (CentralLoop for a global
// agent, the paper's Fig 4; PerCPULoop for per-CPU agents, Fig 3); the
// handling of the seven task messages every policy must handle (Queueing,
// leaving the policy one decision, Queue.Enqueue); the per-task state
// every policy keeps (Task: State, a RunState checked with Expect in
// every handler, as upstream's FifoTaskState); the per-CPU table
// (CPUs) and runqueues (RunQueue, a FIFO or a heap) that record it; the
// pick of a task that can run now (RunQueue.PopRunnable, Agent.Readiness);
// and the commits with their outcome checks (Round and Agent.CommitGroup
// for a group commit, Agent.RunLocal for a per-CPU agent's own CPU).
//
// Policies import this package and nothing below it: it re-exports the
// ABI types a policy needs, so a policy sees exactly what a real agent
// sees — messages, status words, transactions and topology — and can move
// between this simulator and real ghOSt by a mechanical translation.
//
// Every call that touches the kernel costs simulated time on the agent's
// CPU (package kernel charges it). A policy's own computation is charged
// with Agent.Charge, or through the containers, from the cost profile in
// Params.
package agent

import (
	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/kernel"
)

// Time is simulated time (picoseconds); Duration constants follow.
type Time = sim.Time

// Units of Time.
const (
	Nanosecond  = sim.Nanosecond
	Microsecond = sim.Microsecond
	Millisecond = sim.Millisecond
	Second      = sim.Second
	Never       = sim.Never
)

// Types of the ghOSt ABI (see package kernel's abi.go for each name's
// original).
type (
	Gtid        = kernel.Gtid
	Message     = kernel.Message
	MsgType     = kernel.MsgType
	TxnState    = kernel.TxnState
	Txn         = kernel.Txn
	RunFlags    = kernel.RunFlags
	CommitFlags = kernel.CommitFlags
	StatusWord  = kernel.StatusWord
	CPUSet      = kernel.CPUSet
)

// Special gtids.
const (
	GtidNull  = kernel.GtidNull
	GtidAgent = kernel.GtidAgent
	GtidIdle  = kernel.GtidIdle
)

// Message types.
const (
	MsgTaskNew             = kernel.MsgTaskNew
	MsgTaskBlocked         = kernel.MsgTaskBlocked
	MsgTaskWakeup          = kernel.MsgTaskWakeup
	MsgTaskDead            = kernel.MsgTaskDead
	MsgTaskPreempt         = kernel.MsgTaskPreempt
	MsgTaskYield           = kernel.MsgTaskYield
	MsgTaskDeparted        = kernel.MsgTaskDeparted
	MsgTaskAffinityChanged = kernel.MsgTaskAffinityChanged
	MsgTaskOnCPU           = kernel.MsgTaskOnCPU
	MsgTaskPriorityChanged = kernel.MsgTaskPriorityChanged
	MsgCPUTick             = kernel.MsgCPUTick
	MsgCPUNotIdle          = kernel.MsgCPUNotIdle
	MsgCPUAvailable        = kernel.MsgCPUAvailable
	MsgCPUBusy             = kernel.MsgCPUBusy
)

// Transaction states.
const (
	TxnReady             = kernel.TxnReady
	TxnComplete          = kernel.TxnComplete
	TxnAborted           = kernel.TxnAborted
	TxnTargetOnCPU       = kernel.TxnTargetOnCPU
	TxnTargetStale       = kernel.TxnTargetStale
	TxnTargetNotFound    = kernel.TxnTargetNotFound
	TxnTargetNotRunnable = kernel.TxnTargetNotRunnable
	TxnAgentStale        = kernel.TxnAgentStale
	TxnCPUUnavail        = kernel.TxnCPUUnavail
	TxnNoAgent           = kernel.TxnNoAgent
	TxnPoisoned          = kernel.TxnPoisoned
)

// Run flags.
const (
	RunRTLAOnPreempt = kernel.RunRTLAOnPreempt
	RunRTLAOnBlocked = kernel.RunRTLAOnBlocked
	RunRTLAOnYield   = kernel.RunRTLAOnYield
	RunRTLAOnIdle    = kernel.RunRTLAOnIdle
	RunElidePreempt  = kernel.RunElidePreempt
	RunSendTaskOnCPU = kernel.RunSendTaskOnCPU
	RunDoNotPreempt  = kernel.RunDoNotPreempt
)

// Commit flags.
const (
	CommitAtSchedule         = kernel.CommitAtSchedule
	CommitAtTxnCommit        = kernel.CommitAtTxnCommit
	AllowTaskOnCPU           = kernel.AllowTaskOnCPU
	ElideAgentBarrierInc     = kernel.ElideAgentBarrierInc
	IncAgentBarrierOnFailure = kernel.IncAgentBarrierOnFailure
)

// Association status bits.
const (
	AssocAlready  = kernel.AssocAlready
	AssocBrandNew = kernel.AssocBrandNew
)

// Errors of agent calls.
var (
	ErrStale = kernel.ErrStale
	ErrNoEnt = kernel.ErrNoEnt
)

// SetOf returns the CPU set of the given CPUs.
func SetOf(cpus ...int) CPUSet { return kernel.SetOf(cpus...) }

// RoutineFailure reports whether a failed transaction's state is one a
// policy handles as routine (LocalEnclave::CompleteRunRequest): the task
// goes back to its runqueue. Any other failure is an agent bug, and so is
// TARGET_NOT_RUNNABLE: a task that blocked after the agent's last message
// about it has a newer barrier, so its commit fails TARGET_STALE first; only
// an agent that committed a task it knew blocked meets NOT_RUNNABLE.
func RoutineFailure(s TxnState) bool {
	switch s {
	case TxnTargetNotFound, TxnTargetStale, TxnAgentStale, TxnNoAgent, TxnCPUUnavail,
		TxnPoisoned, TxnAborted, TxnTargetOnCPU:
		return true
	}
	return false
}
