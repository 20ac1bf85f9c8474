package cli

import (
	"flag"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/ghostsim/ghostsim/experiment/repro"
	"github.com/ghostsim/ghostsim/results"
)

// runRepro reproduces one of the paper's figures or tables, or all of
// them (repro all): it runs the part's experiments (experiment/repro), writes
// its data and plots, and prints each claim of docs/PAPER-CLAIMS.md with
// the measured numbers and PASS or FAIL. The exit code is 0 when every
// claim passes, 1 otherwise.
func runRepro(args []string, stdout, stderr io.Writer) int {
	return runReproParts(args, repro.Parts(), stdout, stderr)
}

// runReproParts is runRepro over the registered parts given (a test
// passes its own).
func runReproParts(args []string, parts []repro.Part, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ghostsim repro", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("out", "out", "write data and plots (and for all, report.md and report.html) into `DIR`")
	jobs := fs.Int("j", runtime.GOMAXPROCS(0), "run up to `N` simulations at once")
	quiet := fs.Bool("q", false, "no progress on stderr")
	formats := append(formatList(nil), defaultFormats...)
	fs.Var(&formats, "format", "write figures as `LIST`, comma-separated of png, svg and pdf (default png,svg)")
	shardArg := fs.String("shard", "", "run shard `I/N` of the part's runs (those whose index ≡ I mod N) and write\n"+
		"DIR/NAME-shard-I-of-N.jsonl for ghostsim merge (docs/SCALE-OUT.md); without it,\n"+
		"JOB_COMPLETION_INDEX (with -shards) or SLURM_ARRAY_TASK_ID choose the shard")
	shards := fs.Int("shards", 0, "the number of shards `N`, for a Kubernetes Indexed Job's JOB_COMPLETION_INDEX")
	var names []string
	for _, p := range parts {
		names = append(names, p.Name)
	}
	usage := func() {
		fmt.Fprintf(stdout, "usage: ghostsim repro [-out DIR] [-j N] [-q] [-format LIST] [-shard I/N] NAME\n\nNAME is one of:\n")
		w := 6
		for _, p := range parts {
			w = max(w, len(p.Name))
		}
		for _, p := range parts {
			fmt.Fprintf(stdout, "  %-*s  %s\n", w, p.Name, p.Summary)
		}
		fmt.Fprintf(stdout, "  %-*s  every part above but the studies, with report.md and report.html in DIR: each\n"+
			"  %*s  claim's PASS/FAIL and numbers, the figures, config hashes, version and wall time per part\n\nFlags:\n", w, "all", w, "")
		fs.SetOutput(stdout)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			usage()
			return exitOK
		}
		fmt.Fprintf(stderr, "ghostsim repro: %v\n", err)
		return exitUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "ghostsim repro: name one figure or table (%s) or all; see 'ghostsim repro -h'\n", strings.Join(names, ", "))
		return exitUsage
	}
	env := repro.Env{Jobs: *jobs}
	if !*quiet && isTerminal(stderr) {
		env.Progress = func(label string) func(done, total int) {
			return countProgress(true, stderr, label, "simulations")
		}
	}
	sh, err := resolveShard(*shardArg, *shards)
	if err != nil {
		fmt.Fprintf(stderr, "ghostsim repro: %v\n", err)
		return exitUsage
	}
	if fs.Arg(0) == "all" {
		if sh.N > 0 {
			fmt.Fprintf(stderr, "ghostsim repro: shard %d/%d from %s: shard one part at a time (repro -shard I/N NAME), not all\n", sh.I, sh.N, sh.from)
			return exitUsage
		}
		var paper []repro.Part
		for _, p := range parts {
			if !p.Study {
				paper = append(paper, p)
			}
		}
		return reproAll(paper, env, *out, formats, !*quiet, stdout, stderr)
	}
	var part *repro.Part
	for i := range parts {
		if parts[i].Name == fs.Arg(0) {
			part = &parts[i]
		}
	}
	if part == nil {
		fmt.Fprintf(stderr, "ghostsim repro: unknown figure %q (valid: %s, all)\n", fs.Arg(0), strings.Join(names, ", "))
		return exitUsage
	}
	if sh.N > 0 {
		return runReproShard(*part, env, sh, *out, *quiet, stderr)
	}
	res, _, err := reproPart(*part, env, *out, formats, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "ghostsim repro %s: %v\n", fs.Arg(0), err)
		return exitFailure
	}
	if printClaims(stdout, res.Claims) > 0 {
		return exitFailure
	}
	return exitOK
}

// reproPart runs one part, prints its table, writes its data files and
// figures (as each of formats) into dir and says what it wrote. It
// returns the result and the figures drawn (base names).
func reproPart(p repro.Part, env repro.Env, dir string, formats []string, stdout io.Writer) (*repro.Result, []string, error) {
	res, err := p.Run(env)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprint(stdout, res.Text)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	for _, f := range res.Files {
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
			return nil, nil, err
		}
	}
	figs, err := plotRepro(dir, res.Data, formats)
	if err != nil {
		return nil, nil, err
	}
	var files []string
	for _, f := range res.Files {
		files = append(files, filepath.Join(dir, f.Name))
	}
	switch {
	case len(figs) > 0:
		fmt.Fprintf(stdout, "wrote %s and %s as %s in %s\n", strings.Join(files, ", "), strings.Join(figs, ", "), strings.Join(formats, ", "), dir)
	case len(files) > 0:
		fmt.Fprintf(stdout, "wrote %s\n", strings.Join(files, ", "))
	}
	return res, figs, nil
}

// plotRepro draws the figures of a part's data into dir and returns their
// base names; a table's nil data draws none.
func plotRepro(dir string, data any, formats []string) ([]string, error) {
	switch d := data.(type) {
	case nil:
		return nil, nil
	case *repro.Fig5Data:
		return []string{"fig5"}, plotFig5(dir, d.Lines, formats)
	case *repro.Fig6Data:
		return plotFig6Panels(dir, d, formats)
	case *repro.Fig7Data:
		return plotFig7Panels(dir, d.Cells, formats)
	case *repro.Fig8Data:
		return plotFig8Panels(dir, d.Rows, formats)
	case *repro.BPFStudyData:
		return plotBPFStudy(dir, d, formats)
	default:
		return nil, fmt.Errorf("no figure for %T", data)
	}
}

// printClaims prints each claim with PASS or FAIL and returns how many
// fail.
func printClaims(w io.Writer, claims []repro.Claim) int {
	failed := 0
	if len(claims) == 0 {
		return 0 // a study
	}
	fmt.Fprintln(w, "\nclaims (docs/PAPER-CLAIMS.md):")
	for _, c := range claims {
		status := "PASS"
		if !c.OK {
			status, failed = "FAIL", failed+1
		}
		fmt.Fprintf(w, "  %s  %s: %s\n", status, c.What, c.Measured)
	}
	if failed > 0 {
		fmt.Fprintf(w, "%d of %d claims fail\n", failed, len(claims))
	}
	return failed
}

// printTable3 prints Table 3 from a microbench result.
func printTable3(w io.Writer, r *results.Result) { repro.PrintTable3(w, r) }

// plotFig5 draws txns/s against enclave CPUs, one line per machine.
func plotFig5(dir string, lines []repro.Fig5Line, formats []string) error {
	var names []string
	for _, l := range lines {
		names = append(names, l.Machine)
	}
	p, leg := newReproPlot("Fig 5 on "+strings.Join(names, ", ")+": scalability workload,\nglobal agent (round-robin, 5 yielding threads per CPU)",
		"CPUs in the enclave", "transactions committed (M/s)")
	for i, l := range lines {
		xy := make(plotter.XYs, len(l.CPUs))
		for j := range l.CPUs {
			xy[j].X, xy[j].Y = l.CPUs[j], l.TPS[j]/1e6
		}
		ln, err := plotter.NewLine(xy)
		if err != nil {
			return err
		}
		// A marker on every few points only: a line has one point per CPU.
		var marks plotter.XYs
		for j := i; j < len(xy); j += max(1, len(xy)/12) {
			marks = append(marks, xy[j])
		}
		pts, err := plotter.NewScatter(marks)
		if err != nil {
			return err
		}
		styleSeries(i, ln, pts)
		p.Add(ln, pts)
		leg.Add(l.Machine, ln, pts)
	}
	return saveFigure(p, leg, dir, "fig5", formats)
}

// newReproPlot starts a repro figure in the sweep figures' paper-column
// style (paperStyle; saveFigure puts the legend below the plot).
func newReproPlot(title, xlabel, ylabel string) (*plot.Plot, *plot.Legend) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.Add(plotter.NewGrid())
	p.X.Tick.Marker, p.Y.Tick.Marker = enoughTicks{}, enoughTicks{}
	paperStyle(p)
	leg := plot.NewLegend()
	return p, &leg
}

// enoughTicks labels a linear axis enough to read values off: every
// multiple of a round step (1, 2, 2.5 or 5 times a power of ten) chosen to
// give four to eight labels, with an unlabelled tick halfway between
// (gonum's default ticks may label two, or odd values such as 5, 25, 45).
type enoughTicks struct{}

func (enoughTicks) Ticks(min, max float64) []plot.Tick {
	if !(max > min) {
		return plot.DefaultTicks{}.Ticks(min, max)
	}
	span := max - min
	step := math.Pow10(int(math.Floor(math.Log10(span))) - 1)
	for _, m := range []float64{1, 2, 2.5, 5, 10, 20, 25, 50, 100} {
		if span/(m*step) <= 8 {
			step *= m
			break
		}
	}
	var out []plot.Tick
	for k := math.Ceil(min / (step / 2)); k*step/2 <= max*(1+1e-12); k++ {
		v := k * step / 2
		t := plot.Tick{Value: v}
		if int64(k)%2 == 0 {
			t.Label = strconv.FormatFloat(math.Round(v*1e9)/1e9, 'f', -1, 64)
		}
		out = append(out, t)
	}
	return out
}

// barFills are bar colours whose lightness rises steadily (viridis), so
// that bars read apart in grayscale; each bar also has a black outline.
var barFills = []color.Color{
	color.RGBA{R: 0x44, G: 0x01, B: 0x54, A: 0xff},
	color.RGBA{R: 0x3b, G: 0x52, B: 0x8b, A: 0xff},
	color.RGBA{R: 0x21, G: 0x90, B: 0x8d, A: 0xff},
	color.RGBA{R: 0x5d, G: 0xc8, B: 0x63, A: 0xff},
	color.RGBA{R: 0xfd, G: 0xe7, B: 0x25, A: 0xff},
}

// barFill is the fill of bar series i of n: n steps of viridis from dark
// to light.
func barFill(i, n int) color.Color {
	if n <= 1 {
		return barFills[0]
	}
	f := float64(i) / float64(n-1) * float64(len(barFills)-1)
	k := min(int(f), len(barFills)-2)
	a, b := barFills[k].(color.RGBA), barFills[k+1].(color.RGBA)
	t := f - float64(k)
	mix := func(x, y uint8) uint8 { return uint8(float64(x) + t*(float64(y)-float64(x)) + 0.5) }
	return color.RGBA{R: mix(a.R, b.R), G: mix(a.G, b.G), B: mix(a.B, b.B), A: 0xff}
}

// addGroupedBars draws a group of bars of width w at each of the x axis's
// nominal positions 0 .. groups-1 (the paper's grouped bar charts): one
// bar per series, value(series, group) high, side by side, each series
// with its fill and outline and its legend entry. It sets the x range to
// the groups and the y range from 0 to just above the tallest bar.
func addGroupedBars(p *plot.Plot, leg *plot.Legend, series []string, groups int, w vg.Length, value func(series, group int) float64) error {
	n, top := len(series), 0.0
	for s, name := range series {
		vals := make(plotter.Values, groups)
		for g := range vals {
			vals[g] = value(s, g)
			top = max(top, vals[g])
		}
		b, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return err
		}
		b.Color = barFill(s, n)
		b.LineStyle.Width = vg.Points(0.4)
		b.LineStyle.Color = color.Black
		b.Offset = vg.Length(2*s-(n-1)) * w / 2
		p.Add(b)
		leg.Add(name, b)
	}
	p.X.Min, p.X.Max = -0.5, float64(groups)-0.5
	p.Y.Min, p.Y.Max = 0, 1.05*top
	return nil
}

var plotColors = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
	color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff},
	color.RGBA{R: 0xe3, G: 0x77, B: 0xc2, A: 0xff},
	color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff},
}
