// Package hold is the engine's benchmark model as a workload: Pending
// events outstanding at all times, each delivery scheduling its successor
// after an exponential hold. It exercises the engine alone (no threads)
// and was ghostsim's first runnable workload.
package hold

import (
	"errors"

	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/workloads"
)

// Spec is the [workload.hold] table.
type Spec struct {
	// Pending is the number of events outstanding at all times.
	Pending int `toml:"pending"`
	// MeanHoldNs is the mean of the exponential hold, in ns.
	MeanHoldNs int64 `toml:"mean_hold_ns"`
}

// DefaultSpec holds 1000 events with a 1 ms mean hold: a million events
// per simulated second.
func DefaultSpec() Spec { return Spec{Pending: 1000, MeanHoldNs: 1000000} }

// Validate checks the spec; keys are full config keys.
func (s *Spec) Validate() error {
	var errs []error
	if s.Pending < 1 {
		errs = append(errs, sim.KeyErrorf("workload.hold.pending", "must be >= 1, got %d", s.Pending))
	}
	if s.MeanHoldNs < 1 {
		errs = append(errs, sim.KeyErrorf("workload.hold.mean_hold_ns", "must be >= 1, got %d", s.MeanHoldNs))
	}
	return errors.Join(errs...)
}

// Workload runs the hold model.
type Workload struct {
	spec  Spec
	e     *sim.Engine
	start uint64
}

// New returns the hold workload.
func New(spec Spec) *Workload { return &Workload{spec: spec} }

// Start schedules the pending events.
func (w *Workload) Start(env *workloads.Env) error {
	w.e = env.Engine
	sim.NewHoldModel(env.Engine, w.spec.Pending, sim.Ns(w.spec.MeanHoldNs))
	return nil
}

// ResetStats starts counting events afresh.
func (w *Workload) ResetStats(sim.Time) { w.start = w.e.Executed() }

// Report gives events per simulated second.
func (w *Workload) Report(now sim.Time, r *workloads.Report) {
	n := float64(w.e.Executed() - w.start)
	r.Metrics["hold_events"] = n
	r.Metrics["pending"] = float64(w.spec.Pending)
}
