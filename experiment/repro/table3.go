package repro

import (
	"fmt"
	"io"
	"strings"

	"github.com/ghostsim/ghostsim/experiment"
	"github.com/ghostsim/ghostsim/results"
	"github.com/ghostsim/ghostsim/workloads/microbench"
)

// Table3 runs the microbenchmarks on skylake112 and prints Table 3: the
// paper's value, the simulated one and their ratio (table3.csv), each row
// a claim within ±10 %.
func Table3(env Env) (*Result, error) {
	u := newRunner(env)
	spec, _, err := experiment.Load(embedded("skylake112"), nil)
	if err != nil {
		return nil, err
	}
	rs, err := u.sweep("table3", []experiment.Point{{Spec: spec, Workload: "microbench"}})
	if err != nil {
		return nil, err
	}
	r := rs[0]
	var text strings.Builder
	PrintTable3(&text, r)
	var claims []Claim
	var csv strings.Builder
	csv.WriteString("row,operation,paper_ns,sim_ns,ratio\n")
	for _, row := range microbench.Rows {
		got := r.Metrics[fmt.Sprintf("table3_row%d_ns", row.N)]
		ratio := got / row.Paper
		fmt.Fprintf(&csv, "%d,%q,%g,%.1f,%.3f\n", row.N, row.Name, row.Paper, got, ratio)
		claims = append(claims, Claim{
			What:     fmt.Sprintf("row %d %s within ±10%% of %g ns", row.N, row.Name, row.Paper),
			Measured: fmt.Sprintf("%.1f ns (ratio %.3f)", got, ratio),
			OK:       ratio >= 0.9 && ratio <= 1.1,
		})
	}
	return u.finish(&Result{Text: text.String(), Files: []File{{"table3.csv", []byte(csv.String())}}, Claims: claims}), nil
}

// PrintTable3 prints Table 3 from a microbench result.
func PrintTable3(w io.Writer, r *results.Result) {
	fmt.Fprintf(w, "Table 3 on %s (paper: 2 × Xeon Platinum 8173M @ 2 GHz)\n", r.Machine)
	fmt.Fprintf(w, "%-4s %-52s %9s %9s %7s\n", "row", "operation", "paper ns", "sim ns", "ratio")
	for _, row := range microbench.Rows {
		got := r.Metrics[fmt.Sprintf("table3_row%d_ns", row.N)]
		fmt.Fprintf(w, "%-4d %-52s %9.0f %9.1f %7.3f\n", row.N, row.Name, row.Paper, got, got/row.Paper)
	}
}
