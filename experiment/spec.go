// Package experiment wires one ghostsim experiment together: it resolves
// the configuration, builds the machine, the kernel and the workload,
// runs the engine through warm-up and the measured window, and assembles
// the result. The ghostsim command is a thin layer over it, and users'
// own programs can call it the same way.
package experiment

import (
	"errors"
	"fmt"
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
	"github.com/ghostsim/ghostsim/workloads/vm"
)

// Spec is a whole experiment's configuration, as merged from the config
// files and -set flags: the machine ([machine], [costs]), the kernel's
// tunables, the run, the ghOSt enclave, faults and the workloads' tables.
// A Spec is loaded once and never mutated by the run.
type Spec struct {
	hw.Spec
	Kernel   kernel.Params `toml:"kernel"`
	Run      RunSpec       `toml:"run"`
	Enclave  Enclaves      `toml:"enclave"`
	Fault    FaultSpec     `toml:"fault"`
	Policy   PolicySpec    `toml:"policy"`
	Workload WorkloadSpec  `toml:"workload"`
}

// PolicySpec is the [policy] table: the keys every policy reads
// (agent.Params) and, as [policy.NAME] subtables, each policy's own
// options, which only that policy's constructor decodes and checks
// (agent.Params.Options). A table must name a registered policy that the
// run uses (CheckRun).
type PolicySpec struct {
	agent.Params
	// Own holds the [policy.NAME] tables by policy name, as parsed.
	Own map[string]map[string]any `toml:",tables"`
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

// Enclaves are the ghOSt enclaves: one [enclave] table, or several
// [[enclave]] tables side by side (the paper's Fig 2), each with its own
// name, CPUs, policy, policy parameters and faults. None given means one
// enclave of every CPU.
//
//	[[enclave]]
//	name = "web"
//	cpus = "0-8"
//	policy = "fifo-central"
//	policy_params = {time_slice_us = 50.0}
//	fault = {agent_crash_at_ms = 100}
type Enclaves []EnclaveSpec

// TableList lets a config give [enclave] as one table (configs.TableList).
func (Enclaves) TableList() {}

// EnclaveSpec is one enclave: its CPUs, watchdog and lifetime, and, for
// several enclaves, its name, policy and faults.
type EnclaveSpec struct {
	// Name names the enclave for the groups that join it
	// (workload.group[N].enclave) and in results; needed when there are
	// several.
	Name string `toml:"name"`
	// CPUs is a Linux cpulist ("0-7,16"); empty means every CPU (only
	// for a single enclave).
	CPUs string `toml:"cpus"`
	// Policy is the ghOSt policy of the enclave's agent process; empty
	// means -policy.
	Policy string `toml:"policy"`
	// PolicyParams are the policy's parameters, the keys of [policy]
	// starting from their defaults; absent means [policy].
	PolicyParams *PolicyParams `toml:"policy_params"`
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
	// Fault is the enclave's own fault timeline (the keys of [fault]);
	// absent means [fault], which only a single enclave may use.
	Fault *FaultSpec `toml:"fault"`
}

// ephemeral returns Ephemeral with its default, true.
func (e *EnclaveSpec) ephemeral() bool { return e.Ephemeral == nil || *e.Ephemeral }

// PolicyParams are an enclave's own policy parameters: the keys of
// [policy], starting from agent.DefaultParams.
type PolicyParams struct {
	agent.Params
}

// ConfigDefaults starts an enclave's policy_params from the defaults
// (configs.Defaulter).
func (p *PolicyParams) ConfigDefaults() { p.Params = agent.DefaultParams() }

// enclaves returns the enclaves to make: the configured ones, or one of
// every CPU when the config gives none.
func (s *Spec) enclaves() []EnclaveSpec {
	if len(s.Enclave) == 0 {
		return []EnclaveSpec{{}}
	}
	return s.Enclave
}

// enclaveKey is the config key of field k of enclave i: enclave.k for a
// single unnamed [enclave], enclave[i].k otherwise.
func (s *Spec) enclaveKey(i int, k string) string {
	if len(s.Enclave) <= 1 && (len(s.Enclave) == 0 || s.Enclave[0].Name == "") {
		return "enclave." + k
	}
	return fmt.Sprintf("enclave[%d].%s", i, k)
}

// params returns enclave es's policy parameters.
func (s *Spec) params(es *EnclaveSpec, policy string) agent.Params {
	p := s.Policy.Params
	if es.PolicyParams != nil {
		p = es.PolicyParams.Params
	}
	if tbl, ok := s.Policy.Own[policy]; ok {
		p.Options = func(v any) error { return configs.DecodeTable("policy."+policy, tbl, v) }
	}
	return p
}

// fault returns enclave es's fault timeline.
func (s *Spec) fault(es *EnclaveSpec) FaultSpec {
	if es.Fault != nil {
		return *es.Fault
	}
	return s.Fault
}

// enclaveCPUs returns enclave es's CPUs on a machine of n CPUs (every CPU
// when it gives none).
func enclaveCPUs(es *EnclaveSpec, n int) (kernel.CPUSet, error) {
	cpus, err := kernel.ParseCPUList(es.CPUs, n)
	if err == nil && cpus.Empty() {
		cpus = kernel.RangeSet(0, n)
	}
	return cpus, err
}

// enclaveNamed returns the index of the enclave a group joins: the one
// named name, the first for "", -1 for none.
func (s *Spec) enclaveNamed(name string) int {
	if name == "" {
		return 0
	}
	for i, e := range s.Enclave {
		if e.Name == name {
			return i
		}
	}
	return -1
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
	// Snap is the Fig 7 workload's [workload.snap] table.
	Snap snap.Spec `toml:"snap"`
	// Scalability is the Fig 5 sweep's [workload.scalability] table.
	Scalability scalability.Spec `toml:"scalability"`
	// Group is the synthetic workload's [[workload.group]] list.
	Group []synthetic.GroupSpec `toml:"group"`
	// VM is the Table 4 workload's [workload.vm] table.
	VM vm.Spec `toml:"vm"`
}

// DefaultSpec returns the defaults every config starts from: Linux 4.15's
// kernel tunables, a one-second run with seed 1, and each workload's own
// defaults. The machine has no default: a machine file must be loaded.
func DefaultSpec() Spec {
	return Spec{
		Kernel:   kernel.DefaultParams(),
		Run:      RunSpec{DurationMs: 1000, Seed: 1},
		Policy:   PolicySpec{Params: agent.DefaultParams()},
		Workload: WorkloadSpec{Hold: hold.DefaultSpec(), Microbench: microbench.DefaultSpec(), RocksDB: rocksdb.DefaultSpec(), Search: search.DefaultSpec(), Snap: snap.DefaultSpec(), Scalability: scalability.DefaultSpec(), VM: vm.DefaultSpec()},
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
	// warm-up plus window: when none is served, each costs about 80-90
	// bytes (its place in the backlog and its latency sample; measured
	// maximum resident memory: 16.6 M requests 1.5 GB, 32 M 2.5 GB), so
	// 2^24 stay near 1.5 GB.
	MaxRequests = 1 << 24
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
	s.validateEnclaves(bad, &errs)
	faultKeys := func(prefix string, f FaultSpec) {
		for _, x := range []struct {
			key string
			v   int64
		}{
			{"agent_crash_at_ms", f.AgentCrashAtMs},
			{"agent_hang_at_ms", f.AgentHangAtMs},
			{"agent_upgrade_at_ms", f.AgentUpgradeAtMs},
			{"upgrade_gap_ms", f.UpgradeGapMs},
		} {
			if x.v < 0 || x.v > MaxRunMs {
				bad(prefix+x.key, "must be in 0..%d (0 = never), got %d", MaxRunMs, x.v)
			}
		}
	}
	faultKeys("fault.", s.Fault)
	for i := range s.Enclave {
		if f := s.Enclave[i].Fault; f != nil {
			faultKeys(s.enclaveKey(i, "fault."), *f)
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

// validateEnclaves checks the [enclave] table or [[enclave]] list.
func (s *Spec) validateEnclaves(bad func(key, format string, args ...any), errs *[]error) {
	several := len(s.Enclave) > 1
	if several && s.Fault != (FaultSpec{}) {
		bad("fault", "with several enclaves each has its own fault table (enclave[N].fault); [fault] is for a single enclave")
	}
	names := map[string]int{}
	var taken kernel.CPUSet
	for i := range s.Enclave {
		es := &s.Enclave[i]
		key := func(k string) string { return s.enclaveKey(i, k) }
		if several {
			if es.Name == "" {
				bad(key("name"), "every enclave of a list of several needs a name")
			} else if j, dup := names[es.Name]; dup {
				bad(key("name"), "%q is also the name of enclave[%d]", es.Name, j)
			} else {
				names[es.Name] = i
			}
			if es.CPUs == "" {
				bad(key("cpus"), "each of several enclaves needs its CPUs (a CPU belongs to one enclave)")
			}
		}
		if s.Machine.CPUs > 0 {
			if cpus, err := kernel.ParseCPUList(es.CPUs, s.Machine.CPUs); err != nil {
				bad(key("cpus"), "%v", err)
			} else if several && !cpus.And(taken).Empty() {
				bad(key("cpus"), "%q shares CPUs %v with an earlier enclave: a CPU belongs to at most one enclave", es.CPUs, cpus.And(taken))
			} else {
				taken = taken.Or(cpus)
			}
		}
		if es.RunnableTimeoutMs < 0 || es.RunnableTimeoutMs > MaxRunMs {
			bad(key("runnable_timeout_ms"), "must be in 0..%d (0 = off), got %d", MaxRunMs, es.RunnableTimeoutMs)
		}
		if es.Policy != "" && !knownPolicy(es.Policy) {
			bad(key("policy"), "unknown policy %q (valid: %s)", es.Policy, policyNames())
		}
		if p := es.PolicyParams; p != nil {
			// Validate names [policy]'s keys; rename them to this enclave's.
			var ke *sim.KeyError
			for _, err := range unjoin(p.Validate()) {
				if errors.As(err, &ke) {
					bad(key("policy_params"+strings.TrimPrefix(ke.Key, "policy")), "%s", ke.Msg)
				} else {
					*errs = append(*errs, err)
				}
			}
		}
	}
}

// unjoin returns the errors joined in err (itself if not joined).
func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
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
