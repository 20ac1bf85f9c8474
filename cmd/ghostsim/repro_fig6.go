package main

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
// computes their data) and returns their names.
func plotFig6Panels(dir string, d *repro.Fig6Data) ([]string, error) {
	panels := []struct {
		file, title string
		lines       []int
		batch       bool
	}{
		{"fig6a", "6a: p99 latency vs throughput", []int{0, 1, 2}, false},
		{"fig6b", "6b: ghOSt-Shinjuku with and without Shenango", []int{1, 3}, false},
		{"fig6c", "6c: CPUs used by the batch app vs offered load", []int{0, 3, 4}, true},
	}
	var figs []string
	for _, p := range panels {
		if err := plotFig6(dir, p.file, p.title, d.Lines, d.Knees, p.lines, p.batch); err != nil {
			return nil, err
		}
		figs = append(figs, p.file)
	}
	return figs, nil
}

// plotFig6 draws one panel: p99 (log scale) against throughput, or the
// batch app's CPUs against offered load.
func plotFig6(dir, file, title string, lines []repro.Fig6Line, knees [][]repro.XY, which []int, batch bool) error {
	p := plot.New()
	p.Title.Text = title
	if batch {
		p.X.Label.Text = "offered load (k requests/s)"
		p.Y.Label.Text = "CPUs used by the batch app"
	} else {
		p.X.Label.Text = "throughput (k requests/s)"
		p.Y.Label.Text = "p99 latency (µs)"
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	p.Add(plotter.NewGrid())
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
		ln.Color = plotColors[n%len(plotColors)]
		pts.Color = ln.Color
		p.Add(ln, pts)
		p.Legend.Add(l.Label, ln, pts)
		if !batch && len(knees[i]) > 0 {
			// The knee measured again over longer windows: what the
			// saturation claims use.
			kxy := make(plotter.XYs, len(knees[i]))
			for j, k := range knees[i] {
				kxy[j] = plotter.XY{X: k.X, Y: k.Y}
			}
			sc, err := plotter.NewScatter(kxy)
			if err != nil {
				return err
			}
			sc.Color = ln.Color
			sc.Shape = draw.TriangleGlyph{}
			sc.Radius = vg.Points(4)
			p.Add(sc)
			p.Legend.Add(fmt.Sprintf("%s, %d s windows", l.Label, repro.Fig6RefineMs/1000), sc)
		}
	}
	if !batch {
		sat := plotter.NewFunction(func(float64) float64 { return 1000 })
		sat.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		sat.Color = color.Gray{Y: 96}
		p.Add(sat)
		p.Legend.Add("p99 = 1 ms (saturation)", sat)
	}
	p.Legend.Top = true
	p.Legend.Left = !batch
	return savePlot(p, 7*vg.Inch, 4.5*vg.Inch, dir, file)
}
