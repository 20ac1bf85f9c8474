// Package experiment wires one ghostsim experiment together: it resolves
// the configuration, builds the machine, the kernel and the workload,
// runs the engine through warm-up and the measured window, and assembles
// the result. The ghostsim command is a thin layer over it, and users'
// own programs can call it the same way.
package experiment

import (
	"errors"
	"math"
	"strings"

	"github.com/ghostsim/ghostsim/configs"

	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/agent"
	"github.com/ghostsim/ghostsim/sim/hw"
	"github.com/ghostsim/ghostsim/sim/kernel"
	"github.com/ghostsim/ghostsim/workloads/hold"
	"github.com/ghostsim/ghostsim/workloads/microbench"
	"github.com/ghostsim/ghostsim/workloads/rocksdb"
	"github.com/ghostsim/ghostsim/workloads/scalability"
	"github.com/ghostsim/ghostsim/workloads/search"
	"github.com/ghostsim/ghostsim/workloads/snap"
	"github.com/ghostsim/ghostsim/workloads/synthetic"
)

// Spec is a whole experiment's configuration, as merged from the config
// files and -set flags: the machine ([machine], [costs]), the kernel's
// tunables, the run, the ghOSt enclave, faults and the workloads' tables.
// A Spec is loaded once and never mutated by the run.
type Spec struct {
	hw.Spec
	Kernel   kernel.Params `toml:"kernel"`
	Run      RunSpec       `toml:"run"`
	Enclave  EnclaveSpec   `toml:"enclave"`
	Fault    FaultSpec     `toml:"fault"`
	Policy   agent.Params  `toml:"policy"`
	Workload WorkloadSpec  `toml:"workload"`
}

// RunSpec is the [run] table.
type RunSpec struct {
	// DurationMs is the measured window in simulated milliseconds.
	DurationMs int64 `toml:"duration_ms"`
	// WarmupMs runs before the window; its measurements are discarded.
	WarmupMs int64 `toml:"warmup_ms"`
	// Seed derives every random stream of the run.
	Seed uint64 `toml:"seed"`
}

// EnclaveSpec is the [enclave] table: the ghOSt enclave's CPUs, its
// watchdog and its lifetime.
type EnclaveSpec struct {
	// CPUs is a Linux cpulist ("0-7,16"); empty means every CPU.
	CPUs string `toml:"cpus"`
	// RunnableTimeoutMs is the watchdog's limit; 0 turns it off.
	RunnableTimeoutMs int64 `toml:"runnable_timeout_ms"`
	// Ephemeral (absent: true) makes the enclave die with its agent
	// process, as ghostfs "create ... ephemeral" does: a crash with no
	// successor destroys it and its threads fall back to CFS, while an
	// in-place upgrade keeps it (the new process opens it before the old
	// one dies). false keeps a persistent enclave, which outlives its
	// agents: after a crash its threads wait, never scheduled, unless the
	// watchdog (runnable_timeout_ms) destroys it.
	Ephemeral *bool `toml:"ephemeral"`
}

// ephemeral returns Ephemeral with its default, true.
func (e *EnclaveSpec) ephemeral() bool { return e.Ephemeral == nil || *e.Ephemeral }

// FaultSpec is the [fault] table: agent faults injected at given times
// (0 = never). The ghOSt class acts on them.
type FaultSpec struct {
	AgentCrashAtMs   int64 `toml:"agent_crash_at_ms"`
	AgentHangAtMs    int64 `toml:"agent_hang_at_ms"`
	AgentUpgradeAtMs int64 `toml:"agent_upgrade_at_ms"`
	UpgradeGapMs     int64 `toml:"upgrade_gap_ms"`
}

// WorkloadSpec holds each workload's table under [workload].
type WorkloadSpec struct {
	Hold       hold.Spec       `toml:"hold"`
	Microbench microbench.Spec `toml:"microbench"`
	// RocksDB is the Fig 6 workload's [workload.rocksdb] table.
	RocksDB rocksdb.Spec `toml:"rocksdb"`
	// Search is the Fig 8 workload's [workload.search] table.
	Search search.Spec `toml:"search"`
	// Snap is the Fig 7 workload's [workload.snap] table.
	Snap snap.Spec `toml:"snap"`
	// Scalability is the Fig 5 sweep's [workload.scalability] table.
	Scalability scalability.Spec `toml:"scalability"`
	// Group is the synthetic workload's [[workload.group]] list.
	Group []synthetic.GroupSpec `toml:"group"`
}

// DefaultSpec returns the defaults every config starts from: Linux 4.15's
// kernel tunables, a one-second run with seed 1, and each workload's own
// defaults. The machine has no default: a machine file must be loaded.
func DefaultSpec() Spec {
	return Spec{
		Kernel:   kernel.DefaultParams(),
		Run:      RunSpec{DurationMs: 1000, Seed: 1},
		Policy:   agent.DefaultParams(),
		Workload: WorkloadSpec{Hold: hold.DefaultSpec(), Microbench: microbench.DefaultSpec(), RocksDB: rocksdb.DefaultSpec(), Search: search.DefaultSpec(), Snap: snap.DefaultSpec(), Scalability: scalability.DefaultSpec()},
	}
}

// Input limits (README "Input limits"). sim.Time counts picoseconds in an
// int64, about 106 days; the workloads' own limits (synthetic.MaxThreads,
// rocksdb.MaxUs, ...) follow the same reasoning.
const (
	// MaxRunMs caps warm-up plus window, and every time in ms (fault
	// times, the watchdog, a scalability point): 30 days, well inside the
	// clock, so nothing scheduled from them can overflow it.
	MaxRunMs = 30 * 24 * 3600 * 1000
	// MaxThreads caps the threads a run's workload spawns: a thread costs
	// about 4 KB (100k threads measured 373 MB), so 50,000 stay near 200 MB.
	MaxThreads = 50000
	// MaxRequests caps the requests a run's arrival rates offer over
	// warm-up plus window: a waiting request holds 16 bytes (32 with its
	// queue's growth), so a backlog of 2^25 stays under 1 GiB.
	MaxRequests = 1 << 25
	// MaxHoldPending caps workload.hold.pending: an event in the heap
	// holds 32 bytes, so 2^24 stay under 1 GiB with the heap's growth.
	MaxHoldPending = 1 << 24
	// MaxHZ caps kernel.hz: Linux offers 100..1000; every tick is an
	// event on every CPU.
	MaxHZ = 10000
	// MinQueueElems is the smallest policy.queue_elems: a TASK_NEW
	// message takes 7 slots, so a smaller queue can never deliver one.
	MinQueueElems = 8
	// maxUs caps a time given in µs ([policy] time_slice_us): 1000 s.
	maxUs = 1e9
)

// Validate checks every section; errors are *sim.KeyError values joined,
// for configs.Meta.Wrap to locate. A spec that no machine file was loaded
// into gives one error, ErrNoMachine, instead of one per missing key.
func (s *Spec) Validate() error {
	if s.Machine.Name == "" && s.Machine.CPUs == 0 && s.Machine.Sockets == 0 && s.Machine.GHz == 0 {
		return ErrNoMachine
	}
	errs := []error{s.Spec.Validate(), s.Kernel.Validate(), s.Policy.Validate()}
	bad := func(key, format string, args ...any) { errs = append(errs, sim.KeyErrorf(key, format, args...)) }
	if s.Run.DurationMs <= 0 {
		bad("run.duration_ms", "must be > 0, got %d", s.Run.DurationMs)
	} else if s.Run.DurationMs > MaxRunMs {
		bad("run.duration_ms", "must be at most %d (30 days), got %d", MaxRunMs, s.Run.DurationMs)
	}
	if s.Run.WarmupMs < 0 {
		bad("run.warmup_ms", "must be >= 0, got %d", s.Run.WarmupMs)
	} else if s.Run.WarmupMs > MaxRunMs {
		bad("run.warmup_ms", "must be at most %d (30 days), got %d", MaxRunMs, s.Run.WarmupMs)
	} else if s.Run.DurationMs > 0 && s.Run.DurationMs <= MaxRunMs && s.Run.WarmupMs+s.Run.DurationMs > MaxRunMs {
		bad("run.warmup_ms", "warm-up plus run.duration_ms must be at most %d (30 days), got %d + %d", MaxRunMs, s.Run.WarmupMs, s.Run.DurationMs)
	}
	if s.Machine.CPUs > 0 {
		if _, err := kernel.ParseCPUList(s.Enclave.CPUs, s.Machine.CPUs); err != nil {
			bad("enclave.cpus", "%v", err)
		}
	}
	if s.Enclave.RunnableTimeoutMs < 0 || s.Enclave.RunnableTimeoutMs > MaxRunMs {
		bad("enclave.runnable_timeout_ms", "must be in 0..%d (0 = off), got %d", MaxRunMs, s.Enclave.RunnableTimeoutMs)
	}
	for _, f := range []struct {
		key string
		v   int64
	}{
		{"fault.agent_crash_at_ms", s.Fault.AgentCrashAtMs},
		{"fault.agent_hang_at_ms", s.Fault.AgentHangAtMs},
		{"fault.agent_upgrade_at_ms", s.Fault.AgentUpgradeAtMs},
		{"fault.upgrade_gap_ms", s.Fault.UpgradeGapMs},
	} {
		if f.v < 0 || f.v > MaxRunMs {
			bad(f.key, "must be in 0..%d (0 = never), got %d", MaxRunMs, f.v)
		}
	}
	if s.Kernel.HZ > MaxHZ {
		bad("kernel.hz", "must be at most %d (Linux offers 100..1000), got %d", MaxHZ, s.Kernel.HZ)
	}
	if x := s.Policy.TimeSliceUs; math.IsNaN(x) || x > maxUs {
		bad("policy.time_slice_us", "must be in 0..%g (µs; 0 = no slice), got %v", maxUs, x)
	}
	if n := s.Policy.QueueElems; n > 0 && n < MinQueueElems {
		bad("policy.queue_elems", "must be at least %d (a TASK_NEW message takes 7 slots), got %d", MinQueueElems, n)
	}
	if n := s.Workload.Hold.Pending; n > MaxHoldPending {
		bad("workload.hold.pending", "must be at most %d (memory: 32 bytes per event), got %d", MaxHoldPending, n)
	}
	if sc := s.Workload.Scalability; sc.PointMs > MaxRunMs || sc.WarmupMs > MaxRunMs {
		bad("workload.scalability.point_ms", "point_ms and warmup_ms must be at most %d (30 days), got %d and %d", MaxRunMs, sc.PointMs, sc.WarmupMs)
	}
	if n := s.Workload.Scalability.ThreadsPerCPU; n > 0 && s.Machine.CPUs > 0 && n > MaxThreads/s.Machine.CPUs {
		bad("workload.scalability.threads_per_cpu", "must be at most %d on %d CPUs (%d threads at most), got %d", MaxThreads/s.Machine.CPUs, s.Machine.CPUs, MaxThreads, n)
	}
	return errors.Join(errs...)
}

// ErrNoMachine is Validate's error when no machine file was loaded.
var ErrNoMachine = errors.New("no machine: add -config NAME (embedded: " + strings.Join(machineNames(), ", ") + ")")

// machineNames returns the embedded configs that hold a [machine] table.
func machineNames() []string {
	var out []string
	for _, n := range configs.Names() {
		if data, err := configs.ReadEmbedded(n); err == nil && strings.Contains(string(data), "\n[machine]") {
			out = append(out, strings.TrimSuffix(n, ".toml"))
		}
	}
	return out
}
