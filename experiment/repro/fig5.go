package repro

import (
	"fmt"
	"strings"

	"github.com/ghostsim/ghostsim/experiment"
	"github.com/ghostsim/ghostsim/sim/hw"
)

// Fig5Machines are the machines of Fig 5, one line each.
var Fig5Machines = []string{"skylake112", "haswell72"}

// Fig5Data is what Fig 5 is drawn from: one line per machine.
type Fig5Data struct {
	Lines []Fig5Line
}

// Fig5Line is one machine's sweep: committed transactions per second by
// CPUs in the enclave.
type Fig5Line struct {
	Machine string
	M       *hw.Machine
	CPUs    []float64
	TPS     []float64
}

// Fig5 sweeps every CPU count on each machine (the scalability workload
// with step 1: round-robin over 5 yielding threads per CPU), makes
// fig5.csv and checks the figure's features.
func Fig5(env Env) (*Result, error) {
	u := newRunner(env)
	var lines []Fig5Line
	var points []experiment.Point
	var owner []int
	for i, name := range Fig5Machines {
		spec, _, err := experiment.Load(embedded(name), []string{"workload.scalability.step=1"})
		if err != nil {
			return nil, err
		}
		m, err := hw.New(spec.Spec)
		if err != nil {
			return nil, err
		}
		info, _ := experiment.FindWorkload("scalability")
		pts, err := info.Sweep(spec, "")
		if err != nil {
			return nil, err
		}
		lines = append(lines, Fig5Line{Machine: name, M: m})
		points = append(points, pts...)
		for range pts {
			owner = append(owner, i)
		}
	}
	rs, err := u.sweep("fig5", points)
	if err != nil {
		return nil, err
	}
	var csv strings.Builder
	csv.WriteString("machine,cpus,txns_per_s\n")
	for i, r := range rs {
		l := &lines[owner[i]]
		l.CPUs = append(l.CPUs, r.Metrics["cpus"])
		l.TPS = append(l.TPS, r.Metrics["txns_per_s"])
		fmt.Fprintf(&csv, "%s,%g,%.0f\n", l.Machine, r.Metrics["cpus"], r.Metrics["txns_per_s"])
	}
	var claims []Claim
	for _, l := range lines {
		claims = append(claims, fig5Claims(l)...)
	}
	return u.finish(&Result{Files: []File{{"fig5.csv", []byte(csv.String())}}, Claims: claims, Data: &Fig5Data{Lines: lines}}), nil
}

// fig5Claims checks one machine's curve against the figure's features.
func fig5Claims(l Fig5Line) []Claim {
	cores := l.M.NumCores() / l.M.NumSockets()
	at := func(x int) float64 {
		for i, c := range l.CPUs {
			if int(c) == x {
				return l.TPS[i]
			}
		}
		return 0
	}
	peak, peakX := 0.0, 0
	for i, v := range l.TPS {
		if v > peak {
			peak, peakX = v, int(l.CPUs[i])
		}
	}
	socketPeak := 0.0
	for i, v := range l.TPS {
		if int(l.CPUs[i]) <= cores*l.M.SMT() && v > socketPeak {
			socketPeak = v
		}
	}
	all := l.TPS[len(l.TPS)-1]
	beforeSib, withSib := at(cores), at(cores+1)
	out := []Claim{
		{fmt.Sprintf("%s: steep ramp (10 CPUs ≥ 1.5 × 2 CPUs)", l.Machine),
			fmt.Sprintf("%.2f M/s at 2, %.2f M/s at 10", at(2)/1e6, at(10)/1e6), at(10) >= 1.5*at(2)},
		{fmt.Sprintf("%s: drop when the agent's SMT sibling gets a thread (%d → %d CPUs)", l.Machine, cores, cores+1),
			fmt.Sprintf("%.3f → %.3f M/s", beforeSib/1e6, withSib/1e6), withSib < beforeSib},
		{fmt.Sprintf("%s: decline once remote-socket CPUs are scheduled", l.Machine),
			fmt.Sprintf("socket-0 peak %.3f M/s, all %d CPUs %.3f M/s", socketPeak/1e6, int(l.CPUs[len(l.CPUs)-1]), all/1e6), all < 0.97*socketPeak},
	}
	if l.Machine == "skylake112" {
		out = append(out, Claim{"skylake112: peak above 2 M txns/s", fmt.Sprintf("%.3f M/s at %d CPUs", peak/1e6, peakX), peak > 2e6})
	}
	return out
}
