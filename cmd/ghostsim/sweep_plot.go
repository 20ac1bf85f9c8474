package main

import (
	"fmt"
	"image/color"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/ghostsim/ghostsim/results"
)

// Files a sweep's figure is written to, beside results.jsonl and sweep.csv.
const sweepPlot = "sweep"

// plotSweep draws a sweep's main figure as sweep.png and sweep.svg: along
// the first point column, the p99 latency of class "all" (log scale), or,
// for a sweep without request latencies (such as scalability), its first
// metric; one line per combination of the other point columns, in the
// order the points come. A saturated point's p99 is a lower bound: it is
// ringed in black, with a legend entry saying so. It draws nothing for fewer
// than two points.
func plotSweep(dir string, rs []*results.Result, c sweepColumns) (bool, error) {
	if len(rs) < 2 || len(c.point) == 0 {
		return false, nil
	}
	x := c.point[0]
	var (
		yName string
		y     func(*results.Result) (float64, bool)
		logY  bool
	)
	switch {
	case has(c.classes, "all"):
		yName, logY = "p99 latency, all requests (µs)", true
		y = func(r *results.Result) (float64, bool) {
			s, ok := r.Latency["all"]
			return float64(s.P99) / 1000, ok && s.Count > 0 && s.P99 > 0
		}
	case len(c.metrics) > 0:
		m := c.metrics[0]
		yName = m
		y = func(r *results.Result) (float64, bool) { v, ok := r.Metrics[m]; return v, ok }
	default:
		return false, nil
	}
	var keys []string
	series := map[string]plotter.XYs{}
	var saturated plotter.XYs
	for _, r := range rs {
		var parts []string
		for _, k := range c.point[1:] {
			parts = append(parts, fmt.Sprintf("%s=%s", k, plainNumber(r.Point[k])))
		}
		key := strings.Join(parts, ", ")
		v, ok := y(r)
		if !ok {
			continue
		}
		if _, seen := series[key]; !seen {
			keys = append(keys, key)
		}
		series[key] = append(series[key], plotter.XY{X: r.Point[x], Y: v})
		if r.Saturated && logY {
			saturated = append(saturated, plotter.XY{X: r.Point[x], Y: v})
		}
	}
	if len(keys) == 0 {
		return false, nil
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s, %s vs %s", rs[0].Workload, yName, x)
	p.X.Label.Text = x
	p.Y.Label.Text = yName
	if logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	p.Add(plotter.NewGrid())
	for i, key := range keys { // in the points' order: deterministic
		ln, pts, err := plotter.NewLinePoints(series[key])
		if err != nil {
			return false, err
		}
		ln.Color = plotColors[i%len(plotColors)]
		pts.Color = ln.Color
		p.Add(ln, pts)
		if key != "" {
			p.Legend.Add(key, ln, pts)
		}
	}
	if len(saturated) > 0 {
		sc, err := plotter.NewScatter(saturated)
		if err != nil {
			return false, err
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: color.Black, Radius: vg.Points(7), Shape: draw.RingGlyph{}}
		p.Add(sc)
		p.Legend.Add("saturated: p99 is a lower bound", sc)
	}
	p.Legend.Top, p.Legend.Left = true, true
	if err := savePlot(p, 7*vg.Inch, 4.5*vg.Inch, dir, sweepPlot); err != nil {
		return false, fmt.Errorf("-out: %w", err)
	}
	return true, nil
}
