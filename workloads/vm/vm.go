// Package vm is the paper's §4.5 workload (Table 4): VMs as groups of
// vCPU threads on a host, each vCPU running one copy of a bwaves-like
// single-threaded job, scheduled by CFS, by in-kernel core scheduling
// ([kernel] core_sched) or by a ghOSt policy (-policy securevm).
//
// A vCPU is a kernel task with the VM id of its VM (kernel.TaskSpec.VM):
// its core-scheduling cookie, and what the kernel charges VM exits and,
// with [kernel] vm_flush, L1D flushes and buffer clears for. Each copy is
// a fixed amount of solo work (SoloS seconds at full rate, a share of it
// memory-bound) slowed by a busy SMT sibling through the machine's co-run
// rate (smt_compute_rate). The run ends when the last copy finishes: the
// result is SPEC's rate, copies × reference time / elapsed, as
// throughput.spec_rate, with the elapsed time as metrics.elapsed_s.
//
// Scale runs a fraction of the benchmark: every copy does Scale × SoloS of
// work, the rate is computed against Scale × RefS, and
// metrics.projected_elapsed_s is elapsed_s / Scale (docs/PERFORMANCE.md
// compares two scales).
package vm

import (
	"errors"
	"fmt"
	"math"

	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/kernel"
	"github.com/ghostsim/ghostsim/workloads"
)

// Spec is the [workload.vm] table; configs/vm.toml gives the reasoning
// for each default.
type Spec struct {
	// VMs and VCPUsPerVM give the VM shapes: VMs × VCPUsPerVM copies.
	VMs        int `toml:"vms"`
	VCPUsPerVM int `toml:"vcpus_per_vm"`
	// SoloS is one copy's run time alone on a core, in seconds; RefS is
	// the benchmark's SPEC reference time.
	SoloS float64 `toml:"solo_s"`
	RefS  float64 `toml:"ref_s"`
	// Scale is the fraction of the benchmark simulated (0 < Scale ≤ 1).
	Scale float64 `toml:"scale"`
	// MemShare is the memory-bound share of the job's work, FootprintKB
	// its hot cache footprint (refilled after a migration).
	MemShare    float64 `toml:"mem_share"`
	FootprintKB int     `toml:"footprint_kb"`
	// CPUs is the host's CPUs for vCPUs (a cpulist; empty: all): CFS
	// threads are bound to it, and ghOSt runs need the enclave on it.
	CPUs string `toml:"cpus"`
	// ChunkMs is how much solo work a vCPU does between progress records.
	ChunkMs float64 `toml:"chunk_ms"`
}

// DefaultSpec is configs/vm.toml's experiment.
func DefaultSpec() Spec {
	return Spec{
		VMs: 32, VCPUsPerVM: 1, SoloS: 730, RefS: 13590, Scale: 0.01,
		MemShare: 0.5, FootprintKB: 1024, CPUs: "0-12,28-39,56-68,84-95", ChunkMs: 10,
	}
}

// MaxVCPUs caps VMs × VCPUsPerVM.
const MaxVCPUs = 4096

// Validate checks the table; keys are full config keys.
func (s Spec) Validate(ncpus int) error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, sim.KeyErrorf("workload.vm."+key, format, args...))
	}
	if s.VMs < 1 {
		bad("vms", "must be >= 1, got %d", s.VMs)
	}
	if s.VCPUsPerVM < 1 {
		bad("vcpus_per_vm", "must be >= 1, got %d", s.VCPUsPerVM)
	}
	if s.VMs >= 1 && s.VCPUsPerVM >= 1 && s.VMs*s.VCPUsPerVM > MaxVCPUs {
		bad("vcpus_per_vm", "vms × vcpus_per_vm = %d, more than %d", s.VMs*s.VCPUsPerVM, MaxVCPUs)
	}
	pos := func(key string, v, max float64) {
		if !(v > 0 && v <= max) {
			bad(key, "must be in (0, %g], got %v", max, v)
		}
	}
	pos("solo_s", s.SoloS, 1e5)
	pos("ref_s", s.RefS, 1e7)
	pos("scale", s.Scale, 1)
	pos("chunk_ms", s.ChunkMs, 1e6)
	if !(s.MemShare >= 0 && s.MemShare <= 1) {
		bad("mem_share", "must be in 0..1, got %v", s.MemShare)
	}
	if s.FootprintKB < 0 || s.FootprintKB > 1<<20 {
		bad("footprint_kb", "must be in 0..%d, got %d", 1<<20, s.FootprintKB)
	}
	if ncpus > 0 {
		if _, err := kernel.ParseCPUList(s.CPUs, ncpus); err != nil {
			bad("cpus", "%v", err)
		}
	}
	return errors.Join(errs...)
}

// IsolatingPolicies are the ghOSt policies that keep VMs apart on a core:
// under them (and under core_sched) the kernel's checker requires it.
var IsolatingPolicies = []string{"securevm"}

// Workload is one run of the VM benchmark.
type Workload struct {
	spec  Spec
	k     *kernel.Kernel
	start sim.Time
	vcpus []*vcpu
	done  int
	last  sim.Time // when the last copy finished
}

type vcpu struct {
	t        *kernel.Task
	vm       int
	chunks   int64 // done
	total    int64
	finished sim.Time
}

// New returns the workload for spec (validated).
func New(spec Spec) *Workload { return &Workload{spec: spec} }

// Start spawns the vCPUs: VM v (1-based) has vCPUs v.0, v.1, ...
func (w *Workload) Start(env *workloads.Env) error {
	w.k = env.Kernel
	w.start = env.Engine.Now()
	cpus, err := kernel.ParseCPUList(w.spec.CPUs, env.Machine.NumCPUs())
	if err != nil {
		return err
	}
	if cpus.Empty() {
		cpus = kernel.RangeSet(0, env.Machine.NumCPUs())
	}
	class := kernel.ClassCFS
	if env.Ghost != nil {
		class = kernel.ClassGhost
		if cpus.And(env.Ghost.CPUs()) != cpus {
			return fmt.Errorf("vm: workload.vm.cpus %q is not inside the enclave's CPUs (set enclave.cpus to it)", w.spec.CPUs)
		}
		for _, p := range IsolatingPolicies {
			if p == env.Policy {
				w.k.SetVMIsolation(true)
			}
		}
	}
	chunk := sim.FromNs(w.spec.ChunkMs * 1e6)
	work := sim.FromNs(w.spec.SoloS * w.spec.Scale * 1e9)
	n := int64(math.Ceil(float64(work) / float64(chunk)))
	g := w.k.NewGroup("vcpus")
	for v := 1; v <= w.spec.VMs; v++ {
		for i := 0; i < w.spec.VCPUsPerVM; i++ {
			vc := &vcpu{vm: v, total: n}
			w.vcpus = append(w.vcpus, vc)
			spec := kernel.TaskSpec{
				Name: fmt.Sprintf("vm%d.vcpu%d", v, i), Group: g, Class: class, Affinity: cpus, CPU: -1,
				NUMAHome: -1, FootprintKB: w.spec.FootprintKB, MemShare: w.spec.MemShare, VM: v,
				Program: func(th *kernel.Thread) {
					left := work
					for left > 0 {
						d := min(chunk, left)
						th.Run(d)
						left -= d
						vc.chunks++
					}
					vc.finished = th.Now()
					w.done++
					w.last = max(w.last, vc.finished)
				},
			}
			if class == kernel.ClassGhost {
				spec.Enclave = env.Ghost
			}
			t, err := w.k.Spawn(spec)
			if err != nil {
				return err
			}
			vc.t = t
		}
	}
	return nil
}

// ResetStats is a no-op: the benchmark is measured from its start (give
// no warm-up).
func (w *Workload) ResetStats(now sim.Time) {}

// Report adds the rate, the elapsed time and per-vCPU progress.
func (w *Workload) Report(now sim.Time, r *workloads.Report) {
	copies := float64(len(w.vcpus))
	r.Metrics["copies"] = copies
	r.Metrics["copies_done"] = float64(w.done)
	var sum float64
	for i, vc := range w.vcpus {
		f := float64(vc.chunks) / float64(vc.total)
		sum += f
		r.Metrics[fmt.Sprintf("vcpu.%02d.progress", i)] = f
	}
	r.Metrics["progress_mean"] = sum / copies
	if w.done == len(w.vcpus) && w.done > 0 {
		el := (w.last - w.start).Seconds()
		r.Metrics["elapsed_s"] = el
		r.Metrics["projected_elapsed_s"] = el / w.spec.Scale
		r.Throughput["spec_rate"] = copies * w.spec.RefS * w.spec.Scale / el
	} else {
		// Not finished inside run.duration_ms: no rate (lengthen the run).
		r.Metrics["elapsed_s"] = 0
		r.Throughput["spec_rate"] = 0
	}
	st := w.k.VMStats()
	r.Metrics["sibling_violations"] = float64(st.SiblingViolations)
	r.Metrics["vm_exits"] = float64(st.VMExits)
	r.Metrics["l1d_flushes"] = float64(st.Flushes)
	r.Metrics["forced_idle"] = float64(st.ForcedIdle)
	iso := 0.0
	if w.k.VMIsolation() {
		iso = 1
	}
	r.Metrics["isolation_checked"] = iso
}
