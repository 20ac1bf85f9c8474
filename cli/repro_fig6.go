package cli

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/ghostsim/ghostsim/experiment/repro"
)

// plotFig6Panels draws Fig 6's three panels (experiment/repro's Fig6
// computes their data; fig6.csv and fig6-knee.csv hold it) and returns
// their names.
func plotFig6Panels(dir string, d *repro.Fig6Data, formats []string) ([]string, error) {
	panels := []struct {
		file, title string
		lines       []int
		batch       bool
	}{
		{"fig6a", "6a on xeon48, RocksDB: p99 latency vs throughput,\nShinjuku, ghOSt-Shinjuku and CFS-Shinjuku", []int{0, 1, 2}, false},
		{"fig6b", "6b on xeon48, RocksDB: p99 latency vs throughput,\nghOSt-Shinjuku with and without Shenango", []int{1, 3}, false},
		{"fig6c", "6c on xeon48, RocksDB with a batch app:\nthe batch app's CPUs under Shinjuku, ghOSt, CFS", []int{0, 3, 4}, true},
	}
	var figs []string
	for _, p := range panels {
		if err := plotFig6(dir, p.file, p.title, d.Lines, d.Knees, p.lines, p.batch, formats); err != nil {
			return nil, err
		}
		figs = append(figs, p.file)
	}
	return figs, nil
}

// plotFig6 draws one panel: p99 (log scale) against throughput, or the
// batch app's CPUs against offered load; one line per system, styled as a
// sweep's lines (styleSeries), the legend below.
func plotFig6(dir, file, title string, lines []repro.Fig6Line, knees [][]repro.XY, which []int, batch bool, formats []string) error {
	xl, yl := "throughput (k requests/s)", "p99 latency (µs)"
	if batch {
		xl, yl = "offered load (k requests/s)", "CPUs used by the batch app"
	}
	p, leg := newReproPlot("Fig "+title, xl, yl)
	if !batch {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
	}
	var kneeAll plotter.XYs
	for n, i := range which {
		l := lines[i]
		var xy plotter.XYs
		for j := range l.Load {
			if batch {
				xy = append(xy, plotter.XY{X: l.Load[j] / 1e3, Y: l.Batch[j]})
			} else if l.P99[j] > 0 {
				xy = append(xy, plotter.XY{X: l.Tput[j] / 1e3, Y: l.P99[j]})
			}
		}
		ln, pts, err := plotter.NewLinePoints(xy)
		if err != nil {
			return err
		}
		styleSeries(n, ln, pts)
		p.Add(ln, pts)
		leg.Add(l.Label, ln, pts)
		if !batch {
			for _, k := range knees[i] {
				kneeAll = append(kneeAll, plotter.XY{X: k.X, Y: k.Y})
			}
		}
	}
	if len(kneeAll) > 0 {
		// The knee measured again over longer windows: what the
		// saturation claims use.
		sc, err := plotter.NewScatter(kneeAll)
		if err != nil {
			return err
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: color.Black, Radius: vg.Points(4), Shape: draw.RingGlyph{}}
		p.Add(sc)
		leg.Add(fmt.Sprintf("knee measured over %d s windows", repro.Fig6RefineMs/1000), sc)
	}
	if !batch {
		sat := plotter.NewFunction(func(float64) float64 { return 1000 })
		sat.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		sat.Color = color.Gray{Y: 96}
		sat.Width = vg.Points(0.8)
		p.Add(sat)
		leg.Add("p99 = 1 ms (saturation)", sat)
	}
	return saveFigure(p, leg, dir, file, formats)
}
