package experiment

import (
	"fmt"

	"github.com/ghostsim/ghostsim/results"
	"github.com/ghostsim/ghostsim/sim/hw"
	"github.com/ghostsim/ghostsim/workloads/scalability"
	"github.com/ghostsim/ghostsim/workloads/synthetic"
)

// scalabilitySweep builds the Fig 5 points on spec's machine: for each CPU
// count x, an enclave of the first x CPUs in sweep order running the
// policy (round-robin by default) over threads_per_cpu × x ghOSt threads
// looping on sched_yield. Each point reports metrics.cpus and
// metrics.txns_per_s (committed transactions per simulated second).
func scalabilitySweep(spec *Spec, policy string) ([]Point, error) {
	sc := spec.Workload.Scalability
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	if policy == "" {
		policy = "round-robin"
	}
	m, err := hw.New(spec.Spec)
	if err != nil {
		return nil, err
	}
	order := scalability.Order(m)
	var points []Point
	for _, x := range scalability.Counts(m.NumCPUs(), sc.Step) {
		p := *spec
		cpus := scalability.CPUList(order, x).String()
		es := EnclaveSpec{}
		if len(spec.Enclave) > 0 {
			es = spec.Enclave[0] // its watchdog and lifetime
		}
		es.CPUs = cpus
		p.Enclave = Enclaves{es}
		p.Run.DurationMs, p.Run.WarmupMs = sc.PointMs, sc.WarmupMs
		p.Workload.Group = []synthetic.GroupSpec{{
			Name: "rr", Threads: sc.ThreadsPerCPU * x, Class: "ghost", CPUs: cpus, Program: "yield",
		}}
		if err := synthetic.Validate(p.Workload.Group, m.NumCPUs(), m.NumSockets()); err != nil {
			return nil, fmt.Errorf("scalability point %d CPUs: %w", x, err)
		}
		x := x
		points = append(points, Point{
			Values:   map[string]float64{"cpus": float64(x)},
			Spec:     &p,
			Workload: "synthetic",
			Policy:   policy,
			Finish: func(r *results.Result) {
				r.Workload = "scalability"
				r.Metrics["cpus"] = float64(x)
				r.Metrics["txns_per_s"] = float64(r.Ghost.Txns["TXN_COMPLETE"]) / (float64(r.SimTimeNs) / 1e9)
			},
		})
	}
	return points, nil
}
