package kernel

import (
	"fmt"

	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/hw"
)

// TaskState is a task's scheduling state. A task is in exactly one.
type TaskState uint8

// Task states.
const (
	// TaskRunnable: waiting on a run queue for a CPU.
	TaskRunnable TaskState = iota
	// TaskRunning: current on a CPU (possibly still being switched in).
	TaskRunning
	// TaskBlocked: waiting for a wakeup or a timer.
	TaskBlocked
	// TaskDead: exited; never runs again.
	TaskDead
)

var taskStateNames = [...]string{"runnable", "running", "blocked", "dead"}

func (s TaskState) String() string {
	if int(s) < len(taskStateNames) {
		return taskStateNames[s]
	}
	return fmt.Sprintf("TaskState(%d)", s)
}

// Class is a scheduling class. Lower values have higher priority: the
// class walk of schedule() goes in this order, as in ghOSt's kernel
// (docs/GHOST-SEMANTICS.md §6.1).
type Class uint8

// Scheduling classes, highest priority first.
const (
	// ClassStop is Linux's stop class (migration/N threads).
	ClassStop Class = iota
	// ClassAgent is ghOSt's agent class: agent threads, above everything
	// but stop.
	ClassAgent
	// ClassRT stands for SCHED_FIFO at one priority.
	ClassRT
	// ClassMicroQuanta is Google's soft real-time class for Snap's
	// workers: a thread runs at most a runtime per period, then is
	// throttled until its next period (mq_class.go).
	ClassMicroQuanta
	// ClassCFS is the completely fair scheduler (SCHED_NORMAL).
	ClassCFS
	// ClassGhost is the ghOSt class: tasks scheduled by an agent, below CFS.
	ClassGhost
	// ClassIdle is the idle task.
	ClassIdle
	numClasses
)

var classNames = [...]string{"stop", "agent", "rt", "microquanta", "cfs", "ghost", "idle"}

func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return fmt.Sprintf("Class(%d)", c)
}

// ParseClass returns the class named s ("cfs", "ghost", ...).
func ParseClass(s string) (Class, bool) {
	for i, n := range classNames {
		if n == s {
			return Class(i), true
		}
	}
	return 0, false
}

// TaskSpec describes a task to spawn.
type TaskSpec struct {
	// Name labels the task in traces ("worker/3").
	Name string
	// Group is an accounting group from Kernel.Group; CPU time is reported
	// per group.
	Group int
	// Class is the scheduling class; Nice applies to CFS (-20..19).
	Class Class
	Nice  int
	// Affinity is the set of CPUs the task may run on; empty means all.
	Affinity CPUSet
	// NUMAHome is the socket holding the task's data, or -1 for data that
	// follows the task (always local).
	NUMAHome int
	// FootprintKB is the task's hot cache footprint: what it must refill
	// after moving away from its last CPU.
	FootprintKB int
	// MemShare is the fraction (0–1) of the task's work that is bound by
	// memory latency, and so slowed by remote NUMA memory.
	MemShare float64
	// Program is the task's body, a blocking loop using the Thread API.
	// Returning from it exits the task.
	Program func(t *Thread)
	// CPU, when >= 0, is where the new task is first queued (otherwise the
	// kernel picks one as fork balancing would). Use -1 for the kernel's
	// choice: 0 is CPU 0.
	CPU int
	// Enclave is the ghOSt enclave of a ClassGhost task.
	Enclave *Enclave
	// VM, when > 0, makes the task a vCPU of that VM: its core-scheduling
	// cookie, and what VM exits and flushes are charged for
	// (coresched_vm.go).
	VM int
	// MQRuntime and MQPeriod are a ClassMicroQuanta task's bandwidth
	// (0: the [kernel] defaults).
	MQRuntime, MQPeriod sim.Time

	// deferStart leaves the new task blocked (StartAgents attaches an
	// agent before it first runs).
	deferStart bool
}

// Task is a thread known to the kernel (task_struct). Its fields are owned
// by the kernel; read them through methods.
type Task struct {
	id    int
	name  string
	group int
	state TaskState
	class Class

	nice   int
	weight int64

	affinity    CPUSet
	numaHome    int
	footprintKB int
	memShare    hw.Rate
	vm          int // VM id of a vCPU (its core-scheduling cookie), 0 otherwise

	// cpu is the CPU whose run queue holds the task or that runs it; -1
	// while blocked or dead.
	cpu int
	// lastCPU is where the task last ran (-1 before it ever ran);
	// lastRan is when it last stopped running there.
	lastCPU int
	lastRan sim.Time
	// migrateTo, when >= 0, is where active balancing moves the task
	// when it is next switched out.
	migrateTo int

	// se is the CFS scheduling entity.
	se schedEntity
	// g is the ghOSt state of a task that is or was in the ghOSt class,
	// or of an agent; nil otherwise.
	g *ghostTask
	// mq is the MicroQuanta state of a task that is or was in that
	// class; nil otherwise.
	mq *mqEntity

	// Program execution.
	co       *sim.Coroutine[op]
	cur      op          // the operation in progress
	progress hw.Progress // work left of cur
	inOp     bool        // cur has been fetched and not yet completed
	// wakePending records a wakeup that arrived while the task was not
	// blocked; the next Block consumes it instead of sleeping (futex
	// semantics: no lost wakeups).
	wakePending bool
	sleepTimer  sim.Timer
	// ioWait marks a task blocked in IOWait: only the completion
	// (sleepTimer) wakes it.
	ioWait bool
	// pendingKernelWork is kernel time (ps at full rate) charged to the
	// task after an operation's effect (an IPI it had to send).
	pendingKernelWork int64

	// Accounting.
	runtime  sim.Time // CPU time consumed
	wokenAt  sim.Time
	exitedAt sim.Time
}

// ID returns the task's id (its gtid in ghOSt terms), dense from 0.
func (t *Task) ID() int { return t.id }

// Name returns the task's name.
func (t *Task) Name() string { return t.name }

// Group returns the task's accounting group.
func (t *Task) Group() int { return t.group }

// State returns the task's scheduling state.
func (t *Task) State() TaskState { return t.state }

// Class returns the task's scheduling class.
func (t *Task) Class() Class { return t.class }

// Nice returns the task's nice value.
func (t *Task) Nice() int { return t.nice }

// CPU returns the CPU that runs or queues the task, or -1.
func (t *Task) CPU() int { return t.cpu }

// LastCPU returns the CPU the task last ran on, or -1.
func (t *Task) LastCPU() int { return t.lastCPU }

// Affinity returns the CPUs the task may run on.
func (t *Task) Affinity() CPUSet { return t.affinity }

// Runtime returns the CPU time the task has consumed, up to its last
// accounting point.
func (t *Task) Runtime() sim.Time { return t.runtime }

func (t *Task) String() string { return fmt.Sprintf("%s(%d)", t.name, t.id) }

// nice-to-weight table, kernel/sched/core.c sched_prio_to_weight: each nice
// step changes CPU share by about 10 %.
var prioToWeight = [40]int64{
	/* -20 */ 88761, 71755, 56483, 46273, 36291,
	/* -15 */ 29154, 23254, 18705, 14949, 11916,
	/* -10 */ 9548, 7620, 6100, 4904, 3906,
	/*  -5 */ 3121, 2501, 1991, 1586, 1277,
	/*   0 */ 1024, 820, 655, 526, 423,
	/*   5 */ 335, 272, 215, 172, 137,
	/*  10 */ 110, 87, 70, 56, 45,
	/*  15 */ 36, 29, 23, 18, 15,
}

// nice0Load is NICE_0_LOAD (scale_load_down'ed), the weight of nice 0.
const nice0Load = 1024

// weightOf returns the load weight of a nice value.
func weightOf(nice int) int64 { return prioToWeight[nice+20] }

func (t *Task) setNice(nice int) {
	t.nice = nice
	t.weight = weightOf(nice)
}
