package main

import (
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/ghostsim/ghostsim/experiment/repro"
)

// plotFig8Panels draws Fig 8's throughput and tail panels, normalized to
// CFS (experiment/repro's Fig8 computes their data), and returns their
// names.
func plotFig8Panels(dir string, rows []repro.Fig8Row) ([]string, error) {
	cfs := rows[repro.Fig8CFS]
	if err := plotFig8(dir, "fig8-throughput", "8a–c: throughput normalized to CFS", "throughput / CFS", rows, func(r repro.Fig8Row, t string) float64 {
		return r.Tput[t] / cfs.Tput[t]
	}); err != nil {
		return nil, err
	}
	if err := plotFig8(dir, "fig8-p99", "8d–f: p99 latency normalized to CFS", "p99 / CFS", rows, func(r repro.Fig8Row, t string) float64 {
		return r.P99[t] / cfs.P99[t]
	}); err != nil {
		return nil, err
	}
	return []string{"fig8-throughput", "fig8-p99"}, nil
}

// plotFig8 draws one panel: for each query type a group of bars, one per
// system, of value(row, type).
func plotFig8(dir, file, title, ylabel string, rows []repro.Fig8Row, value func(repro.Fig8Row, string) float64) error {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.X.Label.Text = "query type"
	p.Add(plotter.NewGrid())
	w := vg.Points(12)
	top := 0.0
	for s, sys := range repro.Fig8Systems {
		vals := make(plotter.Values, len(repro.Fig8Types))
		for i, t := range repro.Fig8Types {
			vals[i] = value(rows[s], t)
			top = max(top, vals[i])
		}
		b, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return err
		}
		b.Color = plotColors[s%len(plotColors)]
		b.LineStyle.Width = 0
		b.Offset = vg.Length(s-len(repro.Fig8Systems)/2) * w
		p.Add(b)
		p.Legend.Add(sys.Name, b)
	}
	p.NominalX(repro.Fig8Types...)
	// Room above the tallest bar for the legend, so it covers no data.
	p.Y.Min, p.Y.Max = 0, 1.5*top
	p.Legend.Top = true
	return savePlot(p, 8*vg.Inch, 4.5*vg.Inch, dir, file)
}
