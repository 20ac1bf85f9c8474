package kernel

import (
	"github.com/ghostsim/ghostsim/sim"
)

// opKind is an operation a thread program asks the kernel to perform.
type opKind uint8

const (
	opCompute opKind = iota
	opBlock
	opSleep
	opYield
	opWake
	opSetAffinity
	opSetNice
	opSetClass
	opExit
	opSpin
	opSpinWait
	opSpawn
	opIOWait
)

// op is one request from a thread program: some work to do on the CPU
// (work, in picoseconds at full rate) and an effect applied when it is done.
type op struct {
	kind   opKind
	work   int64
	d      sim.Time // Sleep: how long; Spin: where it ends on the thread's clock; Poll: its deadline
	target *Task
	n      int
	set    *CPUSet
	spawn  *spawnReq
	// ghOSt agent operations.
	q    *Queue
	gtid Gtid
	u32  uint32
	rf   RunFlags
}

// Thread is the API a task's program uses: each call blocks the program
// (a coroutine) until the kernel has carried it out in simulated time.
// Calls cost what their Linux counterparts cost: system calls charge the
// syscall cost on the task's CPU, and the effects happen as the kernel
// would make them happen.
type Thread struct {
	k     *Kernel
	t     *Task
	yield func(op)
}

// Task returns the calling thread's task.
func (th *Thread) Task() *Task { return th.t }

// Now returns the current simulated time.
func (th *Thread) Now() sim.Time { return th.k.eng.Now() }

// Compute runs cycles CPU cycles of the program's own work. It takes
// cycles/GHz at full speed, longer while an SMT sibling competes, after a
// migration (cache refill) or with remote NUMA memory, and it is paused
// while the task is preempted or the CPU handles interrupts.
func (th *Thread) Compute(cycles int64) {
	th.yield(op{kind: opCompute, work: int64(th.k.m.CyclesToTime(cycles))})
}

// Run is Compute with the amount of work given as the time it takes at
// full speed.
func (th *Thread) Run(d sim.Time) {
	th.yield(op{kind: opCompute, work: int64(d)})
}

// Spin busy-waits until the thread has used d more CPU time, as a loop
// on clock_gettime(CLOCK_THREAD_CPUTIME_ID) does: unlike Run, it takes d
// whatever the SMT sibling does or where memory lives (the sibling sees
// a computing thread). It ends by the thread's clock (CPUTime), which
// stops while the task is off its CPU but runs through the interrupts it
// takes and the switch that puts it back, so those shorten the spin
// where they lengthen a Run; the loop sees the clock only in user mode,
// so the spin ends on the first return to it at or past the target.
func (th *Thread) Spin(d sim.Time) {
	th.yield(op{kind: opSpin, work: int64(d)})
}

// SpinWait polls memory in a PAUSE loop, keeping its CPU, until the
// thread is woken (Kernel.Wake or Thread.Wake on it) or it has spun for d
// of CPU time (sim.Never: no limit). A wakeup that arrived since the last
// Block or SpinWait ends it at once. It is how a user-level data plane's
// idle dispatcher or worker waits: its CPU stays busy, and the SMT sibling
// sees a spinning thread. It costs no system call.
func (th *Thread) SpinWait(d sim.Time) {
	th.yield(op{kind: opSpinWait, work: int64(d)})
}

// CPUTime returns the CPU time the calling thread has used up to now
// (CLOCK_THREAD_CPUTIME_ID): its runtime plus its current stretch on the
// CPU, the context switch that started it and the interrupts it took
// included.
func (th *Thread) CPUTime() sim.Time {
	t := th.t
	if c := t.cpu; c >= 0 {
		return th.k.cpuClock(&th.k.cpus[c], t, th.k.eng.Now())
	}
	return t.runtime
}

// Block waits until another task or the workload calls Wake for this
// task. A wakeup that arrived since the last Block is consumed at once
// (futex semantics), so a wakeup is never lost. It costs a system call.
func (th *Thread) Block() {
	th.yield(op{kind: opBlock, work: th.k.syscallWork()})
}

// Sleep blocks for d of simulated time (nanosleep). A Wake ends it early.
func (th *Thread) Sleep(d sim.Time) {
	th.yield(op{kind: opSleep, work: th.k.syscallWork(), d: d})
}

// IOWait is a blocking read that completes after d (an NVMe read): a
// system call, then the task blocks — off its CPU, not spinning — until
// the device completes, when it is woken as Sleep's timer wakes a task
// (from no CPU). The completion interrupt is not charged: like the
// timer interrupt behind Sleep it is left out of the model, on the
// grounds that with per-CPU NVMe queues it lands on the submitting CPU,
// often idle by then, and costs about what the idle wakeup it replaces
// does. Unlike Sleep, the wait is uninterruptible (TASK_UNINTERRUPTIBLE):
// a Wake meanwhile does not end it but is kept for the next Block.
// Stats.IOWaits counts the waits.
func (th *Thread) IOWait(d sim.Time) {
	th.yield(op{kind: opIOWait, work: th.k.syscallWork(), d: d})
}

// Yield gives up the CPU to another runnable task of the same class, if
// any (sched_yield).
func (th *Thread) Yield() {
	th.yield(op{kind: opYield, work: th.k.syscallWork()})
}

// Wake makes target runnable if it is blocked, or records the wakeup for
// its next Block (futex wake).
func (th *Thread) Wake(target *Task) {
	th.yield(op{kind: opWake, work: th.k.syscallWork(), target: target})
}

// SetAffinity restricts the calling task to set (sched_setaffinity(0,
// set)). If its CPU is not in set, it moves; a ghOSt task is forced off
// its CPU (TASK_AFFINITY_CHANGED, then TASK_PREEMPT). A set with no CPU
// of the machine is refused (EINVAL) and changes nothing.
func (th *Thread) SetAffinity(set CPUSet) { th.SetAffinityOf(th.t, set) }

// SetAffinityOf restricts target to set (sched_setaffinity(pid, set)),
// with the semantics of __set_cpus_allowed_ptr (Linux 4.15 core.c) for
// each state of target: a blocked task only gets the new mask (it wakes
// onto an allowed CPU); a queued task whose run queue's CPU is not
// allowed moves to the first allowed CPU (move_queued_task); a running
// task on a CPU that is not allowed is pushed off it to that CPU (the
// migration stopper). For a ghOSt target, see Kernel.setAffinity. The
// caller pays the system call, the target run queue's lock line when it
// is another CPU's, and any IPI; it does not wait for a remote push to
// finish. An empty set (EINVAL), a dead target (ESRCH) or an agent
// (agents are pinned) leave everything as it was.
func (th *Thread) SetAffinityOf(target *Task, set CPUSet) {
	s := set
	th.yield(op{kind: opSetAffinity, work: th.k.syscallWork(), target: target, set: &s})
}

// SetNice changes the task's nice value (setpriority).
func (th *Thread) SetNice(nice int) {
	th.yield(op{kind: opSetNice, work: th.k.syscallWork(), n: nice})
}

// SetClass moves the task to another scheduling class
// (sched_setscheduler).
func (th *Thread) SetClass(c Class) {
	th.yield(op{kind: opSetClass, work: th.k.syscallWork(), n: int(c)})
}

// SetClassOf is sched_setscheduler(pid, policy) on another task: today it
// takes a ghOSt task out of its enclave into CFS (SCHED_NORMAL), whatever
// the target's state (blocked, queued, latched or running, on any CPU).
// Its agent hears exactly one TASK_DEPARTED (was_current if it was
// running; NEW(runnable=0) first if its TASK_NEW was still held), its
// status word gets CANFREE and MSG_GATED, a latch on it is dropped
// silently, and it goes on as a CFS task where it was. The caller pays
// the system call and the target run queue's lock line. A target on
// itself is SetClass; a dead target, an agent, a target not in ghOSt or a
// class other than CFS change nothing (ESRCH, EPERM, EINVAL).
func (th *Thread) SetClassOf(target *Task, c Class) {
	if target == th.t {
		th.SetClass(c)
		return
	}
	th.yield(op{kind: opSetClass, work: th.k.syscallWork(), n: int(c), target: target})
}

// spawnReq carries a Thread.Spawn request and its result.
type spawnReq struct {
	spec TaskSpec
	t    *Task
	err  error
}

// Spawn creates a thread (clone + wake_up_new_task) from the calling
// thread and returns it, or the error Kernel.Spawn would give for spec.
// The caller pays the system call and the machine's clone cost, then the
// new task's run-queue lock line and any IPI to start it. The child
// differs from a Kernel.Spawn of spec in three ways:
//   - a child of a ghOSt task is a ghOSt task of the same enclave,
//     whatever spec.Class and spec.Enclave say (docs/GHOST-SEMANTICS.md §5.3);
//     its agent hears TASK_NEW(runnable), produced on the parent's CPU by
//     the child's first wakeup, instead of TASK_WAKEUP (§1.2);
//   - with spec.Affinity empty it inherits the parent's affinity (with it
//     set, as pthread_attr_setaffinity_np);
//   - spec.CPU < 0 places it from the parent's CPU: fork balancing over
//     the parent's widest SD_BALANCE_FORK domain for CFS, the parent's CPU
//     (if in the enclave and allowed) for ghOSt. spec.CPU >= 0 still
//     forces the first run queue, as for Kernel.Spawn.
//
// Nice, group, NUMA home, footprint and program come from spec.
func (th *Thread) Spawn(spec TaskSpec) (*Task, error) {
	r := &spawnReq{spec: spec}
	th.yield(op{kind: opSpawn, work: th.k.syscallWork() + int64(th.k.costs.Clone), spawn: r})
	return r.t, r.err
}

// Exit ends the task. Returning from the program does the same.
func (th *Thread) Exit() {
	th.yield(op{kind: opExit})
}
