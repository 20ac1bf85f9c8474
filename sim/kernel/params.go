package kernel

import (
	"errors"

	"github.com/ghostsim/ghostsim/sim"
)

// Params are the kernel's tunables: the [kernel] section of a config.
// Defaults are Linux 4.15's (the paper's kernel) on the paper's machines;
// see DefaultParams for each source.
type Params struct {
	// HZ is the tick rate of busy CPUs, in ticks per second.
	HZ int `toml:"hz"`
	// SchedLatencyNs, MinGranularityNs and WakeupGranularityNs are CFS's
	// sysctl_sched_latency, _min_granularity and _wakeup_granularity
	// before scaling; Linux multiplies them by 1 + ilog2(min(ncpus, 8))
	// (SCHED_TUNABLESCALING_LOG), done in New.
	SchedLatencyNs      int64 `toml:"sched_latency_ns"`
	MinGranularityNs    int64 `toml:"min_granularity_ns"`
	WakeupGranularityNs int64 `toml:"wakeup_granularity_ns"`
	// MigrationCostNs is sysctl_sched_migration_cost: a task that ran less
	// than this long ago is cache-hot, and newly-idle balancing is skipped
	// on a CPU whose average idle time is below it. Not CPU-scaled.
	MigrationCostNs int64 `toml:"migration_cost_ns"`
	// BusyFactor stretches a domain's balance interval while the CPU is busy.
	BusyFactor int `toml:"busy_factor"`
	// ImbalancePct is the default sched-domain imbalance threshold (125 =
	// the busiest group must carry 25 % more load than ours); SMT and MC
	// domains use their own, as in sd_init.
	ImbalancePct    int `toml:"imbalance_pct"`
	ImbalancePctSMT int `toml:"imbalance_pct_smt"`
	ImbalancePctMC  int `toml:"imbalance_pct_mc"`
	// NrMigrate is sysctl_sched_nr_migrate: tasks moved per balance pass.
	NrMigrate int `toml:"nr_migrate"`
	// NUMAWakeAffineMaxDistance is the largest SLIT distance at which a
	// NUMA domain keeps SD_WAKE_AFFINE (30 in 4.15: RECLAIM_DISTANCE).
	// Remote distance comes from the machine's NUMA distance.
	NUMAWakeAffineMaxDistance int `toml:"numa_wake_affine_max_distance"`
	// NUMADistance is the SLIT distance between two sockets (local = 10).
	NUMADistance int `toml:"numa_distance"`
	// CoreSched turns on core scheduling (Linux 5.14, CONFIG_SCHED_CORE):
	// CFS tasks share a physical core only with tasks of the same cookie,
	// a vCPU's cookie being its VM (coresched_pick.go).
	CoreSched bool `toml:"core_sched"`
	// VMFlush turns on the L1TF and MDS mitigations of VM entry: an L1D
	// flush and a CPU-buffer clear when a CPU enters a VM other than the
	// one it last ran (l1tf=flush, mds=full; coresched_vm.go).
	VMFlush bool `toml:"vm_flush"`
	// MicroQuantaRuntimeNs out of every MicroQuantaPeriodNs is the CPU
	// time a ClassMicroQuanta thread may use; the rest of each period it
	// is throttled (mq_class.go). A group may set its own.
	MicroQuantaRuntimeNs int64 `toml:"microquanta_runtime_ns"`
	MicroQuantaPeriodNs  int64 `toml:"microquanta_period_ns"`
}

// DefaultParams returns Linux 4.15's values (docs/HARDWARE.md §7).
func DefaultParams() Params {
	return Params{
		HZ:                        1000,    // [GH] §5: Google hosts tick every ms
		SchedLatencyNs:            6000000, // [L415] fair.c:55
		MinGranularityNs:          750000,  // [L415] fair.c:76
		WakeupGranularityNs:       1000000, // [L415] fair.c:99
		MigrationCostNs:           500000,  // [L415] fair.c:102
		BusyFactor:                32,      // [L415] topology.c:1098
		ImbalancePct:              125,     // [L415] topology.c:1099
		ImbalancePctSMT:           110,     // [L415] topology.c:1149
		ImbalancePctMC:            117,     // [L415] topology.c:1154
		NrMigrate:                 32,      // [L415] core.c:67
		NUMAWakeAffineMaxDistance: 30,      // [L415] topology.c:1165 (RECLAIM_DISTANCE)
		NUMADistance:              21,      // ACPI SLIT on 2-socket Intel; rome256 sets 32 [MF]
		MicroQuantaRuntimeNs:      900000,  // [GH] §4.3: "e.g., 0.9ms" per worker
		MicroQuantaPeriodNs:       1000000, // [GH] §4.3: "for any period, e.g., 1ms"
	}
}

// Validate checks the parameters; keys are relative to the [kernel] table.
func (p *Params) Validate() error {
	var errs []error
	pos := func(key string, v int64) {
		if v <= 0 {
			errs = append(errs, sim.KeyErrorf("kernel."+key, "must be > 0, got %d", v))
		}
	}
	pos("hz", int64(p.HZ))
	pos("sched_latency_ns", p.SchedLatencyNs)
	pos("min_granularity_ns", p.MinGranularityNs)
	pos("wakeup_granularity_ns", p.WakeupGranularityNs)
	if p.MigrationCostNs < 0 {
		errs = append(errs, sim.KeyErrorf("kernel.migration_cost_ns", "must be >= 0, got %d", p.MigrationCostNs))
	}
	pos("busy_factor", int64(p.BusyFactor))
	pos("nr_migrate", int64(p.NrMigrate))
	for _, ip := range []struct {
		key string
		v   int
	}{{"imbalance_pct", p.ImbalancePct}, {"imbalance_pct_smt", p.ImbalancePctSMT}, {"imbalance_pct_mc", p.ImbalancePctMC}} {
		if ip.v < 100 {
			errs = append(errs, sim.KeyErrorf("kernel."+ip.key, "must be >= 100 (a percentage of the local load), got %d", ip.v))
		}
	}
	if p.NUMADistance < 10 {
		errs = append(errs, sim.KeyErrorf("kernel.numa_distance", "must be >= 10 (the local distance), got %d", p.NUMADistance))
	}
	errs = append(errs, checkMQBandwidth("kernel.microquanta_runtime_ns", "kernel.microquanta_period_ns", p.MicroQuantaRuntimeNs, p.MicroQuantaPeriodNs))
	return errors.Join(errs...)
}
