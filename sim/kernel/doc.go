// Package kernel models the Linux kernel that ghOSt runs in: tasks
// (threads) whose programs are coroutines, per-CPU run queues, the
// scheduling-class walk (stop > ghOSt agent > RT > CFS > ghOSt > idle),
// context switches, IPIs and the scheduler tick, CFS as in Linux 4.15
// (weights, vruntime, slices, wakeup placement within the LLC, and load
// balancing over SMT, LLC, socket and NUMA domains), the ghOSt scheduling
// class with its agents (README.md maps ghOSt's structures to this
// package's types), and accounting.
//
// Every step that takes CPU time in Linux takes simulated time here, on
// the CPU doing it, from the machine's cost table (package hw): system
// calls, context switches, IPI sends and handlers, tick handlers, remote
// run-queue locks. Work progresses at the rate hw gives for the CPU's SMT
// sibling activity and the task's NUMA placement, and a task pays a cache
// refill when it resumes away from its last CPU.
//
// # What is left out
//
// Load is the instantaneous sum of CFS weights, not PELT's decaying
// averages; group scheduling (cgroups), bandwidth control, real-time
// throttling, frequency scaling, C-state exit latencies and automatic NUMA
// balancing are not modeled. CFS-ROME.md measures how long this CFS
// takes to spread a burst of threads over rome256's CCXs and sockets. The
// RT class is a FIFO placeholder; MicroQuanta is its own class (mq_*.go).
// Of ghOSt's BPF attach points only pick-next-task is modelled
// (ghost_bpf.go: the fast path of the paper's §3.2); MSG_SEND and
// SKIP_TICK programs, switchto, timerfds, PrioTables and status-word
// regions beyond one are left out (docs/GHOST-SEMANTICS.md says a
// simulator of the SOSP design can do without them).
//
// # Order of same-time work
//
// Everything happens in engine events. Events at the same simulated time
// run in the order they were scheduled. Within one event, the kernel
// applies effects immediately (a wakeup enqueues the task at once) but
// defers rescheduling: resched on the local CPU schedules an evResched
// event at the current time, so the handler that asked finishes first;
// a remote CPU learns of a reschedule through an IPI (after its flight
// time) or, when idle, through its monitor wakeup (after a cache-line
// transfer). An interrupt handler in progress, or a context switch,
// postpones a reschedule to its end. Ticks of all CPUs fall on the same
// instants (skew_tick = 0) and run in CPU order of their arming.
//
// # Thread programs
//
// A program is ordinary Go written as a blocking loop over the Thread
// API (Compute, Run, Spin, SpinWait, CPUTime, Block, Sleep, IOWait,
// Yield, Wake, SetAffinity, SetAffinityOf, SetNice, SetClass, Spawn,
// Exit). Programs must act on the kernel
// only through that API: each call yields an operation to the kernel,
// which charges its cost and applies its effect in simulated time. Run
// and Compute are work, slowed by a busy SMT sibling; Spin is CPU time
// (a loop on the thread's CPU clock); SpinWait polls memory, keeping the
// CPU, until a wakeup.
package kernel
