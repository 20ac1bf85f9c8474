// Package rocksdb is the paper's Fig 6 workload (§4.2): RocksDB requests
// served by Shinjuku-style systems on one socket of xeon48.
//
// A load-generator thread, alone on its physical core (generator_cpu; its
// SMT sibling is left free), draws Poisson arrivals at load_rps and hands
// each request over as it comes. A request is a GET of get_us plus
// short_us of processing (probability 1 − p_long) or long_us
// (probability p_long): 6 + 4 µs or 6 µs + 10 ms in the paper. As in
// ghost-userspace's RocksDB harness (docs/WORKLOADS.md §1.2, "Service
// semantics"), the GET is real work (th.Run: slowed by a busy SMT sibling,
// paused while descheduled) and the server then spins until the request
// has used its total in CPU time (th.Spin), so a request costs
// max(GET, get_us + processing) of CPU time, never wall time. Latency runs
// from the arrival (the scheduled Poisson instant, even if the generator
// is late) to the end of the processing, per class: "short", "long" and
// "all".
//
// # Systems (-policy)
//
//   - ghost-shinjuku: a pool of `workers` (200) ghOSt threads; the
//     generator hands each request to an idle worker (futex wake, a ghOSt
//     TASK_WAKEUP); with none idle the request waits, in arrival order,
//     until a worker has marked itself idle and gone to sleep and the
//     generator has seen the mark (ghost-userspace's LoadGenerator and
//     Worker with batch 1: a worker never takes a second request itself).
//     The ghost-shinjuku policy's global agent runs on
//     policy.global_cpu, its own physical core; the enclave is that CPU plus
//     worker_cpus. Its SMT sibling is in no enclave and stays idle.
//   - ghost-shinjuku-shenango: the same with the ghost-shinjuku-shenango
//     policy and a batch app: one thread per worker CPU, each soaking any
//     CPU it gets, as ghOSt tasks at nice 19 (the policy's batch class). They
//     are ghOSt tasks because CFS sits above ghOSt: a CFS batch app would
//     take CPUs from RocksDB, where the paper's policy "gives idle CPUs to a
//     batch app and takes them back as RocksDB load rises".
//   - shinjuku-dataplane: the original Shinjuku (see dataplane.go): a
//     spinning dispatcher alone on dispatcher_cpu's core and one spinning
//     worker per worker CPU, all pinned RT threads that never leave their
//     CPUs; requests travel as descriptors through shared cache lines, and
//     a request running for the time slice is preempted by a posted
//     interrupt and goes to the back of the dispatcher's FIFO.
//   - cfs-shinjuku: the 200 workers as CFS threads on worker_cpus, handed
//     requests as under ghOSt; no preemption beyond CFS's own.
//   - cfs-shinjuku-batch: cfs-shinjuku with the workers at nice −20 and the
//     batch app as CFS threads at nice 19 (Fig 6c's reference line).
//   - any other registered ghOSt policy (fifo-central, a user's own): the
//     200 workers as ghOSt threads scheduled by that policy, set up as for
//     ghost-shinjuku (the same enclave and global CPU).
//
// batch = true adds the batch app to any system: CFS at nice 19 except
// under ghOSt. Under shinjuku-dataplane it gets nothing, as in Fig 6c.
//
// The preemption slice is [policy] time_slice_us for both the ghOSt policy
// and the data plane, so one knob sets Fig 6's 30 µs for both.
//
// # Choices the paper leaves open (estimates, shared by every system)
//
//   - generator_cycles = 200: the generator's work per request (draw two
//     random numbers, fill a descriptor, read the TSC); the hand-off then
//     costs what the system's mechanism costs (a futex wake, or a shared
//     cache-line write).
//   - Idle workers are handed requests oldest-idle first; queued requests
//     are served in arrival order.
//   - No network, no reply: the latency ends when the server is done.
//   - Data-plane costs in [workload.rocksdb.dataplane], see dataplane.go.
package rocksdb

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/kernel"
)

// Spec is the [workload.rocksdb] table.
type Spec struct {
	// LoadRPS is the offered load: the Poisson arrival rate, requests/s.
	LoadRPS float64 `toml:"load_rps"`
	// Workers is the thread pool of the ghOSt and CFS systems (the data
	// plane has one worker per worker CPU).
	Workers int `toml:"workers"`
	// GetUs is the GET's work, µs at full speed; ShortUs and LongUs the
	// processing of short and long requests, µs of CPU time; PLong the
	// fraction of long requests.
	GetUs   float64 `toml:"get_us"`
	ShortUs float64 `toml:"short_us"`
	LongUs  float64 `toml:"long_us"`
	PLong   float64 `toml:"p_long"`
	// GeneratorCPU runs the load generator; DispatcherCPU the data
	// plane's dispatcher; WorkerCPUs (a cpulist) serve requests.
	GeneratorCPU  int    `toml:"generator_cpu"`
	DispatcherCPU int    `toml:"dispatcher_cpu"`
	WorkerCPUs    string `toml:"worker_cpus"`
	// Batch adds the batch app to systems that do not imply it.
	Batch bool `toml:"batch"`
	// GeneratorCycles is the generator's own work per request.
	GeneratorCycles int64 `toml:"generator_cycles"`
	// Dataplane holds shinjuku-dataplane's costs.
	Dataplane DataplaneSpec `toml:"dataplane"`
}

// DataplaneSpec is [workload.rocksdb.dataplane]: the Shinjuku data plane's
// own costs, in cycles. Preemption uses the machine's IPI costs
// (ipi_send, ipi_flight, ipi_receive: Shinjuku's posted-interrupt
// numbers on xeon48) and cache-line transfers by distance.
type DataplaneSpec struct {
	// EnqueueCycles: the dispatcher takes a request from the networker
	// (context_alloc, tskq_enqueue_tail).
	EnqueueCycles int64 `toml:"enqueue_cycles"`
	// DispatchCycles: the dispatcher dequeues a request and writes a
	// worker's descriptor (dispatch_request).
	DispatchCycles int64 `toml:"dispatch_cycles"`
	// CompleteCycles: the dispatcher handles a worker's FINISHED or
	// PREEMPTED (context_free or the enqueue at the tail).
	CompleteCycles int64 `toml:"complete_cycles"`
	// ContextCycles: a worker switches into or out of a request's
	// context (swapcontext without the signal mask).
	ContextCycles int64 `toml:"context_cycles"`
}

// DefaultSpec is the paper's setup on xeon48 at 100k req/s; see the
// package doc and configs/rocksdb.toml for the reasoning.
func DefaultSpec() Spec {
	return Spec{
		LoadRPS: 100000, Workers: 200,
		GetUs: 6, ShortUs: 4, LongUs: 10000, PLong: 0.005,
		GeneratorCPU: 0, DispatcherCPU: 1, WorkerCPUs: "2-11,26-35",
		GeneratorCycles: 200,
		Dataplane: DataplaneSpec{
			EnqueueCycles: 150, DispatchCycles: 100, CompleteCycles: 100, ContextCycles: 140,
		},
	}
}

// Input limits, derived from the clock (sim.Time counts picoseconds in an
// int64) and from memory per thread, as the synthetic workload's
// (README "Input limits").
const (
	// MaxWorkers caps workers: a thread costs about 4 KB.
	MaxWorkers = 50000
	// MaxUs caps get_us, short_us and long_us (1000 s).
	MaxUs = 1e9
	// MinLoadRPS and MaxLoadRPS bound load_rps: a mean gap of 1000 s to 1 ns.
	MinLoadRPS = 1e-3
	MaxLoadRPS = 1e9
	// MaxCycles caps the cycle counts: one second at 1 GHz.
	MaxCycles = 1e9
)

// Validate checks the spec against a machine of ncpus CPUs.
func (s *Spec) Validate(ncpus int) error {
	var errs []error
	bad := func(k, format string, args ...any) {
		errs = append(errs, sim.KeyErrorf("workload.rocksdb."+k, format, args...))
	}
	if s.LoadRPS <= 0 {
		bad("load_rps", "must be > 0, got %v", s.LoadRPS)
	} else if !(s.LoadRPS >= MinLoadRPS && s.LoadRPS <= MaxLoadRPS) {
		bad("load_rps", "must be in %g..%g (a mean gap of 1000 s to 1 ns), got %v", MinLoadRPS, MaxLoadRPS, s.LoadRPS)
	}
	if s.Workers < 1 || s.Workers > MaxWorkers {
		bad("workers", "must be in 1..%d (memory: about 4 KB per thread), got %d", MaxWorkers, s.Workers)
	}
	if !(s.GetUs > 0 && s.GetUs <= MaxUs) {
		bad("get_us", "must be > 0 and at most %g (µs), got %v", MaxUs, s.GetUs)
	}
	if !(s.ShortUs >= 0 && s.ShortUs <= MaxUs) {
		bad("short_us", "must be in 0..%g (µs), got %v", MaxUs, s.ShortUs)
	}
	if !(s.LongUs >= 0 && s.LongUs <= MaxUs) {
		bad("long_us", "must be in 0..%g (µs), got %v", MaxUs, s.LongUs)
	}
	if !(s.PLong >= 0 && s.PLong <= 1) {
		bad("p_long", "must be in 0..1, got %v", s.PLong)
	}
	cpuOK := func(k string, c int) bool {
		if c < 0 || c >= ncpus {
			bad(k, "must be a CPU of the machine (0..%d), got %d", ncpus-1, c)
			return false
		}
		return true
	}
	genOK := cpuOK("generator_cpu", s.GeneratorCPU)
	dispOK := cpuOK("dispatcher_cpu", s.DispatcherCPU)
	if genOK && dispOK && s.GeneratorCPU == s.DispatcherCPU {
		bad("dispatcher_cpu", "must differ from generator_cpu (%d)", s.GeneratorCPU)
	}
	if ws, err := kernel.ParseCPUList(s.WorkerCPUs, ncpus); err != nil {
		bad("worker_cpus", "%v", err)
	} else if ws.Empty() {
		bad("worker_cpus", "must name at least one CPU")
	} else {
		if genOK && ws.Has(s.GeneratorCPU) {
			bad("worker_cpus", "%q includes generator_cpu %d", s.WorkerCPUs, s.GeneratorCPU)
		}
		if dispOK && ws.Has(s.DispatcherCPU) {
			bad("worker_cpus", "%q includes dispatcher_cpu %d", s.WorkerCPUs, s.DispatcherCPU)
		}
	}
	if s.GeneratorCycles < 0 || s.GeneratorCycles > MaxCycles {
		bad("generator_cycles", "must be in 0..%d, got %d", int64(MaxCycles), s.GeneratorCycles)
	}
	for _, c := range []struct {
		k string
		v int64
	}{
		{"enqueue_cycles", s.Dataplane.EnqueueCycles},
		{"dispatch_cycles", s.Dataplane.DispatchCycles},
		{"complete_cycles", s.Dataplane.CompleteCycles},
		{"context_cycles", s.Dataplane.ContextCycles},
	} {
		if c.v < 0 || c.v > MaxCycles {
			bad("dataplane."+c.k, "must be in 0..%d, got %d", int64(MaxCycles), c.v)
		}
	}
	return errors.Join(errs...)
}

// Kinds of system.
const (
	kindGhost = iota
	kindCFS
	kindDataplane
)

// system is one -policy value of the workload.
type system struct {
	name       string
	summary    string
	ghost      string // the ghOSt policy to launch, "" for none
	kind       int
	batch      bool // the batch app always runs
	workerNice int
}

var systems = []system{
	{"cfs-shinjuku", "200 CFS workers on the worker CPUs, run to completion", "", kindCFS, false, 0},
	{"cfs-shinjuku-batch", "cfs-shinjuku at nice -20 with a nice-19 CFS batch app (Fig 6c reference)", "", kindCFS, true, -20},
	{"ghost-shinjuku", "200 ghOSt workers scheduled by the ghost-shinjuku policy", "ghost-shinjuku", kindGhost, false, 0},
	{"ghost-shinjuku-shenango", "ghost-shinjuku-shenango policy with a nice-19 ghOSt batch app", "ghost-shinjuku-shenango", kindGhost, true, 0},
	{"shinjuku-dataplane", "the Shinjuku data plane: spinning dispatcher and workers, posted-interrupt preemption", "", kindDataplane, false, 0},
}

// Systems returns the names -policy accepts for this workload.
func Systems() []string {
	out := make([]string, len(systems))
	for i, s := range systems {
		out[i] = s.name
	}
	return out
}

func findSystem(name string) (system, error) {
	for _, s := range systems {
		if s.name == name {
			return s, nil
		}
	}
	if name == "" {
		return system{}, fmt.Errorf("give -policy SYSTEM, one of: %s", strings.Join(Systems(), ", "))
	}
	return system{}, fmt.Errorf("unknown system %q (valid: %s)", name, strings.Join(Systems(), ", "))
}

// GhostPolicy maps a system name (-policy) to the ghOSt policy to
// launch, "" for a system without ghOSt (experiment.WorkloadInfo.Systems).
func GhostPolicy(name string) (string, error) {
	s, err := findSystem(name)
	return s.ghost, err
}
