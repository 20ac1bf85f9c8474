// Package hw models the machine under the simulated kernel: its topology,
// what scheduling operations cost on it, and how fast a thread's work
// progresses. It says how long things take; it never decides what runs.
//
// A machine is described by a Spec, decoded from the [machine] and
// [costs] sections of a machine file (configs/*.toml), and built with New
// into an immutable Machine.
//
// # What is modelled
//
//   - Topology: sockets (one NUMA node each) → CCXs (cores sharing an L3;
//     on Intel the whole socket) → physical cores → SMT threads, with the
//     firmware's CPU numbering (Linux's by default: all first threads,
//     socket by socket, then the siblings). Queries give a CPU's place,
//     its siblings, the CPUs of a socket or CCX, and the Distance class
//     between two CPUs: same CPU, SMT sibling, same CCX, same socket,
//     remote socket.
//   - Costs (Costs): syscall entry and exit, context switches (minimal and
//     CFS), IPI send, flight by distance and receive, x2APIC multicast
//     clusters, cache-line transfer by distance with the extra for lines
//     homed on the far socket, DRAM latency local and remote, the timer
//     tick, and the cache-refill penalty of a migration per KB of hot data.
//     Each entry of a machine file names its source (docs/HARDWARE.md).
//     Costs in cycles scale with the nominal clock; costs in ns do not.
//   - Execution rate (Rate, ExecRate): a thread runs at FullRate alone on
//     its core, slower beside a computing or PAUSE-spinning sibling, and
//     slower still on the memory-bound share of its work when its data
//     lives on the other socket. Progress accounts work under a rate that
//     changes mid-run, exactly, in integers.
//   - zero_overheads: New sets every cost to 0 and every rate to FullRate,
//     SMT and NUMA included, so that queueing-theory oracles hold.
//
// # What is left out
//
//   - Frequency: one fixed clock per machine, no turbo, no per-core DVFS,
//     no AVX offsets, no thermal effects.
//   - Caches are not simulated line by line: a migration's refill penalty
//     is charged in full whatever happened since the thread last ran (no
//     eviction model), and cache-line transfers cost a fixed time by
//     distance, with no contention, queueing or bandwidth limit.
//   - Memory bandwidth and loaded latency: DRAM latency is the idle
//     latency; many threads streaming do not slow each other.
//   - Interconnect topology within a distance class (ring or mesh hops,
//     Rome's same-CCD vs other-CCD split) and variance: every pair in a
//     class costs the same, with no jitter.
//   - PTI (KPTI): the costs are those of the paper's kernel, which most
//     likely ran without it (docs/HARDWARE.md §4); there is no switch for
//     it yet.
//   - x2APIC cluster membership is derived from the numbering (8 cores ×
//     2 threads of a socket per cluster), not from real APIC IDs.
//
// # Determinism
//
// Configured floats (GHz, costs, factors) are converted to integers once,
// in New. Everything computed at run time (rates, progress, finish times,
// penalties) uses integer fixed point, so results are byte-identical on
// every architecture. The package has no mutable package-level state.
package hw
