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
	n := len(repro.Fig8Systems)
	w := vg.Points(6)
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
		styleBars(b, s, n)
		b.Offset = vg.Length(2*s-(n-1)) * w / 2
		p.Add(b)
		leg.Add(sys.Name, b)
	}
	one := plotter.NewFunction(func(float64) float64 { return 1 })
	one.Dashes = []vg.Length{vg.Points(3), vg.Points(2)}
	one.Color = color.Gray{Y: 64}
	one.Width = vg.Points(0.6)
	p.Add(one)
	p.NominalX(repro.Fig8Types...)
	p.X.Min, p.X.Max = -0.5, float64(len(repro.Fig8Types))-0.5
	p.Y.Min, p.Y.Max = 0, 1.05*top
	return saveFigure(p, leg, dir, file, formats)
}
