package main

import (
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/ghostsim/ghostsim/experiment/repro"
)

// plotFig7Panels draws Fig 7's panels, one per mode and size
// (experiment/repro's Fig7 computes their data), and returns their names.
func plotFig7Panels(dir string, cells [][][]repro.Fig7Cell) ([]string, error) {
	var figs []string
	for m := range repro.Fig7Modes {
		for z := range repro.Fig7Sizes {
			if err := plotFig7(dir, m, z, cells); err != nil {
				return nil, err
			}
			figs = append(figs, fmt.Sprintf("fig7-%s-%s", repro.Fig7Modes[m], repro.Fig7Sizes[z]))
		}
	}
	return figs, nil
}

// plotFig7 draws one panel: grouped bars per percentile, one per system,
// as the paper's Fig 7.
func plotFig7(dir string, m, z int, cells [][][]repro.Fig7Cell) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Fig 7: %s mode, %s messages", repro.Fig7Modes[m], repro.Fig7Sizes[z])
	p.Y.Label.Text = "round trip (µs)"
	p.X.Label.Text = "percentile"
	p.Add(plotter.NewGrid())
	w := vg.Points(14)
	top := 0.0
	for s, sys := range repro.Fig7Systems {
		vals := make(plotter.Values, len(repro.Fig7Pcts))
		for i := range repro.Fig7Pcts {
			vals[i] = cells[m][s][z].US[i]
			top = max(top, vals[i])
		}
		b, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return err
		}
		b.Color = plotColors[s%len(plotColors)]
		b.LineStyle.Width = 0
		b.Offset = vg.Length(2*s-1) * w / 2
		p.Add(b)
		p.Legend.Add(sys.Name, b)
	}
	p.NominalX(repro.Fig7Pcts...)
	p.Y.Min, p.Y.Max = 0, 1.4*top
	p.Legend.Top = true
	return savePlot(p, 6*vg.Inch, 4*vg.Inch, dir, fmt.Sprintf("fig7-%s-%s", repro.Fig7Modes[m], repro.Fig7Sizes[z]))
}
