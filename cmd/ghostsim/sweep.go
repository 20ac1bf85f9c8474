package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ghostsim/ghostsim/configs"
	"github.com/ghostsim/ghostsim/experiment"
	"github.com/ghostsim/ghostsim/results"
)

// runSweep runs a sweep workload: one result per point, printed as JSON
// lines (-json) or a table, and with -out written as results.jsonl and
// sweep.csv.
func runSweep(o *options, info experiment.WorkloadInfo, spec *experiment.Spec, meta *configs.Meta, args []string,
	labels map[int]string, stdout, stderr io.Writer) int {
	points, err := info.Sweep(spec, o.policy)
	if err != nil {
		printErrors(stderr, relabel(meta.Wrap(err), labels))
		return exitUsage
	}
	var prog func(done, total int)
	if !o.quiet && isTerminal(stderr) {
		prog = func(done, total int) {
			fmt.Fprintf(stderr, "\r%d/%d points", done, total)
			if done == total {
				fmt.Fprint(stderr, "\r              \r")
			}
		}
	}
	rs, err := experiment.RunSweep(points, o.jobs, prog)
	if err != nil {
		printErrors(stderr, err)
		fmt.Fprintf(stderr, "ghostsim: reproduce with: %s\n", commandLine(args))
		return exitFailure
	}
	if o.json {
		for _, r := range rs {
			b, err := r.JSON()
			if err != nil {
				return fail(stderr, args, err)
			}
			fmt.Fprintf(stdout, "%s\n", b)
		}
	} else {
		printSweepTable(stdout, rs)
	}
	if o.out != "" {
		if err := writeSweep(o.out, rs); err != nil {
			return fail(stderr, args, err)
		}
	}
	return exitOK
}

// sweepColumns are the point values and metrics of a sweep, sorted.
func sweepColumns(rs []*results.Result) (point, metric []string) {
	ps, ms := map[string]bool{}, map[string]bool{}
	for _, r := range rs {
		for k := range r.Point {
			ps[k] = true
		}
		for k := range r.Metrics {
			if _, isPoint := r.Point[k]; !isPoint {
				ms[k] = true
			}
		}
	}
	for k := range ps {
		point = append(point, k)
	}
	for k := range ms {
		metric = append(metric, k)
	}
	sort.Strings(point)
	sort.Strings(metric)
	return point, metric
}

func printSweepTable(w io.Writer, rs []*results.Result) {
	point, metric := sweepColumns(rs)
	cols := append(append([]string{}, point...), metric...)
	fmt.Fprintln(w, strings.Join(cols, "\t"))
	for _, r := range rs {
		var row []string
		for _, k := range point {
			row = append(row, fmt.Sprintf("%g", r.Point[k]))
		}
		for _, k := range metric {
			row = append(row, fmt.Sprintf("%.6g", r.Metrics[k]))
		}
		fmt.Fprintln(w, strings.Join(row, "\t"))
	}
}

// writeSweep writes DIR/results.jsonl (one result per line) and
// DIR/sweep.csv (point values and metrics, one row per point).
func writeSweep(dir string, rs []*results.Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var jl strings.Builder
	for _, r := range rs {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		jl.Write(b)
		jl.WriteByte('\n')
	}
	if err := os.WriteFile(filepath.Join(dir, "results.jsonl"), []byte(jl.String()), 0o644); err != nil {
		return err
	}
	point, metric := sweepColumns(rs)
	var csv strings.Builder
	csv.WriteString(strings.Join(append(append([]string{}, point...), metric...), ",") + "\n")
	for _, r := range rs {
		var row []string
		for _, k := range point {
			row = append(row, fmt.Sprintf("%g", r.Point[k]))
		}
		for _, k := range metric {
			row = append(row, fmt.Sprintf("%g", r.Metrics[k]))
		}
		csv.WriteString(strings.Join(row, ",") + "\n")
	}
	return os.WriteFile(filepath.Join(dir, "sweep.csv"), []byte(csv.String()), 0o644)
}
