package cli

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/ghostsim/ghostsim/configs"
	"github.com/ghostsim/ghostsim/experiment"
	"github.com/ghostsim/ghostsim/results"
	"github.com/ghostsim/ghostsim/sim"
)

// Files written by -out for a sweep.
const (
	sweepJSONL = "results.jsonl"
	sweepCSV   = "sweep.csv"
)

// maxSweepPoints bounds a -sweep cross product.
const maxSweepPoints = 100000

// runSweep runs a workload that is a sweep by itself (such as scalability)
// without -sweep flags.
func runSweep(o *options, info experiment.WorkloadInfo, spec *experiment.Spec, meta *configs.Meta, args []string,
	labels map[int]string, stdout, stderr io.Writer) int {
	points, err := info.Sweep(spec, o.policy)
	if err != nil {
		printErrors(stderr, relabel(meta.Wrap(err), labels))
		return exitUsage
	}
	announceShard(o, len(points), stderr)
	if !o.quiet && !o.json && len(points) > 0 {
		p := points[0]
		fmt.Fprintf(stderr, "ghostsim: seed %d, machine %s (%d CPUs, %g GHz), workload %s: %d points, policy %s, each %v measured after %v warm-up; configs: %s\n",
			spec.Run.Seed, spec.Machine.Name, spec.Machine.CPUs, spec.Machine.GHz, o.workload, len(points), p.Spec.PolicyLabel(p.Policy),
			sim.Ms(p.Spec.Run.DurationMs), sim.Ms(p.Spec.Run.WarmupMs), strings.Join(meta.Files(), " "))
	}
	return runPoints(o, points, nil, func(err error) error { return relabel(meta.Wrap(err), labels) }, args, stdout, stderr)
}

// runGrid runs the -sweep flags' cross product (the first flag outermost).
// Each point loads the configs with the user's overrides (sets, whose
// positions labels names) followed by one -set override per axis, so that
// an invalid value is reported at its key and labelled with the -sweep
// flag and value that produced it. A workload that is a sweep by itself
// contributes its own points under each grid point.
func runGrid(o *options, info experiment.WorkloadInfo, files, sets []string, labels map[int]string, args []string,
	stdout, stderr io.Writer) int {
	var axes []experiment.Axis
	total := 1
	policyAt := -1 // the policy axis's position, if swept
	for _, arg := range o.sweeps {
		a, err := experiment.ParseAxis(arg, info.SweepAliases)
		if list, ok := policyAxisList(arg); ok {
			a, err = parsePolicyAxis(o, list)
			policyAt = len(axes)
		}
		if err != nil {
			fmt.Fprintf(stderr, "ghostsim: -sweep %s: %v\n", arg, err)
			return exitUsage
		}
		for _, b := range axes {
			if b.Name == a.Name || b.Key == a.Key {
				fmt.Fprintf(stderr, "ghostsim: -sweep %s: %s is already swept by -sweep %s=...\n", arg, a.Key, b.Name)
				return exitUsage
			}
		}
		axes = append(axes, a)
		if total *= len(a.Values); total > maxSweepPoints {
			fmt.Fprintf(stderr, "ghostsim: -sweep: more than %d points\n", maxSweepPoints)
			return exitUsage
		}
	}

	var points []experiment.Point
	var firstMeta *configs.Meta
	for _, combo := range experiment.Grid(axes) {
		psets := append([]string(nil), sets...)
		plabels := make(map[int]string, len(labels)+len(axes))
		for k, v := range labels {
			plabels[k] = v
		}
		values := make(map[string]float64, len(axes))
		policy := o.policy
		for i, a := range axes {
			if i == policyAt {
				policy = a.Texts[combo[i]]
				continue
			}
			psets = append(psets, a.Key+"="+a.Texts[combo[i]])
			plabels[len(psets)] = "-sweep " + a.Name + "=" + a.Texts[combo[i]]
			values[a.Name] = a.Values[combo[i]]
		}
		spec, meta, err := experiment.LoadWorkload(o.workload, files, psets)
		if err == nil && policyAt >= 0 {
			// A [policy.NAME] table of another swept policy is for
			// that policy's points.
			own := maps.Clone(spec.Policy.Own)
			for _, other := range axes[policyAt].Texts {
				if other != policy {
					delete(own, other)
				}
			}
			spec.Policy.Own = own
		}
		if err == nil {
			err = experiment.Check(spec, o.workload)
		}
		if err == nil {
			err = experiment.CheckRun(spec, o.workload, policy)
		}
		var pts []experiment.Point
		if err == nil && info.Sweep != nil {
			pts, err = info.Sweep(spec, policy)
		}
		if err != nil {
			printConfigErrors(stderr, o, relabel(meta.Wrap(err), plabels))
			return exitUsage
		}
		if firstMeta == nil {
			firstMeta = meta
		}
		if info.Sweep == nil {
			pts = []experiment.Point{{Spec: spec, Workload: o.workload, Policy: policy}}
		}
		for _, p := range pts {
			v := make(map[string]float64, len(values)+len(p.Values))
			for k, x := range p.Values {
				v[k] = x
			}
			for k, x := range values {
				v[k] = x
			}
			p.Values = v
			points = append(points, p)
		}
	}
	if len(points) == 0 {
		fmt.Fprintf(stderr, "ghostsim: -sweep: workload %s gave no points to run\n", o.workload)
		return exitUsage
	}
	announceShard(o, len(points), stderr)
	if !o.quiet && !o.json {
		first := points[0].Spec
		var dims []string
		for _, a := range axes {
			dims = append(dims, fmt.Sprintf("%s (%d values)", a.Name, len(a.Values)))
		}
		policies := "policy " + first.PolicyLabel(points[0].Policy)
		if policyAt >= 0 {
			policies = "policies " + strings.Join(axes[policyAt].Texts, ", ")
		}
		fmt.Fprintf(stderr, "ghostsim: sweep of %d points over %s; seed %d, machine %s, workload %s, %s, %d ms measured after %d ms warm-up; configs: %s\n",
			len(points), strings.Join(dims, " × "), first.Run.Seed, first.Machine.Name, o.workload, policies,
			first.Run.DurationMs, first.Run.WarmupMs, strings.Join(firstMeta.Files(), " "))
	}
	var order []string
	for _, a := range axes {
		order = append(order, a.Name)
	}
	// A policy's constructor checks its [policy.NAME] table when a point
	// runs; the axes do not move the config's keys, so the first point's
	// meta locates them.
	return runPoints(o, points, order, func(err error) error { return relabel(firstMeta.Wrap(err), labels) }, args, stdout, stderr)
}

// runPoints runs a sweep's points with -j workers and prints one JSON line
// per point (-json) or a table, in point order; with -out it writes
// results.jsonl, sweep.csv and the figure. pointOrder names the point
// columns that come first, in order (the -sweep axes); other point keys
// follow, sorted. Every result carries its place in the sweep
// (results.Sweep). A shard (-shard, o.shard) runs only its points, and
// -out then writes their JSON lines alone, as shard-I-of-N.jsonl, for
// ghostsim merge. wrap locates a run's config errors (a policy's
// constructor checks its own [policy.NAME] table only when it runs).
func runPoints(o *options, points []experiment.Point, pointOrder []string, wrap func(error) error, args []string, stdout, stderr io.Writer) int {
	hash, err := sweepHash(points)
	if err != nil {
		return fail(stderr, args, err)
	}
	ver := ghostsimVersion()
	var mine []experiment.Point
	var index []int
	for i, p := range points {
		if o.shard.has(i) {
			mine, index = append(mine, p), append(index, i)
		}
	}
	rs, err := experiment.RunSweep(mine, o.jobs, countProgress(!o.quiet && isTerminal(stderr), stderr, "ghostsim", "points done"))
	if err != nil {
		if err = wrap(err); isConfigError(err) {
			printConfigErrors(stderr, o, err)
			return exitUsage
		}
		return fail(stderr, args, err)
	}
	for k, r := range rs {
		r.Sweep = &results.Sweep{Index: index[k], Points: len(points), Axes: pointOrder, ConfigSHA256: hash, Version: ver}
	}
	policyFailed := false
	for _, r := range rs {
		warnServedNothing(stderr, pointLabel(r, pointOrder), r)
		if reportCrashes(stderr, pointLabel(r, pointOrder), r) {
			policyFailed = true
		}
	}
	cols := newSweepColumns(rs, pointOrder)
	if o.json {
		for _, r := range rs {
			b, err := r.JSON()
			if err != nil {
				return fail(stderr, args, fmt.Errorf("encoding the result: %w", err))
			}
			fmt.Fprintf(stdout, "%s\n", b)
		}
	} else {
		writeTable(stdout, cols.table(rs))
	}
	if o.out != "" && o.shard.N > 0 {
		jl, err := encodeLines(rs)
		if err == nil {
			err = os.WriteFile(filepath.Join(o.out, o.shard.file()), jl, 0o644)
		}
		if err != nil {
			return fail(stderr, args, fmt.Errorf("-out: %w", err))
		}
		if !o.quiet && !o.json {
			fmt.Fprintf(stderr, "ghostsim: wrote %s; merge the shards with: ghostsim merge OUT_DIR %s\n",
				joinPath(o.out, o.shard.file()), joinPath(o.out, fmt.Sprintf("shard-*-of-%d.jsonl", o.shard.N)))
		}
	} else if o.out != "" {
		if err := writeSweep(o.out, rs, cols); err != nil {
			return fail(stderr, args, err)
		}
		plotted, why, err := plotSweep(o.out, rs, cols, o.plot)
		if err != nil {
			return fail(stderr, args, err)
		}
		if !o.quiet && !o.json {
			fmt.Fprintf(stderr, "ghostsim: wrote %s, %s%s\n", joinPath(o.out, sweepJSONL), joinPath(o.out, sweepCSV), figureNote(o.out, plotted, why, o.plot.formats))
		}
	}
	if policyFailed {
		fmt.Fprintf(stderr, "ghostsim: reproduce with: %s\n", commandLine(args))
		return exitFailure
	}
	return exitOK
}

// announceShard says on stderr which part of a sweep of total points this
// process runs, when it runs a shard: always when a batch system's
// environment chose it, else unless -q or -json.
func announceShard(o *options, total int, stderr io.Writer) {
	s := o.shard
	if s.N == 0 || (!s.env && (o.quiet || o.json)) {
		return
	}
	n := 0
	for i := 0; i < total; i++ {
		if s.has(i) {
			n++
		}
	}
	fmt.Fprintf(stderr, "ghostsim: shard %d/%d from %s: %d of the sweep's %d points (those whose index ≡ %d mod %d)\n",
		s.I, s.N, s.from, n, total, s.I, s.N)
}

// pointLabel names a sweep point for a message: "at load=100000".
func pointLabel(r *results.Result, order []string) string {
	p := r.Point
	keys := append([]string(nil), order...)
	for _, k := range slices.Sorted(maps.Keys(p)) {
		if !slices.Contains(order, k) {
			keys = append(keys, k)
		}
	}
	var parts []string
	for _, k := range keys {
		if k == policyAxis {
			parts = append(parts, k+"="+r.Policy)
		} else if v, ok := p[k]; ok {
			parts = append(parts, k+"="+plainNumber(v))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "at " + strings.Join(parts, " ")
}

// sweepColumns are the columns of a sweep's table and CSV: what any of its
// results holds, each group in a fixed order.
type sweepColumns struct {
	point      []string // the -sweep axes in order, then other point keys sorted
	throughput []string // throughput keys, sorted
	classes    []string // latency classes, sorted
	backlog    []string // classes with a backlog, sorted (none: no saturated column)
	shares     []string // CPU share groups, sorted
	metrics    []string // metric names that are not also point keys, sorted
}

func newSweepColumns(rs []*results.Result, pointOrder []string) sweepColumns {
	first := map[string]bool{}
	for _, k := range pointOrder {
		first[k] = true
	}
	ps, tp, cl, bl, sh, ms := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, r := range rs {
		for k := range r.Point {
			if !first[k] {
				ps[k] = true
			}
		}
		for k := range r.Throughput {
			tp[k] = true
		}
		for k := range r.Latency {
			cl[k] = true
		}
		for k := range r.Backlog {
			bl[k] = true
		}
		for k := range r.CPU.Share {
			sh[k] = true
		}
		for k := range r.Metrics {
			if _, isPoint := r.Point[k]; !isPoint {
				ms[k] = true
			}
		}
	}
	return sweepColumns{
		point:      append(append([]string(nil), pointOrder...), slices.Sorted(maps.Keys(ps))...),
		throughput: slices.Sorted(maps.Keys(tp)),
		classes:    slices.Sorted(maps.Keys(cl)),
		backlog:    slices.Sorted(maps.Keys(bl)),
		shares:     slices.Sorted(maps.Keys(sh)),
		metrics:    slices.Sorted(maps.Keys(ms)),
	}
}

// latencyFields are a latency class's fields in contract order.
var latencyFields = []string{"count", "mean", "p50", "p90", "p99", "p99.9", "p99.99", "max", "incomplete"}

// backlogFields are a backlog's fields in contract order.
var backlogFields = []string{"arrived", "completed", "in_flight_start", "in_flight_end", "clients"}

// table is the human view of a sweep, a header and one row per point: the
// point values, requests/s, the p50, p99 and p99.9 latency of class "all"
// in µs, how many of its requests were incomplete and whether the point
// is saturated (its percentiles then marked ≥: lower bounds), and each
// group's CPU share in percent. A sweep without request latencies (such as
// scalability) shows its metrics instead, since they are its figures.
func (c sweepColumns) table(rs []*results.Result) [][]string {
	header := append([]string(nil), c.point...)
	hasTP, hasAll, hasSat := has(c.throughput, "requests_per_s"), has(c.classes, "all"), len(c.backlog) > 0
	if hasTP {
		header = append(header, "requests/s")
	}
	if hasAll {
		header = append(header, "p50 µs", "p99 µs", "p99.9 µs", "incomplete")
	}
	if hasSat {
		header = append(header, "saturated")
	}
	for _, g := range c.shares {
		header = append(header, "share "+g)
	}
	if !hasAll {
		header = append(header, c.metrics...)
	}
	rows := [][]string{header}
	for _, r := range rs {
		var row []string
		for _, k := range c.point {
			row = append(row, pointCell(r, k))
		}
		if hasTP {
			row = append(row, cell(r.Throughput, "requests_per_s", formatNumber))
		}
		if hasAll {
			s, ok := r.Latency["all"]
			bound := ""
			if r.Saturated {
				bound = "≥"
			}
			for _, ns := range []int64{s.P50, s.P99, s.P999} {
				if ok {
					row = append(row, bound+fmt.Sprintf("%.3f", float64(ns)/1e3))
				} else {
					row = append(row, "-")
				}
			}
			if ok {
				row = append(row, strconv.FormatInt(s.Incomplete, 10))
			} else {
				row = append(row, "-")
			}
		}
		if hasSat {
			switch {
			case r.Saturated:
				row = append(row, "YES")
			case len(r.Backlog) > 0:
				row = append(row, "no")
			default:
				row = append(row, "-")
			}
		}
		for _, g := range c.shares {
			row = append(row, cell(r.CPU.Share, g, func(v float64) string { return fmt.Sprintf("%.2f %%", 100*v) }))
		}
		if !hasAll {
			for _, k := range c.metrics {
				row = append(row, cell(r.Metrics, k, formatNumber))
			}
		}
		for i, v := range row {
			if v == "" {
				row[i] = "-"
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// csv returns the sweep as CSV: a header of column names, then one row per
// point. Point columns are named as on the command line (load); the others
// by their dotted path in the result (throughput.requests_per_s, saturated,
// latency_ns.all.p99, latency_ns.all.incomplete, backlog.all.in_flight_end,
// cpu.share.server, metrics.requests_completed), like result.csv's keys. A
// value a result lacks is an empty cell; numbers are written in full, as
// in the JSON, and saturated as 1 or 0.
func (c sweepColumns) csv(rs []*results.Result) ([]byte, error) {
	header := append([]string(nil), c.point...)
	for _, k := range c.throughput {
		header = append(header, "throughput."+k)
	}
	if len(c.backlog) > 0 {
		header = append(header, "saturated")
	}
	for _, cl := range c.classes {
		for _, f := range latencyFields {
			header = append(header, "latency_ns."+cl+"."+f)
		}
	}
	for _, cl := range c.backlog {
		for _, f := range backlogFields {
			header = append(header, "backlog."+cl+"."+f)
		}
	}
	header = append(header, "cpu.utilization")
	for _, g := range c.shares {
		header = append(header, "cpu.share."+g)
	}
	for _, k := range c.metrics {
		header = append(header, "metrics."+k)
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(header)
	for _, r := range rs {
		var row []string
		for _, k := range c.point {
			row = append(row, pointCell(r, k))
		}
		for _, k := range c.throughput {
			row = append(row, cell(r.Throughput, k, plainNumber))
		}
		if len(c.backlog) > 0 {
			row = append(row, boolNumber(r.Saturated))
		}
		for _, cl := range c.classes {
			s, ok := r.Latency[cl]
			for _, v := range []float64{float64(s.Count), s.Mean, float64(s.P50), float64(s.P90), float64(s.P99), float64(s.P999), float64(s.P9999), float64(s.Max), float64(s.Incomplete)} {
				if ok {
					row = append(row, plainNumber(v))
				} else {
					row = append(row, "")
				}
			}
		}
		for _, cl := range c.backlog {
			b, ok := r.Backlog[cl]
			for _, v := range []int64{b.Arrived, b.Completed, b.InFlightStart, b.InFlightEnd, b.Clients} {
				if ok {
					row = append(row, strconv.FormatInt(v, 10))
				} else {
					row = append(row, "")
				}
			}
		}
		row = append(row, plainNumber(r.CPU.Utilization))
		for _, g := range c.shares {
			row = append(row, cell(r.CPU.Share, g, plainNumber))
		}
		for _, k := range c.metrics {
			row = append(row, cell(r.Metrics, k, plainNumber))
		}
		w.Write(row)
	}
	w.Flush()
	return b.Bytes(), w.Error()
}

// pointCell is a result's value of point column k: its policy for the
// policy axis.
func pointCell(r *results.Result, k string) string {
	if k == policyAxis {
		return r.Policy
	}
	return cell(r.Point, k, plainNumber)
}

// policyAxisList returns the NAME,NAME list of a -sweep policy=...
// argument; ok is false for any other axis.
func policyAxisList(arg string) (list string, ok bool) {
	name, list, ok := strings.Cut(arg, "=")
	return list, ok && strings.TrimSpace(name) == policyAxis
}

// sweepsPolicy reports whether one of the -sweep arguments is a policy
// axis.
func sweepsPolicy(sweeps []string) bool {
	return slices.ContainsFunc(sweeps, func(arg string) bool { _, ok := policyAxisList(arg); return ok })
}

// parsePolicyAxis parses -sweep policy=NAME,NAME,...: each a policy the
// workload accepts, as -policy checks it. Its Values are the names'
// positions; its Texts the names.
func parsePolicyAxis(o *options, list string) (experiment.Axis, error) {
	if o.policy != "" {
		return experiment.Axis{}, fmt.Errorf("-policy %s is given too: sweep the policy or set it, not both", o.policy)
	}
	a := experiment.Axis{Name: policyAxis, Key: policyAxis}
	info, _ := experiment.FindWorkload(o.workload)
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			return experiment.Axis{}, fmt.Errorf("want policy=NAME,NAME,..., got an empty name")
		}
		if slices.Contains(a.Texts, name) {
			return experiment.Axis{}, fmt.Errorf("policy %s is listed twice", name)
		}
		if info.Systems != nil {
			if _, err := info.GhostPolicy(name); err != nil {
				return experiment.Axis{}, fmt.Errorf("workload %s: %v", o.workload, err)
			}
		} else if !knownPolicy(name) {
			return experiment.Axis{}, fmt.Errorf("unknown policy %q; %s", name, validPolicies())
		}
		a.Values = append(a.Values, float64(len(a.Texts)))
		a.Texts = append(a.Texts, name)
	}
	return a, nil
}

func has(keys []string, k string) bool {
	i := sort.SearchStrings(keys, k)
	return i < len(keys) && keys[i] == k
}

// cell formats m[k] with f, or returns "" when m has no k.
func cell(m map[string]float64, k string, f func(float64) string) string {
	v, ok := m[k]
	if !ok {
		return ""
	}
	return f(v)
}

// plainNumber writes v in full without an exponent where it can (1000000,
// 0.25), as the shortest text that reads back as v.
func plainNumber(v float64) string {
	if v != 0 && (v >= 1e21 || v <= -1e21 || (v < 1e-6 && v > -1e-6)) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// writeSweep writes DIR/results.jsonl (one result per line, as -json
// prints them) and DIR/sweep.csv (sweepColumns.csv), creating DIR.
func writeSweep(dir string, rs []*results.Result, cols sweepColumns) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("-out: %w", err)
	}
	jl, err := encodeLines(rs)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, sweepJSONL), jl, 0o644); err != nil {
		return fmt.Errorf("-out: %w", err)
	}
	c, err := cols.csv(rs)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, sweepCSV), c, 0o644); err != nil {
		return fmt.Errorf("-out: %w", err)
	}
	return nil
}

// encodeLines encodes results one per line, as -json prints them.
func encodeLines(rs []*results.Result) ([]byte, error) {
	var jl bytes.Buffer
	for _, r := range rs {
		b, err := r.JSON()
		if err != nil {
			return nil, fmt.Errorf("encoding the result: %w", err)
		}
		jl.Write(b)
		jl.WriteByte('\n')
	}
	return jl.Bytes(), nil
}
