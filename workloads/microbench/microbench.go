// Package microbench measures the paper's Table 3 on the modeled machine:
// each row by the method §4.1 describes, with a scripted agent on a fresh
// kernel, so every number emerges from the machine's primitive costs.
// Rows 10–12 (syscall, minimal and CFS context switch) are inputs of the
// machine file; measuring them checks the kernel charges them once per
// operation.
package microbench

import (
	"fmt"

	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/hw"
	"github.com/ghostsim/ghostsim/sim/kernel"
	"github.com/ghostsim/ghostsim/workloads"
)

// Row is one row of Table 3.
type Row struct {
	N     int
	Name  string
	Paper float64 // ns, as printed in the paper: for comparison only, never an input
}

// Rows are Table 3's rows (paper §4.1, 2 × Xeon Platinum 8173M @ 2 GHz).
var Rows = []Row{
	{1, "Message Delivery to Local Agent", 725},
	{2, "Message Delivery to Global Agent", 265},
	{3, "Local Schedule (1 txn)", 888},
	{4, "Remote Schedule (1 txn): Agent Overhead", 668},
	{5, "Remote Schedule (1 txn): Target CPU Overhead", 1064},
	{6, "Remote Schedule (1 txn): End-to-End Latency", 1772},
	{7, "Group Remote Schedule (10 txns): Agent Overhead", 3964},
	{8, "Group Remote Schedule (10 txns): Target CPU Overhead", 1821},
	{9, "Group Remote Schedule (10 txns): End-to-End Latency", 5688},
	{10, "Syscall Overhead", 72},
	{11, "pthread Minimal Context Switch Overhead", 410},
	{12, "CFS Context Switch Overhead", 599},
}

// Spec is the [workload.microbench] table.
type Spec struct {
	// Samples is how many times each measurement is repeated (the mean is
	// reported; ticks falling inside a measurement are part of it).
	Samples int `toml:"samples"`
}

// DefaultSpec repeats each measurement 200 times.
func DefaultSpec() Spec { return Spec{Samples: 200} }

// Validate checks the spec.
func (s *Spec) Validate() error {
	if s.Samples < 1 {
		return sim.KeyErrorf("workload.microbench.samples", "must be >= 1, got %d", s.Samples)
	}
	return nil
}

// Workload runs the microbenchmarks. They run to completion in Start, each
// on a private kernel of the same machine; the run's own window then
// measures nothing.
type Workload struct {
	spec    Spec
	results [13]float64 // ns by row
}

// New returns the workload.
func New(spec Spec) *Workload { return &Workload{spec: spec} }

// Results returns the measured ns of rows 1–12 (index = row).
func (w *Workload) Results() [13]float64 { return w.results }

// Start runs every measurement.
func (w *Workload) Start(env *workloads.Env) error {
	m, p := env.Machine, env.Kernel.Params()
	seed := env.Engine.Seed()
	n := w.spec.Samples
	var err error
	measure := func(rows []int, f func(*rig) ([]float64, error)) {
		if err != nil {
			return
		}
		r, e := newRig(m, p, seed)
		if e != nil {
			err = e
			return
		}
		defer r.k.Engine().Close()
		vals, e := f(r)
		if e != nil {
			err = fmt.Errorf("microbench rows %v: %w", rows, e)
			return
		}
		for i, row := range rows {
			w.results[row] = vals[i]
		}
	}
	measure([]int{1, 3}, func(r *rig) ([]float64, error) { return r.localAgent(n) })
	measure([]int{2}, func(r *rig) ([]float64, error) { return r.globalDelivery(n) })
	measure([]int{4, 5, 6}, func(r *rig) ([]float64, error) { return r.remote(n, 1) })
	measure([]int{7, 8, 9}, func(r *rig) ([]float64, error) { return r.remote(n, 10) })
	measure([]int{10, 11, 12}, func(r *rig) ([]float64, error) { return r.kernelRows(n) })
	return err
}

// ResetStats does nothing: the measurements are done.
func (w *Workload) ResetStats(sim.Time) {}

// Report gives each row as metrics table3_rowN_ns, and the ratio to the
// paper as table3_rowN_ratio.
func (w *Workload) Report(now sim.Time, r *workloads.Report) {
	for _, row := range Rows {
		v := w.results[row.N]
		r.Metrics[fmt.Sprintf("table3_row%d_ns", row.N)] = v
		r.Metrics[fmt.Sprintf("table3_row%d_ratio", row.N)] = v / row.Paper
	}
}

// rig is one private simulation for a measurement.
type rig struct {
	k     *kernel.Kernel
	m     *hw.Machine
	posts []post
	ipis  []ipi
}

type post struct {
	at  sim.Time
	cpu int
	m   kernel.Message
}

type ipi struct {
	at  sim.Time
	cpu int
}

func newRig(m *hw.Machine, p kernel.Params, seed uint64) (*rig, error) {
	k, err := kernel.New(sim.NewEngine(seed), m, kernel.Config{Params: p})
	if err != nil {
		return nil, err
	}
	r := &rig{k: k, m: m}
	k.SetProbe(kernel.Probe{
		Post: func(at sim.Time, cpu int, msg kernel.Message) { r.posts = append(r.posts, post{at, cpu, msg}) },
		IPI:  func(at sim.Time, cpu int) { r.ipis = append(r.ipis, ipi{at, cpu}) },
	})
	return r, nil
}

// lastPost returns the time of the newest post of type t for gtid g.
func (r *rig) lastPost(t kernel.MsgType, g kernel.Gtid) sim.Time {
	for i := len(r.posts) - 1; i >= 0; i-- {
		if p := r.posts[i]; p.m.Type == t && p.m.Gtid == g {
			return p.at
		}
	}
	return -1
}

// lastIPI returns the newest IPI arrival at cpu.
func (r *rig) lastIPI(cpu int) sim.Time {
	for i := len(r.ipis) - 1; i >= 0; i-- {
		if r.ipis[i].cpu == cpu {
			return r.ipis[i].at
		}
	}
	return -1
}

func mean(xs []sim.Time) float64 {
	if len(xs) == 0 {
		return 0
	}
	var s float64
	for _, x := range xs {
		s += x.NsFloat()
	}
	return s / float64(len(xs))
}
