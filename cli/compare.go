package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/ghostsim/ghostsim/results"
)

// runCompare is `ghostsim compare BASELINE CANDIDATE`: it compares two
// results files (results.Compare) and prints a table of every metric
// compared. The exit code is 0 when nothing regressed, 1 when something did
// (each regression named on stderr), 2 for bad input: a file that cannot
// be read or holds no complete ghostsim results, points that do not match,
// results of different machines or workloads, nothing to compare, or a bad
// flag. A saturated candidate against an unsaturated baseline, and a
// candidate that served nothing, are regressions (results.Compare).
func runCompare(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ghostsim compare", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var tols stringList
	fs.Var(&tols, "tolerance", "allowed change per metric, `LIST` such as p99=5%,p99.9=10%,throughput=2%\n"+
		"(repeatable; merged over the defaults "+results.DefaultTolerances().String()+";\n"+
		"METRIC=off stops comparing it). Metrics: "+strings.Join(results.ToleranceKeys, ", "))
	quiet := fs.Bool("q", false, "print only the regressions, not the table")
	usage := func() {
		fmt.Fprint(stdout, `usage: ghostsim compare [-tolerance LIST] [-q] BASELINE CANDIDATE

Compares two results files written by ghostsim: one result each (-json's line, or
-out's result.json), or sweeps as JSON lines (-json, or -out's results.jsonl) whose
results are matched by point. For every latency class it compares the percentiles
named in the tolerances (lower is better: a candidate above baseline × (1 + tolerance)
regresses), and every throughput key (higher is better). Whatever the tolerances,
a candidate that is saturated (its backlog grew over the window) where the baseline
is not regresses, and so does one that served nothing. Baseline and candidate must
be of the same machine and workload (the policy may differ). Exit status: 0 no
regression, 1 a regression (each named on stderr), 2 bad input.

Example:
  ghostsim -config skylake112 -config synthetic-requests.toml -workload synthetic -json > base.json
  ghostsim -config skylake112 -config synthetic-requests.toml -workload synthetic \
           -set 'workload.group[0].class="ghost"' -set enclave.cpus=0-8 -policy fifo-central -json > cand.json
  ghostsim compare -tolerance p99=10%,p50=5% base.json cand.json

Flags:
`)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "ghostsim compare: "+format+"\n", a...)
		return exitUsage
	}
	// Flags may come before, between or after the two files.
	var files []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				usage()
				return exitOK
			}
			return bad("%v (see 'ghostsim compare -h')", err)
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(files) != 2 {
		return bad("want two files, BASELINE and CANDIDATE, got %d (see 'ghostsim compare -h')", len(files))
	}
	tol := results.DefaultTolerances()
	for _, t := range tols {
		var err error
		if tol, err = results.ParseTolerances(t, tol); err != nil {
			return bad("-tolerance: %v", err)
		}
	}
	if len(tol) == 0 {
		return bad("-tolerance: every metric is off; nothing to compare")
	}
	base, err := results.ReadFile(files[0])
	if err != nil {
		return bad("baseline %v", err)
	}
	cand, err := results.ReadFile(files[1])
	if err != nil {
		return bad("candidate %v", err)
	}
	findings, err := results.Compare(base, cand, tol)
	if err != nil {
		return bad("%s and %s: %v", files[0], files[1], err)
	}
	if len(findings) == 0 {
		return bad("%s and %s: nothing to compare: the baseline has no latency class with requests, no throughput and no saturation for the tolerances %s", files[0], files[1], tol)
	}

	if !*quiet {
		fmt.Fprintf(stdout, "baseline   %s: %s\n", files[0], describe(base))
		fmt.Fprintf(stdout, "candidate  %s: %s\n", files[1], describe(cand))
		fmt.Fprintf(stdout, "tolerances %s\n\n", tol)
		rows := [][]string{{"metric", "class", "point", "baseline", "candidate", "change", "status"}}
		for _, f := range findings {
			point, status := f.Point, "OK"
			if point == "" {
				point = "-"
			}
			base, cand, change := formatNumber(f.Baseline), formatNumber(f.Candidate), results.FormatChange(f.Change)
			if f.Metric == results.MetricSaturated {
				base, cand, change = yesNo(f.Baseline), yesNo(f.Candidate), "-"
			}
			switch {
			case f.Missing:
				cand, change, status = "-", "-", "MISSING"
			case f.Regressed:
				status = "REGRESSED"
			}
			rows = append(rows, []string{f.Metric, f.Class, point, base, cand, change, status})
		}
		// Names left, numbers right.
		writeAligned(stdout, rows, func(col int) bool { return col <= 2 || col == 6 })
	}
	regs := results.Regressions(findings)
	for _, f := range regs {
		fmt.Fprintf(stderr, "ghostsim compare: regressed: %s\n", f)
	}
	if len(regs) > 0 {
		fmt.Fprintf(stderr, "ghostsim compare: %d of %d metrics regressed\n", len(regs), len(findings))
		return exitFailure
	}
	if !*quiet {
		fmt.Fprintf(stdout, "\nno regression in %d metrics\n", len(findings))
	}
	return exitOK
}

// describe says what a results file holds: how many results, the
// machine, workload and policy of the first, and how many are saturated.
func describe(rs []*results.Result) string {
	r := rs[0]
	what := fmt.Sprintf("machine %s, workload %s, policy %s, seed %d", r.Machine, r.Workload, r.Policy, r.Seed)
	sat := 0
	for _, r := range rs {
		if r.Saturated {
			sat++
		}
	}
	if len(rs) == 1 {
		if sat > 0 {
			what += ", SATURATED"
		}
		return what
	}
	what = fmt.Sprintf("%d points; %s", len(rs), what)
	if sat > 0 {
		what += fmt.Sprintf(", %d SATURATED", sat)
	}
	return what
}

func yesNo(v float64) string {
	if v != 0 {
		return "yes"
	}
	return "no"
}
