// Package search is the policy of the paper's §4.4 ("search"): the
// centralized ghOSt scheduler that replaced CFS on the machines serving
// Google Search, with its NUMA and CCX placement heuristics, each
// switchable for the ablations of Fig 8 (Params.NUMA, Params.CCX,
// Params.HoldUs). The paper's code is not public; this follows its text,
// paragraph by paragraph, with the structure of ghost-userspace's
// schedulers/fifo/centralized.
//
// "ghOSt policy" paragraph. One global agent schedules every CPU of the
// enclave (agent.Global; the other agents sleep in LocalYield, and the
// role moves by hot handoff when CFS wants the global agent's CPU,
// docs/GHOST-SEMANTICS.md §6.5). It polls one channel, the enclave default. The
// topology model the paper builds from sysfs is agent.Topology (lib/
// topology.h plus CCXs). The runqueue is a min-heap by elapsed runtime
// (agent.Heap), least runtime first, from the Runtime of the thread's last
// TASK_NEW, BLOCKED, PREEMPT or YIELD message; equal runtimes go first in,
// first out. Threads run to completion: there is no time slice; a
// TASK_PREEMPT (CFS took the CPU) puts the thread back in the heap,
// BLOCKED takes it off its CPU, DEAD and DEPARTED forget it.
//
// NUMA paragraph (Params.NUMA). The thread's cpumask, set by the
// workload with sched_setaffinity to the socket holding its data, is
// read with sched_getaffinity (Agent.TaskAffinity) on TASK_NEW and
// TASK_AFFINITY_CHANGED — the paper's THREAD_CREATED message carries it.
// For each thread, in heap order, the agent intersects the mask with the
// idle CPUs; if that is empty it skips the thread, which keeps its place
// and is revisited in the next loop. With the heuristic off the mask is
// neither read nor honoured; the kernel does not enforce it on commits
// (ghost.c _ghost_commit_txn), so a thread may run on the other socket,
// away from its memory: the ablation.
//
// CCX paragraph (Params.CCX). Among the allowed idle CPUs the agent takes
// the one closest to where the thread last ran (Topology.NearestIn): that
// CPU, else its SMT sibling (same L1 and L2), else its CCX (same L3), else
// a nearest-neighbour fan-out over CCXs — the other CCXs of its socket by
// XOR distance of their index (on Rome: the other CCX of the CCD, then of
// the quadrant, ...), then the other socket. With the heuristic off, and
// for a thread that never ran, it takes the lowest-numbered allowed idle
// CPU.
//
// Rapid-experimentation paragraph (Params.HoldUs): "if a thread's
// preferred CCX cluster is unavailable, it is more efficient to
// temporarily keep the thread pending for 100 µs rather than migrate it".
// A thread whose last CCX has no allowed idle CPU and that became
// runnable less than HoldUs ago is skipped like a NUMA skip; the agent
// polls no longer than the earliest expiry, after which the thread goes to
// the fan-out. HoldUs = 0 disables it; it applies only with CCX on.
//
// Each loop drains the channel, walks the heap assigning CPUs until none
// is idle, opens one transaction per assignment and commits them all with
// one group commit, inline on the global agent's CPU
// (COMMIT_AT_TXN_COMMIT). A routine failure (agent.RoutineFailure) puts
// the thread back at its place; any other is an agent bug and panics
// (crashing the agent).
//
// Choices the paper leaves open:
//   - Idle CPUs are the agent's bookkeeping (enclave CPUs with no thread
//     committed, minus the global agent's), confirmed once per loop with
//     CPU_AVAIL (Agent.AvailCPUs); a CPU CFS holds is retried after 1 µs.
//   - A thread still on its old CPU, or with a message in flight (status
//     word barrier ahead of the last message seen), sits out the round, as
//     in fifo-central.
//   - "Waiting" for the hold-back starts when the agent handles the
//     wakeup (or preemption) message; a hold-back is counted once per wait.
//     A CCX the thread's mask excludes is not waited for.
//   - Ties inside a cache group go to the lowest-numbered CPU; the order
//     of CCXs on the other socket is the same XOR order from the thread's
//     CCX index.
//   - A mask with no CPU of the enclave is ignored rather than starving
//     the thread.
//   - Nice values are ignored, as in the paper's policy (its last
//     paragraph suggests them as future work).
//
// Costs. Besides what the library calls cost (message consumes, status
// word reads, AvailCPUs, sched_getaffinity, the commit), the agent charges
// its own work: Params.ContainerOpCycles per message handled (the gtid
// lookup) and per heap push or pop times the heap's depth,
// ceil(log2(n+1)); and 4 cycles per CPU a placement search examines (see
// cyclesPerCPUConsidered). A loop's time thus grows with the messages,
// the threads walked and the CPUs searched.
//
// Stats (agent.StatsReporter): Loop is the time from the start of a drain
// to the end of the commit processing, for loops that handled a message
// or committed. Counters: "holdbacks"; "numa_skips" (each time a thread
// is skipped for want of an idle CPU in its mask); placements by distance
// from the last CPU, "place_same_cpu", "place_smt", "place_ccx",
// "place_socket", "place_remote", and "place_new" for threads that never
// ran; "commit_failures" (routine failures).
package search
