package kernel

import "fmt"

// This file mirrors ghOSt's ABI (abi/latest/kernel/ghost.h, ABI 91, in
// google/ghost-userspace): message types, transaction states, run and
// commit flags, status-word flags and special gtids. Names are Go-cased;
// each doc comment gives the original.

// Gtid is a ghOSt thread id: positive for tasks, with special values
// below. The model numbers tasks densely: a task's gtid is its id + 1, so
// gtids are never reused (like ghOSt's 41-bit sequence).
type Gtid int64

// Special gtids in a transaction.
const (
	// GtidNull is GHOST_NULL_GTID: unschedule (leave the CPU idle); also
	// the local yield.
	GtidNull Gtid = 0
	// GtidAgent is GHOST_AGENT_GTID: ping the target CPU's agent.
	GtidAgent Gtid = -1
	// GtidIdle is GHOST_IDLE_GTID: run the idle task explicitly.
	GtidIdle Gtid = -2
)

// MsgType is a message type (enum ghost_msg_type).
type MsgType uint16

// Message types. Task messages are 64..127, CPU messages 128..191.
const (
	// MsgNop is MSG_NOP: ring padding, skipped by consumers.
	MsgNop MsgType = 0

	// MsgTaskNew is MSG_TASK_NEW: a task entered the enclave.
	MsgTaskNew MsgType = 64
	// MsgTaskBlocked is MSG_TASK_BLOCKED: the task went to sleep.
	MsgTaskBlocked MsgType = 65
	// MsgTaskWakeup is MSG_TASK_WAKEUP: a blocked task became runnable
	// (ghost-userspace's TaskRunnable).
	MsgTaskWakeup MsgType = 66
	// MsgTaskDead is MSG_TASK_DEAD: the task exited.
	MsgTaskDead MsgType = 67
	// MsgTaskPreempt is MSG_TASK_PREEMPT: a runnable task lost its CPU
	// involuntarily (docs/GHOST-SEMANTICS.md §1.4 lists every cause).
	MsgTaskPreempt MsgType = 68
	// MsgTaskYield is MSG_TASK_YIELD: the task called sched_yield.
	MsgTaskYield MsgType = 69
	// MsgTaskDeparted is MSG_TASK_DEPARTED: the task left the ghOSt class.
	MsgTaskDeparted MsgType = 70
	// MsgTaskSwitchto is MSG_TASK_SWITCHTO (not modeled).
	MsgTaskSwitchto MsgType = 71
	// MsgTaskAffinityChanged is MSG_TASK_AFFINITY_CHANGED.
	MsgTaskAffinityChanged MsgType = 72
	// MsgTaskOnCPU is MSG_TASK_ON_CPU (formerly MSG_TASK_LATCHED): the
	// latched task got on its CPU; sent only with RunSendTaskOnCPU.
	MsgTaskOnCPU MsgType = 73
	// MsgTaskPriorityChanged is MSG_TASK_PRIORITY_CHANGED: nice changed.
	MsgTaskPriorityChanged MsgType = 74

	// MsgCPUTick is MSG_CPU_TICK: a tick while a ghOSt task or agent is
	// current (only with deliver_ticks).
	MsgCPUTick MsgType = 128
	// MsgCPUNotIdle is MSG_CPU_NOT_IDLE.
	MsgCPUNotIdle MsgType = 130
	// MsgCPUAvailable is MSG_CPU_AVAILABLE: no higher-class task is
	// runnable any more (only with deliver_cpu_availability).
	MsgCPUAvailable MsgType = 133
	// MsgCPUBusy is MSG_CPU_BUSY: a higher-class task took the CPU.
	MsgCPUBusy MsgType = 134
)

var msgNames = map[MsgType]string{
	MsgNop: "MSG_NOP", MsgTaskNew: "MSG_TASK_NEW", MsgTaskBlocked: "MSG_TASK_BLOCKED",
	MsgTaskWakeup: "MSG_TASK_WAKEUP", MsgTaskDead: "MSG_TASK_DEAD", MsgTaskPreempt: "MSG_TASK_PREEMPT",
	MsgTaskYield: "MSG_TASK_YIELD", MsgTaskDeparted: "MSG_TASK_DEPARTED", MsgTaskSwitchto: "MSG_TASK_SWITCHTO",
	MsgTaskAffinityChanged: "MSG_TASK_AFFINITY_CHANGED", MsgTaskOnCPU: "MSG_TASK_ON_CPU",
	MsgTaskPriorityChanged: "MSG_TASK_PRIORITY_CHANGED", MsgCPUTick: "MSG_CPU_TICK",
	MsgCPUNotIdle: "MSG_CPU_NOT_IDLE", MsgCPUAvailable: "MSG_CPU_AVAILABLE", MsgCPUBusy: "MSG_CPU_BUSY",
}

func (t MsgType) String() string {
	if s, ok := msgNames[t]; ok {
		return s
	}
	return fmt.Sprintf("MSG_%d", uint16(t))
}

// IsTaskMsg reports whether t is a task message.
func (t MsgType) IsTaskMsg() bool { return t >= 64 && t < 128 }

// msgSlots is how many 8-byte ring slots a message takes: the header
// (type, length, seqnum: 8 bytes) plus its ABI 91 payload, rounded up.
func (t MsgType) msgSlots() int {
	switch t {
	case MsgTaskNew:
		return 7 // gtid, parent_gtid, runtime, runnable+nice, sw_info, agent_data
	case MsgTaskWakeup, MsgTaskPreempt, MsgTaskYield, MsgTaskBlocked:
		return 5 // gtid, runtime/agent_data, cpu_seqnum, cpu + flags
	case MsgTaskDeparted, MsgTaskOnCPU:
		return 4
	case MsgTaskDead, MsgTaskAffinityChanged, MsgTaskPriorityChanged:
		return 3
	default: // CPU messages: cpu (+ a flag or a gtid)
		return 2
	}
}

// TxnState is a transaction's state (ghost_txn.state): Ready, a claiming
// CPU (0..ncpu-1), or one of the final, negative states.
type TxnState int32

// Transaction states.
const (
	// TxnReady is GHOST_TXN_READY: published by the agent.
	TxnReady TxnState = 1<<31 - 1
	// TxnComplete is GHOST_TXN_COMPLETE: success.
	TxnComplete TxnState = -1 << 31
	// The failure states, negative like the originals' errno-ish values.
	TxnAborted           TxnState = -1  // GHOST_TXN_ABORTED: recalled by userspace
	TxnTargetOnCPU       TxnState = -2  // GHOST_TXN_TARGET_ONCPU
	TxnTargetStale       TxnState = -3  // GHOST_TXN_TARGET_STALE
	TxnTargetNotFound    TxnState = -4  // GHOST_TXN_TARGET_NOT_FOUND
	TxnTargetNotRunnable TxnState = -5  // GHOST_TXN_TARGET_NOT_RUNNABLE
	TxnAgentStale        TxnState = -6  // GHOST_TXN_AGENT_STALE
	TxnCPUOffline        TxnState = -7  // GHOST_TXN_CPU_OFFLINE
	TxnCPUUnavail        TxnState = -8  // GHOST_TXN_CPU_UNAVAIL
	TxnInvalidFlags      TxnState = -9  // GHOST_TXN_INVALID_FLAGS
	TxnInvalidTarget     TxnState = -10 // GHOST_TXN_INVALID_TARGET
	TxnNotPermitted      TxnState = -11 // GHOST_TXN_NOT_PERMITTED
	TxnInvalidCPU        TxnState = -12 // GHOST_TXN_INVALID_CPU
	TxnNoAgent           TxnState = -13 // GHOST_TXN_NO_AGENT
	TxnUnsupported       TxnState = -14 // GHOST_TXN_UNSUPPORTED_VERSION
	TxnPoisoned          TxnState = -15 // GHOST_TXN_POISONED
)

var txnNames = map[TxnState]string{
	TxnReady: "TXN_READY", TxnComplete: "TXN_COMPLETE", TxnAborted: "TXN_ABORTED",
	TxnTargetOnCPU: "TXN_TARGET_ONCPU", TxnTargetStale: "TXN_TARGET_STALE",
	TxnTargetNotFound: "TXN_TARGET_NOT_FOUND", TxnTargetNotRunnable: "TXN_TARGET_NOT_RUNNABLE",
	TxnAgentStale: "TXN_AGENT_STALE", TxnCPUOffline: "TXN_CPU_OFFLINE", TxnCPUUnavail: "TXN_CPU_UNAVAIL",
	TxnInvalidFlags: "TXN_INVALID_FLAGS", TxnInvalidTarget: "TXN_INVALID_TARGET",
	TxnNotPermitted: "TXN_NOT_PERMITTED", TxnInvalidCPU: "TXN_INVALID_CPU", TxnNoAgent: "TXN_NO_AGENT",
	TxnUnsupported: "TXN_UNSUPPORTED_VERSION", TxnPoisoned: "TXN_POISONED",
}

func (s TxnState) String() string {
	if n, ok := txnNames[s]; ok {
		return n
	}
	if s >= 0 {
		return fmt.Sprintf("TXN_CLAIMED(cpu%d)", int32(s))
	}
	return fmt.Sprintf("TxnState(%d)", int32(s))
}

// Final reports whether s is a final state (negative).
func (s TxnState) Final() bool { return s < 0 }

// RunFlags are a transaction's run flags (ghost_txn.run_flags).
type RunFlags uint16

// Run flags.
const (
	RunRTLAOnPreempt   RunFlags = 1 << 0  // RTLA_ON_PREEMPT: wake the local agent when the task is preempted
	RunRTLAOnBlocked   RunFlags = 1 << 1  // RTLA_ON_BLOCKED
	RunRTLAOnYield     RunFlags = 1 << 2  // RTLA_ON_YIELD
	RunRTLAOnIdle      RunFlags = 1 << 5  // RTLA_ON_IDLE: run the agent rather than idle
	RunNeedCPUNotIdle  RunFlags = 1 << 7  // NEED_CPU_NOT_IDLE (with GtidIdle only)
	RunElidePreempt    RunFlags = 1 << 9  // ELIDE_PREEMPT: no PREEMPT for the task this latch displaces
	RunSendTaskOnCPU   RunFlags = 1 << 10 // SEND_TASK_ON_CPU (formerly SEND_TASK_LATCHED)
	RunDeferLatchedAgt RunFlags = 1 << 11 // DEFER_LATCHED_PREEMPTION_BY_AGENT
	RunDoNotPreempt    RunFlags = 1 << 12 // DO_NOT_PREEMPT
	runFlagsAll                 = RunRTLAOnPreempt | RunRTLAOnBlocked | RunRTLAOnYield | RunRTLAOnIdle |
		RunNeedCPUNotIdle | RunElidePreempt | RunSendTaskOnCPU | RunDeferLatchedAgt | RunDoNotPreempt
)

// CommitFlags are a transaction's commit flags (ghost_txn.commit_flags).
// Zero means greedy: any commit point may take the transaction.
type CommitFlags uint8

// Commit flags.
const (
	CommitAtSchedule         CommitFlags = 1  // COMMIT_AT_SCHEDULE: only when the target CPU schedules
	CommitAtTxnCommit        CommitFlags = 2  // COMMIT_AT_TXN_COMMIT: inline, by the committing CPU
	AllowTaskOnCPU           CommitFlags = 4  // ALLOW_TASK_ONCPU
	ElideAgentBarrierInc     CommitFlags = 8  // ELIDE_AGENT_BARRIER_INC
	IncAgentBarrierOnFailure CommitFlags = 16 // INC_AGENT_BARRIER_ON_FAILURE
	commitFlagsAll                       = CommitAtSchedule | CommitAtTxnCommit | AllowTaskOnCPU |
		ElideAgentBarrierInc | IncAgentBarrierOnFailure
)

// Status-word flags (ghost_status_word.flags).
const (
	SWInUse        uint32 = 1 << 0  // GHOST_SW_F_INUSE
	SWCanFree      uint32 = 1 << 1  // GHOST_SW_F_CANFREE
	SWCPUAvail     uint32 = 1 << 8  // GHOST_SW_CPU_AVAIL (agent SW)
	SWBoostPrio    uint32 = 1 << 9  // GHOST_SW_BOOST_PRIO (agent SW)
	SWTaskOnCPU    uint32 = 1 << 16 // GHOST_SW_TASK_ONCPU
	SWTaskRunnable uint32 = 1 << 17 // GHOST_SW_TASK_RUNNABLE
	SWTaskIsAgent  uint32 = 1 << 18 // GHOST_SW_TASK_IS_AGENT
	SWMsgGated     uint32 = 1 << 19 // GHOST_SW_TASK_MSG_GATED
)

// Associate-queue status bits (GHOST_ASSOC_SF_*).
const (
	AssocAlready  = 1 << 0 // GHOST_ASSOC_SF_ALREADY: the queue was already this one
	AssocBrandNew = 1 << 1 // GHOST_ASSOC_SF_BRAND_NEW: TASK_NEW not yet sent
)
