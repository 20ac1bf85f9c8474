package cli

import (
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/ghostsim/ghostsim/experiment/repro"
)

// bpfStudyWidth is the BPF study's figure width: a full page width (two
// columns), for its six panels.
const bpfStudyWidth = 7 * vg.Inch

// plotBPFStudy draws docs/BPF-STUDY.md's figure (experiment/repro's
// BPFStudy computes its data; bpf-study.csv holds it): six panels in two
// rows, each against the agent's per-operation cost on a log axis — the
// scheduling gap, the A, B and C p99, throughput and the agent loop's
// p50 — with one line without and one with the BPF fast path, in the
// sweep figures' style (styleSeries, paperStyle), one legend below.
func plotBPFStudy(dir string, d *repro.BPFStudyData, formats []string) ([]string, error) {
	panels := []struct {
		title, ylabel string
		logY          bool
		value         func(repro.BPFStudyRow) float64
	}{
		{"scheduling gap", "idle CPUs with work waiting", false, func(r repro.BPFStudyRow) float64 { return r.GapCPUs }},
		{"A queries", "p99 latency (µs)", true, func(r repro.BPFStudyRow) float64 { return r.P99[0] }},
		{"B queries", "p99 latency (µs)", true, func(r repro.BPFStudyRow) float64 { return r.P99[1] }},
		{"C queries", "p99 latency (µs)", true, func(r repro.BPFStudyRow) float64 { return r.P99[2] }},
		{"throughput", "queries per second (k/s)", false, func(r repro.BPFStudyRow) float64 { return r.QPS / 1000 }},
		{"agent loop", "loop p50 (µs)", true, func(r repro.BPFStudyRow) float64 { return r.LoopP50 }},
	}
	leg := plot.NewLegend()
	var plots [][]*plot.Plot
	for i, pn := range panels {
		p := plot.New()
		p.Title.Text = pn.title
		p.X.Label.Text = "agent cycles per operation"
		p.Y.Label.Text = pn.ylabel
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = cycleTicks{}
		p.Y.Tick.Marker = enoughTicks{}
		if pn.logY {
			p.Y.Scale = plot.LogScale{}
			p.Y.Tick.Marker = logTicks{}
		}
		p.Add(plotter.NewGrid())
		for s, bpf := range []bool{false, true} {
			var xy plotter.XYs
			for _, r := range d.Rows {
				if v := pn.value(r); r.BPF == bpf && (!pn.logY || v > 0) {
					xy = append(xy, plotter.XY{X: float64(r.Cycles), Y: v})
				}
			}
			ln, pts, err := plotter.NewLinePoints(xy)
			if err != nil {
				return nil, err
			}
			styleSeries(s, ln, pts)
			p.Add(ln, pts)
			if i == 0 {
				leg.Add(map[bool]string{false: "the agent only", true: "with the BPF fast path (per-CCX rings, pick_next_task program)"}[bpf], ln, pts)
			}
		}
		paperStyle(p)
		if i%3 == 0 {
			plots = append(plots, nil)
		}
		plots[len(plots)-1] = append(plots[len(plots)-1], p)
	}
	title := "Search on rome256 under the search policy: the BPF fast path as the agent's loop grows"
	leg.TextStyle.Font.Size = vg.Points(textPt)
	leg.ThumbnailWidth = vg.Points(22)
	leg.Top, leg.Left = true, true
	legH := leg.Rectangle(draw.Canvas{Rectangle: vg.Rectangle{Max: vg.Point{X: bpfStudyWidth, Y: vg.Inch}}}).Size().Y + vg.Points(6)
	titleH := vg.Points(titlePt + 8)
	gridH := 2 * 2.1 * vg.Inch
	h := titleH + gridH + legH
	draw1 := func(c draw.Canvas) {
		c.FillText(draw.TextStyle{Color: plots[0][0].Title.TextStyle.Color, Font: plots[0][0].Title.TextStyle.Font, Handler: plots[0][0].Title.TextStyle.Handler, XAlign: draw.XCenter, YAlign: draw.YTop},
			vg.Point{X: c.Center().X, Y: c.Max.Y - vg.Points(2)}, title)
		grid := draw.Crop(c, 0, 0, legH, -titleH)
		tiles := draw.Tiles{Rows: 2, Cols: 3, PadX: vg.Points(10), PadY: vg.Points(8)}
		canvases := plot.Align(plots, tiles, grid)
		for r := range plots {
			for k := range plots[r] {
				plots[r][k].Draw(canvases[r][k])
			}
		}
		lc := draw.Crop(c, 0, 0, 0, -(c.Max.Y - c.Min.Y - legH))
		leg.Draw(draw.Crop(lc, vg.Points(40), 0, 0, -vg.Points(2)))
	}
	if err := writeFormats(draw1, bpfStudyWidth, h, dir, "bpf-study", formats); err != nil {
		return nil, err
	}
	return []string{"bpf-study"}, nil
}

// cycleTicks labels the study's per-operation costs on a log axis: a tick
// at each, labelled where the labels do not crowd.
type cycleTicks struct{}

func (cycleTicks) Ticks(min, max float64) []plot.Tick {
	var ts []plot.Tick
	for _, c := range repro.BPFStudyCycles {
		if v := float64(c); v >= min && v <= max {
			t := plot.Tick{Value: v}
			if c != 300 && c != 2000 { // too close to 500 and 5000 on a log axis
				t.Label = strconv.Itoa(c)
			}
			ts = append(ts, t)
		}
	}
	return ts
}
