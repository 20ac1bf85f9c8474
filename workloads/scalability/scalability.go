// Package scalability defines the paper's Fig 5 sweep: a centralized
// round-robin policy with one global agent, 5 threads per enclave CPU each
// looping on sched_yield, and the enclave grown CPU by CPU in Linux's
// sparse order — the first socket's cores, then their SMT siblings, then
// the next socket's — measuring transactions committed per second.
package scalability

import (
	"errors"

	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/hw"
	"github.com/ghostsim/ghostsim/sim/kernel"
)

// Spec is the [workload.scalability] table.
type Spec struct {
	// ThreadsPerCPU is the number of yielding threads per enclave CPU.
	ThreadsPerCPU int `toml:"threads_per_cpu"`
	// Step is the CPU-count step of the sweep (from 2 to all CPUs).
	Step int `toml:"step"`
	// PointMs and WarmupMs are each point's measured window and warm-up.
	PointMs  int64 `toml:"point_ms"`
	WarmupMs int64 `toml:"warmup_ms"`
}

// DefaultSpec is the paper's 5 threads per CPU, every 2nd CPU count, and
// 10 ms windows after 2 ms of warm-up (tens of thousands of transactions
// per point).
func DefaultSpec() Spec { return Spec{ThreadsPerCPU: 5, Step: 2, PointMs: 10, WarmupMs: 2} }

// Validate checks the spec.
func (s *Spec) Validate() error {
	var errs []error
	if s.ThreadsPerCPU < 1 {
		errs = append(errs, sim.KeyErrorf("workload.scalability.threads_per_cpu", "must be >= 1, got %d", s.ThreadsPerCPU))
	}
	if s.Step < 1 {
		errs = append(errs, sim.KeyErrorf("workload.scalability.step", "must be >= 1, got %d", s.Step))
	}
	if s.PointMs < 1 {
		errs = append(errs, sim.KeyErrorf("workload.scalability.point_ms", "must be >= 1, got %d", s.PointMs))
	}
	if s.WarmupMs < 0 {
		errs = append(errs, sim.KeyErrorf("workload.scalability.warmup_ms", "must be >= 0, got %d", s.WarmupMs))
	}
	return errors.Join(errs...)
}

// Order returns the machine's CPUs in the order the sweep adds them: per
// socket, the first thread of every core, then each further SMT thread.
func Order(m *hw.Machine) []int {
	var out []int
	for s := 0; s < m.NumSockets(); s++ {
		for th := 0; th < m.SMT(); th++ {
			for _, c := range m.CPUsOfSocket(s) {
				if m.CPU(c).Thread == th {
					out = append(out, c)
				}
			}
		}
	}
	return out
}

// Counts returns the CPU counts of the sweep: 2, 2+step, ..., and all.
func Counts(ncpus, step int) []int {
	var out []int
	for x := 2; x < ncpus; x += step {
		out = append(out, x)
	}
	return append(out, ncpus)
}

// CPUList returns the first x CPUs of order as a set.
func CPUList(order []int, x int) kernel.CPUSet { return kernel.SetOf(order[:x]...) }
