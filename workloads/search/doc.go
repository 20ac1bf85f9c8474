// Package search is the paper's Fig 8 workload (§4.4): a Google
// Search-like benchmark on the 256-CPU AMD Rome machine, under CFS or a
// ghOSt policy (`-policy search`, the paper's global-agent policy).
//
// # Structure (from the paper)
//
//   - A query generator on another machine sends queries of three types,
//     A, B and C. Here it is an event handler outside the machine's CPUs:
//     a closed loop of clients per type, each sending its next query when
//     the reply to its last arrives (after think_us, 0 by default). A query
//     arrives at a server thread's queue and the NIC wakes that thread.
//   - Server threads (§4.4 "all queries are first processed by one of
//     several server threads, which create sub-queries") parse the query
//     and hand its sub-queries to workers.
//   - A: "CPU and memory-intensive ... serviced by worker threads which are
//     woken up as needed"; "some sub-queries must be processed by specific
//     worker threads tied to a NUMA node". Long-lived pools: one per socket
//     whose cpumask is that socket (set before the thread enters ghOSt, so
//     the agent reads it at TASK_NEW) and whose data lives there, and one
//     with no home. A server hands a sub-query to an idle worker of the
//     right pool with a futex wake, or queues it for the next worker that
//     finishes.
//   - B: "needs little computation but does require access to the SSD, and
//     is serviced by a collection of short-lived workers": each B
//     sub-query is a new thread (clone) that computes, waits for one NVMe
//     read (blocked, off the CPU), computes again and exits.
//   - C: "a CPU-intensive load serviced by long-living worker threads":
//     a pool; one CPU burst per sub-query.
//   - Background threads of the process (garbage collection) at nice
//     10–19, which CFS ranks below the workers; under ghOSt they are ghOSt
//     threads like the rest of the process, and a policy that ignores nice
//     (the paper's) does not rank them lower. CFS daemons of the rest of
//     the system wake now and then and take CPUs from ghOSt.
//
// A query completes when its last sub-query does; its latency runs from
// its arrival to then, per class "A", "B", "C" and "all". Throughput is
// queries completed per second of the window ("requests_per_s" and
// "A_per_s", "B_per_s", "C_per_s"), counting queries sent in the window.
// Queries sent in the window and unfinished at its end count in the
// latencies with their age then (incomplete, workloads.Requests). The
// clients are a closed loop, so no more queries than clients are ever in
// flight: the backlog cannot grow and the result is never saturated
// (results.Saturated); overload shows as lower throughput and longer
// latencies.
//
// # Work, memory and caches
//
// Each thread's work has a memory-bound share (mem_share) that runs slower
// when its data is on the other socket, by the machine file's dram_remote /
// dram_local, and a hot working set (footprint_kb) that it refills at the
// machine's refill_per_kb when it resumes on another core: nothing within
// an SMT pair, an L2 refill from the shared L3 within a CCX, a refill over
// the I/O die from another CCX, and more from the other socket. Those two
// costs are what the policy's NUMA and CCX heuristics save; both are
// machine costs with their sources (configs/rome256.toml), not workload
// knobs.
//
// # Choices the paper leaves open
//
// The sizes (client counts, fan-outs, pool sizes, work distributions,
// memory shares, footprints, burst and wait lengths, the background and
// daemon threads) are estimates chosen once and shared by every scheduler;
// configs/search.toml states each with its reason. DefaultSpec holds the
// same values, so `ghostsim -config rome256.toml -workload search` runs
// the experiment without search.toml.
package search
