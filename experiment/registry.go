package experiment

import (
	"fmt"
	"strings"

	_ "github.com/ghostsim/ghostsim/policies" // registers the built-in policies
	"github.com/ghostsim/ghostsim/sim/agent"
	"github.com/ghostsim/ghostsim/workloads"
	"github.com/ghostsim/ghostsim/workloads/hold"
	"github.com/ghostsim/ghostsim/workloads/microbench"
	"github.com/ghostsim/ghostsim/workloads/rocksdb"
	"github.com/ghostsim/ghostsim/workloads/search"
	"github.com/ghostsim/ghostsim/workloads/snap"
	"github.com/ghostsim/ghostsim/workloads/synthetic"
	"github.com/ghostsim/ghostsim/workloads/vm"
)

// WorkloadInfo describes a workload the command can run.
type WorkloadInfo struct {
	Name    string
	Summary string
	// New validates the workload's part of spec and builds it.
	New func(spec *Spec) (workloads.Workload, error)
	// Sweep, for a workload that is a sweep of runs, returns its points
	// (policy is the -policy given, "" for the workload's default).
	Sweep func(spec *Spec, policy string) ([]Point, error)
	// Systems, for a workload that compares whole systems (-policy names
	// a system, such as "cfs-shinjuku"), maps the -policy value to the
	// ghOSt policy to launch, "" when the workload runs the system itself
	// without ghOSt; an unknown name is an error listing the valid ones.
	// Nil means -policy names a ghOSt policy.
	Systems func(policy string) (ghostPolicy string, err error)
	// Baseline words, for -list, the systems the workload runs besides a
	// ghOSt policy given as -policy (every workload takes any registered
	// policy): what runs without -policy, or the fixed systems -policy
	// names.
	Baseline string
	// SweepAliases, optional, maps short names that -sweep accepts to the
	// config keys they stand for, such as "load" to the key of the offered
	// load. A swept result's point is keyed by the name given.
	SweepAliases map[string]string
	// Untimed marks a workload that runs until its work is done, not for
	// run.duration_ms (the microbenchmarks).
	Untimed bool
	// Run, optional, replaces DefaultSpec's [run] for this workload
	// (LoadWorkload); config files and -set still override it.
	Run *RunSpec
	// Configs, optional, are the embedded configs a run of the workload
	// loads when the user names none, such as the paper's machine and the
	// experiment's parameters; nil means the default machine alone.
	Configs []string
}

// GhostPolicy resolves the -policy value for workload w: the ghOSt policy
// to launch ("" for none), or an error naming the valid values.
//
// A workload that compares systems also takes any registered ghOSt policy
// as a system of its own: the workload's ghOSt setup scheduled by that
// policy (a user's policy on the paper's Fig 6, say).
func (w WorkloadInfo) GhostPolicy(policy string) (string, error) {
	if w.Systems != nil {
		g, err := w.Systems(policy)
		if err != nil && policy != "" && knownPolicy(policy) {
			return policy, nil
		}
		if err != nil {
			err = fmt.Errorf("%w, or a registered ghOSt policy (%s)", err, policyNames())
		}
		return g, err
	}
	if policy != "" && !knownPolicy(policy) {
		return "", fmt.Errorf("unknown policy %q (valid: %s)", policy, policyNames())
	}
	return policy, nil
}

// Workloads returns the workloads ghostsim knows, sorted by name.
func Workloads() []WorkloadInfo {
	return []WorkloadInfo{
		{
			Name:     "hold",
			Baseline: "no ghOSt threads: an agent of -policy has nothing to schedule",
			Summary:  "engine benchmark: N pending events with exponential holds ([workload.hold])",
			New: func(spec *Spec) (workloads.Workload, error) {
				if err := spec.Workload.Hold.Validate(); err != nil {
					return nil, err
				}
				return hold.New(spec.Workload.Hold), nil
			},
		},
		{
			Name:     "microbench",
			Baseline: "the measurements make their own enclaves and agents; an agent of -policy has nothing to schedule",
			Summary:  "the paper's Table 3: ghOSt and kernel operation costs measured by the paper's methods",
			Untimed:  true,
			New: func(spec *Spec) (workloads.Workload, error) {
				if err := spec.Workload.Microbench.Validate(); err != nil {
					return nil, err
				}
				return microbench.New(spec.Workload.Microbench), nil
			},
		},
		{
			Name:     "rocksdb",
			Baseline: "-policy " + strings.Join(rocksdb.Systems(), ", ") + ", or any policy below as a ghOSt system",
			Summary:  "the paper's Fig 6: RocksDB requests on Shinjuku-style systems; -policy names the system ([workload.rocksdb])",
			New: func(spec *Spec) (workloads.Workload, error) {
				if err := spec.Workload.RocksDB.Validate(spec.Machine.CPUs); err != nil {
					return nil, err
				}
				return rocksdb.New(spec.Workload.RocksDB, spec.Policy.TimeSliceUs, spec.Policy.GlobalCPU), nil
			},
			Systems:      rocksdb.GhostPolicy,
			SweepAliases: map[string]string{"load": "workload.rocksdb.load_rps"},
			Configs:      []string{"xeon48", "rocksdb.toml"},
		},
		{
			Name:     "scalability",
			Baseline: "round-robin (the paper's) without -policy, or any policy below as the global agent",
			Summary:  "the paper's Fig 5 sweep: round-robin global agent, 5 yielding threads per CPU, txns/s vs enclave CPUs",
			Sweep:    scalabilitySweep,
		},
		{
			Name:     "search",
			Baseline: "CFS without -policy, or any policy below (search: the paper's) as the ghOSt system",
			Summary:  "the paper's Fig 8: Google Search-like queries A, B, C on rome256; CFS, or ghOSt with -policy search ([workload.search])",
			New: func(spec *Spec) (workloads.Workload, error) {
				if err := spec.Workload.Search.Validate(spec.Machine.Sockets); err != nil {
					return nil, err
				}
				return search.New(spec.Workload.Search), nil
			},
			// search.toml gives the same [run]; see it for the reasoning.
			Run:     &RunSpec{DurationMs: 500, WarmupMs: 300, Seed: 1},
			Configs: []string{"rome256", "search.toml"},
		},
		{
			Name:     "snap",
			Baseline: "MicroQuanta without -policy, or any policy below (snap: the paper's) as the ghOSt system",
			Summary:  "the paper's Fig 7: Google Snap workers under MicroQuanta, or ghOSt with -policy snap, on one socket of skylake112 ([workload.snap])",
			New: func(spec *Spec) (workloads.Workload, error) {
				if err := spec.Workload.Snap.Validate(spec.Machine.CPUs); err != nil {
					return nil, err
				}
				return snap.New(spec.Workload.Snap), nil
			},
			// snap.toml gives the same [run]; see it for the reasoning.
			Run:     &RunSpec{DurationMs: 1000, WarmupMs: 100, Seed: 1},
			Configs: []string{"skylake112", "snap.toml"},
		},
		{
			Name:     "synthetic",
			Baseline: "each group's class (cfs, microquanta); groups of class ghost run under any policy below",
			Summary:  "thread groups from the config: open-loop requests, hogs, periodic work ([[workload.group]])",
			New: func(spec *Spec) (workloads.Workload, error) {
				if err := synthetic.Validate(spec.Workload.Group, spec.Machine.CPUs, spec.Machine.Sockets); err != nil {
					return nil, err
				}
				return synthetic.New(spec.Workload.Group), nil
			},
			SweepAliases: map[string]string{"load": "workload.group[0].arrival.rate_per_s"},
		},
		{
			Name:     "vm",
			Baseline: "CFS without -policy (-set kernel.core_sched=true: in-kernel core scheduling), or any policy below (securevm: the paper's)",
			Summary:  "the paper's Table 4: 32 bwaves vCPUs of VMs on 25 cores of skylake112; CFS, core_sched or -policy securevm ([workload.vm])",
			New: func(spec *Spec) (workloads.Workload, error) {
				if err := spec.Workload.VM.Validate(spec.Machine.CPUs); err != nil {
					return nil, err
				}
				return vm.New(spec.Workload.VM), nil
			},
			// vm.toml gives the same [run]; see it for the reasoning.
			Run:     &RunSpec{DurationMs: 20000, WarmupMs: 0, Seed: 1},
			Configs: []string{"skylake112", "vm.toml"},
		},
	}
}

// FindWorkload returns the workload named name.
func FindWorkload(name string) (WorkloadInfo, bool) {
	for _, w := range Workloads() {
		if w.Name == name {
			return w, true
		}
	}
	return WorkloadInfo{}, false
}

// PolicyInfo describes a ghOSt policy.
type PolicyInfo struct {
	Name    string
	Summary string
}

// Policies returns the ghOSt policies registered with sim/agent (the
// built-in ones of package policies, and any a user's program registers),
// sorted by name.
func Policies() []PolicyInfo {
	var out []PolicyInfo
	for _, p := range agent.Policies() {
		out = append(out, PolicyInfo{Name: p.Name, Summary: p.Summary})
	}
	return out
}
