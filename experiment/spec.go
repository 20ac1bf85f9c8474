// Package experiment wires one ghostsim experiment together: it resolves
// the configuration, builds the machine, the kernel and the workload,
// runs the engine through warm-up and the measured window, and assembles
// the result. The ghostsim command is a thin layer over it, and users'
// own programs can call it the same way.
package experiment

import (
	"errors"

	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/agent"
	"github.com/ghostsim/ghostsim/sim/hw"
	"github.com/ghostsim/ghostsim/sim/kernel"
	"github.com/ghostsim/ghostsim/workloads/hold"
	"github.com/ghostsim/ghostsim/workloads/microbench"
	"github.com/ghostsim/ghostsim/workloads/rocksdb"
	"github.com/ghostsim/ghostsim/workloads/scalability"
	"github.com/ghostsim/ghostsim/workloads/search"
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

// EnclaveSpec is the [enclave] table: the ghOSt enclave's CPUs and its
// watchdog.
type EnclaveSpec struct {
	// CPUs is a Linux cpulist ("0-7,16"); empty means every CPU.
	CPUs string `toml:"cpus"`
	// RunnableTimeoutMs is the watchdog's limit; 0 turns it off.
	RunnableTimeoutMs int64 `toml:"runnable_timeout_ms"`
}

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
		Workload: WorkloadSpec{Hold: hold.DefaultSpec(), Microbench: microbench.DefaultSpec(), RocksDB: rocksdb.DefaultSpec(), Search: search.DefaultSpec(), Scalability: scalability.DefaultSpec()},
	}
}

// Validate checks every section; errors are *sim.KeyError values joined,
// for configs.Meta.Wrap to locate.
func (s *Spec) Validate() error {
	errs := []error{s.Spec.Validate(), s.Kernel.Validate(), s.Policy.Validate()}
	if s.Run.DurationMs <= 0 {
		errs = append(errs, sim.KeyErrorf("run.duration_ms", "must be > 0, got %d", s.Run.DurationMs))
	}
	if s.Run.WarmupMs < 0 {
		errs = append(errs, sim.KeyErrorf("run.warmup_ms", "must be >= 0, got %d", s.Run.WarmupMs))
	}
	if s.Machine.CPUs > 0 {
		if _, err := kernel.ParseCPUList(s.Enclave.CPUs, s.Machine.CPUs); err != nil {
			errs = append(errs, sim.KeyErrorf("enclave.cpus", "%v", err))
		}
	}
	if s.Enclave.RunnableTimeoutMs < 0 {
		errs = append(errs, sim.KeyErrorf("enclave.runnable_timeout_ms", "must be >= 0 (0 = off), got %d", s.Enclave.RunnableTimeoutMs))
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
		if f.v < 0 {
			errs = append(errs, sim.KeyErrorf(f.key, "must be >= 0 (0 = never), got %d", f.v))
		}
	}
	return errors.Join(errs...)
}
