package cli

import (
	"image/color"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/ghostsim/ghostsim/experiment/repro"
)

// plotFig8Panels draws Fig 8's throughput and tail panels, normalized to
// CFS (experiment/repro's Fig8 computes their data; fig8.csv holds it),
// and returns their names.
func plotFig8Panels(dir string, rows []repro.Fig8Row, formats []string) ([]string, error) {
	cfs := rows[repro.Fig8CFS]
	if err := plotFig8(dir, "fig8-throughput", "8a–c on rome256: Search throughput", "throughput / CFS's", rows, func(r repro.Fig8Row, t string) float64 {
		return r.Tput[t] / cfs.Tput[t]
	}, formats); err != nil {
		return nil, err
	}
	if err := plotFig8(dir, "fig8-p99", "8d–f on rome256: Search p99 latency", "p99 latency / CFS's", rows, func(r repro.Fig8Row, t string) float64 {
		return r.P99[t] / cfs.P99[t]
	}, formats); err != nil {
		return nil, err
	}
	return []string{"fig8-throughput", "fig8-p99"}, nil
}

// plotFig8 draws one panel: for each query type a group of bars, one per
// system, of value(row, type), with a line at 1 (CFS).
func plotFig8(dir, file, title, ylabel string, rows []repro.Fig8Row, value func(repro.Fig8Row, string) float64, formats []string) error {
	p, leg := newReproPlot("Fig "+title+",\nCFS vs the search policy and its ablations", "query type", ylabel+" (ratio)")
	names := make([]string, len(repro.Fig8Systems))
	for i, sys := range repro.Fig8Systems {
		names[i] = sys.Name
	}
	if err := addGroupedBars(p, leg, names, len(repro.Fig8Types), vg.Points(6), func(s, i int) float64 {
		return value(rows[s], repro.Fig8Types[i])
	}); err != nil {
		return err
	}
	one := plotter.NewFunction(func(float64) float64 { return 1 })
	one.Dashes = []vg.Length{vg.Points(3), vg.Points(2)}
	one.Color = color.Gray{Y: 64}
	one.Width = vg.Points(0.6)
	p.Add(one)
	p.NominalX(repro.Fig8Types...)
	return saveFigure(p, leg, dir, file, formats)
}
