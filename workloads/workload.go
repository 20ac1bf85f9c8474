// Package workloads defines what a workload is to ghostsim: something
// that builds thread groups on the kernel model, drives them, and reports
// what it measured. Each workload lives in its own subpackage.
package workloads

import (
	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/hw"
	"github.com/ghostsim/ghostsim/sim/kernel"
)

// Env is what a workload builds on.
type Env struct {
	Engine  *sim.Engine
	Machine *hw.Machine
	Kernel  *kernel.Kernel
	// EnclaveCPUs is the CPU set of [enclave] cpus (all CPUs when unset).
	EnclaveCPUs kernel.CPUSet
	// Ghost is the ghOSt enclave on EnclaveCPUs, with an agent process of
	// the -policy running; nil when no policy was given. Workloads spawn
	// their ghOSt threads into it.
	Ghost *kernel.Enclave
	// Enclaves holds every enclave made, by its config name ("" for a
	// single unnamed one), for groups that join one by name. Ghost is the
	// first of the config's enclaves.
	Enclaves map[string]*kernel.Enclave
	// Policy is the -policy name, "" when none was given.
	Policy string
}

// Workload drives one experiment.
type Workload interface {
	// Start spawns the workload's threads and schedules its first events.
	// It runs once, at time 0.
	Start(env *Env) error
	// ResetStats discards what was measured so far: the warm-up ends.
	ResetStats(now sim.Time)
	// Report adds the workload's figures for the measured window, which
	// ends at now.
	Report(now sim.Time, r *Report)
}

// Report is what a workload contributes to a result (docs/DESIGN.md §8). The
// experiment runner fills CPU shares and kernel counters itself.
type Report struct {
	// Throughput holds rates such as "requests_per_s".
	Throughput map[string]float64
	// Latency holds one summary per request class ("all", "short", ...).
	Latency map[string]sim.Summary
	// Metrics holds workload-specific numbers. Request-driven workloads
	// report requests_generated, requests_completed and requests_in_flight.
	Metrics map[string]float64
	// Backlog holds, per latency class, the window's request accounting
	// that saturation is judged from (Requests fills it and Latency).
	Backlog map[string]sim.Backlog
}

// NewReport returns a report with empty maps.
func NewReport() *Report {
	return &Report{
		Throughput: map[string]float64{},
		Latency:    map[string]sim.Summary{},
		Metrics:    map[string]float64{},
		Backlog:    map[string]sim.Backlog{},
	}
}
