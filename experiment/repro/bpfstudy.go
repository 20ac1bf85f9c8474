package repro

import (
	"fmt"
	"strings"
	"time"

	"github.com/ghostsim/ghostsim/experiment"
)

// BPFStudyCycles are the policy.container_op_cycles the BPF study runs
// the search policy at: the agent's computation per message and per heap
// operation, from the default 20 to 5000, which takes its loop from about
// a microsecond to milliseconds (docs/BPF-STUDY.md).
var BPFStudyCycles = []int{20, 60, 150, 300, 500, 2000, 5000}

// BPFStudyData is what the BPF study's figure is drawn from: one row per
// loop cost and setting of policy.bpf, bpf = false first.
type BPFStudyData struct {
	Rows []BPFStudyRow
}

// BPFStudyRow is one run of the study.
type BPFStudyRow struct {
	Cycles  int
	BPF     bool
	LoopP50 float64    // the agent's loop p50, µs
	GapCPUs float64    // ghost.sched_gap_ns / sim_time_ns: CPUs idle with work waiting, on average
	P99     [3]float64 // A, B, C p99, µs
	QPS     float64    // queries completed per second
	Runs    float64    // threads the BPF program ran (policy.bpf_runs)
}

// BPFStudy runs Search on rome256 (search.toml's defaults, seed 1) under
// the search policy without and with the BPF fast path as the agent's
// loop grows, makes bpf-study.csv and prints the table of
// docs/BPF-STUDY.md. It is a study, not the paper's: it checks no claim.
func BPFStudy(env Env) (*Result, error) {
	u := newRunner(env)
	var points []experiment.Point
	for _, c := range BPFStudyCycles {
		for _, bpf := range []bool{false, true} {
			sets := []string{fmt.Sprintf("policy.container_op_cycles=%d", c), fmt.Sprintf("policy.bpf=%t", bpf)}
			spec, _, err := experiment.LoadWorkload("search", embedded("rome256"), sets)
			if err != nil {
				return nil, err
			}
			points = append(points, experiment.Point{Values: map[string]float64{"container_op_cycles": float64(c)}, Spec: spec, Workload: "search", Policy: "search"})
		}
	}
	rs, err := u.sweep("bpf-study", points)
	if err != nil {
		return nil, err
	}
	var d BPFStudyData
	var csv, text strings.Builder
	csv.WriteString("container_op_cycles,bpf,agent_loop_p50_us,sched_gap_cpus,A_p99_us,B_p99_us,C_p99_us,queries_per_s,bpf_runs\n")
	fmt.Fprintf(&text, "BPF study on %s: Search under the search policy, without and with the BPF fast path\n\n", rs[0].Machine)
	text.WriteString("| container_op_cycles | bpf | loop p50 (µs) | gap (CPUs) | A p99 (µs) | B p99 (µs) | C p99 (µs) | queries/s | BPF runs |\n")
	text.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for i, r := range rs {
		row := BPFStudyRow{Cycles: BPFStudyCycles[i/2], BPF: i%2 == 1, GapCPUs: float64(r.Ghost.SchedGapNs) / float64(r.SimTimeNs),
			QPS: r.Throughput["requests_per_s"], Runs: r.Metrics["policy.bpf_runs"]}
		if l := r.Ghost.AgentLoopNs; l != nil {
			row.LoopP50 = float64(l.P50) / 1000
		}
		for k, c := range []string{"A", "B", "C"} {
			row.P99[k] = float64(r.Latency[c].P99) / 1000
		}
		d.Rows = append(d.Rows, row)
		onOff := map[bool]string{false: "off", true: "on"}[row.BPF]
		fmt.Fprintf(&csv, "%d,%t,%.1f,%.2f,%.0f,%.0f,%.0f,%.0f,%.0f\n", row.Cycles, row.BPF, row.LoopP50, row.GapCPUs, row.P99[0], row.P99[1], row.P99[2], row.QPS, row.Runs)
		fmt.Fprintf(&text, "| %d | %s | %.1f | %.2f | %.0f | %.0f | %.0f | %.0f | %.0f |\n", row.Cycles, onOff, row.LoopP50, row.GapCPUs, row.P99[0], row.P99[1], row.P99[2], row.QPS, row.Runs)
	}
	return u.finish(&Result{Text: text.String(), Files: []File{{"bpf-study.csv", []byte(csv.String())}}, Data: &d}), nil
}

// bpfStudyEstimate is about how long the study takes with two jobs.
const bpfStudyEstimate = 60 * time.Second
