package cli

import (
	"flag"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/ghostsim/ghostsim/results"
	"github.com/ghostsim/ghostsim/sim"
)

// Files a sweep's figure is written to, beside results.jsonl and sweep.csv.
const sweepPlot = "sweep"

// policyAxis is the -sweep name that sweeps the ghOSt policy
// (-sweep policy=fifo-central,fifo-percpu): a point column whose value is
// the result's policy, not a number of its point.
const policyAxis = "policy"

// The paper-column figure style: 3.3 in wide, 8–9 pt text, PNG at 300 dpi.
const (
	paperWidth = 3.3 * vg.Inch
	titlePt    = 9
	textPt     = 8
	pngDPI     = 300
)

// figureFormats are the formats -format accepts.
var figureFormats = []string{"png", "svg", "pdf"}

// defaultFormats are the figure formats written without -format.
var defaultFormats = []string{"png", "svg"}

func init() {
	// A PDF records its creation and modification times unless told
	// otherwise; fixed ones keep every output deterministic (a merged
	// sweep's figure is byte-identical to an unsharded run's).
	fixed := time.Date(2021, 10, 26, 0, 0, 0, 0, time.UTC) // SOSP'21
	fpdf.SetDefaultCreationDate(fixed)
	fpdf.SetDefaultModificationDate(fixed)
	fpdf.SetDefaultCatalogSort(true)
}

// parseFormats parses -format's comma-separated list of png, svg, pdf.
func parseFormats(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		if !slices.Contains(figureFormats, f) {
			return nil, fmt.Errorf("-format %q: %q is not one of %s", s, f, strings.Join(figureFormats, ", "))
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out, nil
}

// plotFlags are -plot and -format: what a sweep's figure shows and the
// files it is written as.
type plotFlags struct {
	plotArg, formatArg string
	// stat and class choose the plotted value: a latency statistic of a
	// class, "throughput" (class: the throughput key), or "metric"
	// (class: the metric's name); stat "" is the default (p99 of "all",
	// or the first metric of a sweep without latencies).
	stat, class string
	formats     []string
}

func (f *plotFlags) declare(fs *flag.FlagSet) {
	fs.StringVar(&f.plotArg, "plot", "", "plot `METRIC[:CLASS]` in a sweep's figure: a latency statistic (mean, p50, p90, p99,\n"+
		"p99.9, p99.99, max) of a latency class (default all), such as p99.9:short;\n"+
		"throughput[:KEY] (default requests_per_s); or metric:NAME (default p99:all,\n"+
		"or the first metric of a sweep without request latencies)")
	fs.StringVar(&f.formatArg, "format", strings.Join(defaultFormats, ","), "write figures as `LIST`, comma-separated of png, svg and pdf")
}

// parse checks -plot and -format.
func (f *plotFlags) parse() error {
	formats, err := parseFormats(f.formatArg)
	if err != nil {
		return err
	}
	f.formats = formats
	stat, class, err := parsePlot(f.plotArg)
	if err != nil {
		return err
	}
	f.stat, f.class = stat, class
	return nil
}

// parsePlot parses -plot METRIC[:CLASS] into the statistic and class.
func parsePlot(s string) (stat, class string, err error) {
	if s == "" {
		return "", "", nil
	}
	stat, class, hasClass := strings.Cut(strings.TrimSpace(s), ":")
	stat, class = strings.TrimSpace(stat), strings.TrimSpace(class)
	if hasClass && class == "" {
		return "", "", fmt.Errorf("-plot %q: empty class after ':'", s)
	}
	switch {
	case slices.Contains(sim.SummaryStats, stat):
		if !hasClass {
			class = "all"
		}
	case stat == "throughput":
		if !hasClass {
			class = "requests_per_s"
		}
	case stat == "metric":
		if !hasClass {
			return "", "", fmt.Errorf("-plot %q: name the metric, as metric:NAME", s)
		}
	default:
		return "", "", fmt.Errorf("-plot %q: %q is not one of %s, throughput or metric", s, stat, strings.Join(sim.SummaryStats, ", "))
	}
	return stat, class, nil
}

// figureNote names the figure files written, for the line on stderr.
func figureNote(dir string, plotted bool, why string, formats []string) string {
	if !plotted && why != "" {
		return "; no figure: " + why
	}
	if !plotted || len(formats) == 0 {
		return ""
	}
	base := joinPath(dir, sweepPlot)
	if len(formats) == 1 {
		return " and " + base + "." + formats[0]
	}
	return ", " + base + "." + formats[0] + " and ." + strings.Join(formats[1:], ", .")
}

// plotValue is the value a sweep's figure plots.
type plotValue struct {
	label string // y axis label, with its unit
	logY  bool
	get   func(*results.Result) (float64, bool)
	lower bool // a saturated point's value is a lower bound
}

// choosePlot returns what pf says to plot of c's results, ok false when a
// default finds nothing to plot.
func choosePlot(c sweepColumns, pf plotFlags) (v plotValue, ok bool, err error) {
	stat, class := pf.stat, pf.class
	if stat == "" {
		switch {
		case has(c.classes, "all"):
			stat, class = "p99", "all"
		case len(c.metrics) > 0:
			stat, class = "metric", c.metrics[0]
		default:
			return v, false, nil
		}
	}
	switch stat {
	case "throughput":
		if !has(c.throughput, class) {
			return v, false, fmt.Errorf("-plot throughput:%s: the results have no throughput %q (they have: %s)", class, class, strings.Join(c.throughput, ", "))
		}
		v.label = "throughput (k " + strings.ReplaceAll(strings.TrimSuffix(class, "_per_s"), "_", " ") + "/s)"
		if !strings.HasSuffix(class, "_per_s") {
			v.label = "throughput, " + class + " (thousands)"
		}
		v.get = func(r *results.Result) (float64, bool) { x, ok := r.Throughput[class]; return x / 1000, ok }
	case "metric":
		if !has(c.metrics, class) {
			return v, false, fmt.Errorf("-plot metric:%s: the results have no metric %q (they have: %s)", class, class, strings.Join(c.metrics, ", "))
		}
		v.label = metricLabel(class)
		v.get = func(r *results.Result) (float64, bool) { x, ok := r.Metrics[class]; return x, ok }
	default:
		if !has(c.classes, class) {
			return v, false, fmt.Errorf("-plot %s:%s: the results have no latency class %q (they have: %s)", stat, class, class, strings.Join(c.classes, ", "))
		}
		// Short enough to fit the plot's height at 8 pt.
		v.label = fmt.Sprintf("%s latency (µs)", stat)
		if class != "all" {
			v.label = fmt.Sprintf("%s latency, %s (µs)", stat, class)
		}
		v.logY, v.lower = true, true
		v.get = func(r *results.Result) (float64, bool) {
			s, ok := r.Latency[class]
			x, _ := s.Stat(stat)
			return x / 1000, ok && s.Count > 0 && x > 0
		}
	}
	return v, true, nil
}

// metricLabel words a metric's name for an axis: txns_per_s becomes
// "txns per s", a trailing _ns, _us or _ms a unit.
func metricLabel(name string) string {
	for _, u := range [][2]string{{"_ns", "ns"}, {"_us", "µs"}, {"_ms", "ms"}, {"_per_s", "/s"}} {
		if base, ok := strings.CutSuffix(name, u[0]); ok {
			if u[1] == "/s" {
				return strings.ReplaceAll(base, "_", " ") + " per second"
			}
			return strings.ReplaceAll(base, "_", " ") + " (" + u[1] + ")"
		}
	}
	return strings.ReplaceAll(name, "_", " ")
}

// lastElement is a config key's last element: workload.group[0].threads
// gives "threads", load "load".
func lastElement(key string) string {
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		key = key[i+1:]
	}
	if i := strings.IndexByte(key, '['); i >= 0 {
		key = key[:i]
	}
	return key
}

// isRate reports whether a point key is a request rate, plotted in k/s.
func isRate(key string) bool {
	e := lastElement(key)
	return e == "load" || e == "rate_per_s"
}

// axisLabel words a point key for the x axis, with its unit: load is
// "offered load (k requests/s)", workload.group[0].threads "threads".
func axisLabel(key string) string {
	e := lastElement(key)
	switch {
	case isRate(key):
		return "offered load (k requests/s)"
	case e == "cpus":
		return "CPUs in the enclave"
	}
	return metricLabel(e)
}

// axisScale is the factor a point key's values are plotted at.
func axisScale(key string) float64 {
	if isRate(key) {
		return 1e-3
	}
	return 1
}

// legendWords words one point value for a legend: "8 threads",
// "1 thread", "40k requests/s", "time slice 5 ms", "seed 3", or the
// policy's name.
func legendWords(key string, r *results.Result) string {
	if key == policyAxis {
		return policyName(r.Policy)
	}
	v := r.Point[key]
	num := plainNumber(v)
	e := lastElement(key)
	switch {
	case isRate(key):
		return plainNumber(v/1000) + "k requests/s"
	case strings.HasSuffix(e, "s") && !strings.Contains(e, "_"):
		// A count: threads, cpus, clients, workers.
		word := e
		if e == "cpus" {
			word = "CPUs"
		}
		if v == 1 {
			word = strings.TrimSuffix(word, "s")
		}
		return num + " " + word
	}
	for _, u := range [][2]string{{"_ns", "ns"}, {"_us", "µs"}, {"_ms", "ms"}} {
		if base, ok := strings.CutSuffix(e, u[0]); ok {
			return strings.ReplaceAll(base, "_", " ") + " " + num + " " + u[1]
		}
	}
	return strings.ReplaceAll(e, "_", " ") + " " + num
}

// figureTitle names the machine, workload and policy (or policies) of a
// sweep's results.
func figureTitle(rs []*results.Result) string {
	var pols []string
	for _, r := range rs {
		if p := policyName(r.Policy); !slices.Contains(pols, p) {
			pols = append(pols, p)
		}
	}
	policy := "policy " + strings.Join(pols, ", ")
	if len(pols) > 1 {
		policy = "policies " + strings.Join(pols, " vs ")
	} else if pols[0] == "none" {
		policy = "no ghOSt policy"
	}
	return fmt.Sprintf("%s: %s, %s", rs[0].Machine, rs[0].Workload, policy)
}

// plotSweep draws a sweep's main figure as sweep.png, .svg and/or .pdf
// (pf.formats), in the paper-column style (paperStyle): along the first
// point column, what pf chooses (default: the p99 latency of class "all",
// log scale, or for a sweep without request latencies, such as
// scalability, its first metric); one line per combination of the other
// point columns, in the order the points come, its legend entry in words
// ("8 threads") below the plot. A saturated point's latency is a lower
// bound: it is ringed, with a legend entry saying so. It draws nothing for
// fewer than two points.
// When it draws nothing for a reason the user may not expect, why says it.
func plotSweep(dir string, rs []*results.Result, c sweepColumns, pf plotFlags) (plotted bool, why string, err error) {
	switch {
	case len(pf.formats) == 0 || len(c.point) == 0:
		return false, "", nil
	case len(rs) < 2:
		return false, "the sweep has one point", nil
	}
	val, ok, err := choosePlot(c, pf)
	if err != nil || !ok {
		return false, "its results have nothing to plot", err
	}
	// x is the first numeric point column; the others tell the lines apart.
	x, others := "", []string(nil)
	for _, k := range c.point {
		if x == "" && k != policyAxis {
			x = k
		} else {
			others = append(others, k)
		}
	}
	if x == "" {
		return false, "a sweep over policies alone has no axis to plot along (add a numeric -sweep, such as load=...)", nil
	}
	xs := axisScale(x)
	xval := func(r *results.Result) float64 { return r.Point[x] * xs }
	var keys []string
	series := map[string]plotter.XYs{}
	var saturated plotter.XYs
	for _, r := range rs {
		var parts []string
		for _, k := range others {
			parts = append(parts, legendWords(k, r))
		}
		key := strings.Join(parts, ", ")
		v, ok := val.get(r)
		if !ok {
			continue
		}
		if _, seen := series[key]; !seen {
			keys = append(keys, key)
		}
		series[key] = append(series[key], plotter.XY{X: xval(r), Y: v})
		if r.Saturated && val.lower {
			saturated = append(saturated, plotter.XY{X: xval(r), Y: v})
		}
	}
	if len(keys) == 0 {
		return false, "no point has a value of " + val.label, nil
	}
	p := plot.New()
	p.Title.Text = figureTitle(rs)
	p.X.Label.Text = axisLabel(x)
	p.Y.Label.Text = val.label
	if val.logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
	}
	p.Add(plotter.NewGrid())
	leg := plot.NewLegend()
	for i, key := range keys { // in the points' order: deterministic
		ln, pts, err := plotter.NewLinePoints(series[key])
		if err != nil {
			return false, "", err
		}
		styleSeries(i, ln, pts)
		p.Add(ln, pts)
		if key != "" {
			leg.Add(key, ln, pts)
		}
	}
	if len(saturated) > 0 {
		sc, err := plotter.NewScatter(saturated)
		if err != nil {
			return false, "", err
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: color.Black, Radius: vg.Points(4.5), Shape: draw.RingGlyph{}}
		p.Add(sc)
		leg.Add("saturated: a lower bound", sc)
	}
	paperStyle(p)
	if err := saveFigure(p, &leg, dir, sweepPlot, pf.formats); err != nil {
		return false, "", fmt.Errorf("-out: %w", err)
	}
	return true, "", nil
}

// seriesGlyphs and seriesDashes tell a figure's lines apart in grayscale:
// line i gets glyph i and dash pattern i (modulo their counts, which are
// coprime, so that 56 lines differ in one or the other).
var (
	seriesGlyphs = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.CrossGlyph{},
		draw.RingGlyph{}, draw.BoxGlyph{}, draw.PyramidGlyph{}, draw.PlusGlyph{}}
	seriesDashes = [][]vg.Length{nil, {vg.Points(4), vg.Points(2)}, {vg.Points(1), vg.Points(1.5)},
		{vg.Points(5), vg.Points(1.5), vg.Points(1), vg.Points(1.5)}, {vg.Points(2.5), vg.Points(2.5)},
		{vg.Points(6), vg.Points(3)}, {vg.Points(3), vg.Points(1), vg.Points(1), vg.Points(1), vg.Points(1), vg.Points(1)}}
)

// styleSeries gives line i of a figure its colour, dash pattern and glyph.
func styleSeries(i int, ln *plotter.Line, pts *plotter.Scatter) {
	ln.Color = plotColors[i%len(plotColors)]
	ln.Width = vg.Points(1)
	ln.Dashes = seriesDashes[i%len(seriesDashes)]
	if pts != nil {
		pts.Color = ln.Color
		pts.Shape = seriesGlyphs[i%len(seriesGlyphs)]
		pts.Radius = vg.Points(2.2)
	}
}

// paperStyle sets p's text to the paper-column sizes (title 9 pt, the
// rest 8 pt) and pads the axes so that no marker is clipped at the edges.
func paperStyle(p *plot.Plot) {
	p.Title.TextStyle.Font.Size = vg.Points(titlePt)
	p.Title.Padding = vg.Points(4)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font.Size = vg.Points(textPt)
		a.Tick.Label.Font.Size = vg.Points(textPt)
		a.Label.Padding = vg.Points(2)
		a.Padding = vg.Points(6)
	}
	p.Legend.TextStyle.Font.Size = vg.Points(textPt)
	p.Legend.ThumbnailWidth = vg.Points(22)
}

// saveFigure writes p, paperWidth wide, with leg's entries in rows below
// the plot (off the data), as dir/name.FORMAT for each of formats.
func saveFigure(p *plot.Plot, leg *plot.Legend, dir, name string, formats []string) error {
	plotH := 2.5 * vg.Inch
	var legH vg.Length
	if leg != nil {
		leg.TextStyle.Font.Size = vg.Points(textPt)
		leg.ThumbnailWidth = vg.Points(22)
		leg.Top, leg.Left = true, true
		if r := leg.Rectangle(draw.Canvas{Rectangle: vg.Rectangle{Max: vg.Point{X: paperWidth, Y: plotH}}}); r.Size().Y > 0 {
			legH = r.Size().Y + vg.Points(6)
		}
	}
	draw1 := func(c draw.Canvas) {
		p.Draw(draw.Crop(c, 0, 0, legH, 0))
		if legH > 0 {
			lc := draw.Crop(c, 0, 0, 0, -(c.Max.Y - c.Min.Y - legH))
			lc = draw.Crop(lc, vg.Points(28), 0, 0, -vg.Points(2))
			leg.Draw(lc)
		}
	}
	return writeFormats(draw1, paperWidth, plotH+legH, dir, name, formats)
}

// writeFormats draws a figure of w × h with draw1 into dir/name.FORMAT
// for each format.
func writeFormats(draw1 func(draw.Canvas), w, h vg.Length, dir, name string, formats []string) error {
	for _, f := range formats {
		var cw vg.CanvasWriterTo
		switch f {
		case "png":
			cw = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(pngDPI))}
		case "svg":
			cw = vgsvg.New(w, h)
		case "pdf":
			cw = vgpdf.New(w, h)
		default:
			return fmt.Errorf("unknown figure format %q", f)
		}
		draw1(draw.New(cw))
		file, err := os.Create(filepath.Join(dir, name+"."+f))
		if err != nil {
			return err
		}
		if _, err := cw.WriteTo(file); err != nil {
			file.Close()
			return err
		}
		if err := file.Close(); err != nil {
			return err
		}
	}
	return nil
}

// logTicks labels a log axis enough to read values off: within a decade,
// round linear steps (enoughTicks); otherwise every 1, 2 and 5 of each
// decade when it spans up to two decades, every decade beyond (the other
// integers as unlabelled minor ticks), and every integer multiple when
// fewer than two labels would fall inside the range.
type logTicks struct{}

func (logTicks) Ticks(min, max float64) []plot.Tick {
	if min <= 0 || max <= 0 || min > max {
		return nil
	}
	if max < 10*min {
		// Within a decade the 1-2-5 labels may leave most of the axis
		// bare (7400..18900 would label 10000 alone): round linear steps.
		return enoughTicks{}.Ticks(min, max)
	}
	lo, hi := int(math.Floor(math.Log10(min))), int(math.Ceil(math.Log10(max)))
	inside := func(v float64) bool { return v >= min*(1-1e-9) && v <= max*(1+1e-9) }
	labelled := func(m int) bool { return m == 1 }
	if hi-lo <= 2 {
		labelled = func(m int) bool { return m == 1 || m == 2 || m == 5 }
	}
	count := 0
	for e := lo; e <= hi; e++ {
		for m := 1; m < 10; m++ {
			if v := decade(m, e); labelled(m) && inside(v) {
				count++
			}
		}
	}
	if count < 2 {
		labelled = func(int) bool { return true }
		count = 0
		for e := lo; e <= hi; e++ {
			for m := 1; m < 10; m++ {
				if inside(decade(m, e)) {
					count++
				}
			}
		}
		if count < 2 { // less than a step of the decade: plain ticks
			return plot.DefaultTicks{}.Ticks(min, max)
		}
	}
	var ticks []plot.Tick
	for e := lo; e <= hi; e++ {
		for m := 1; m < 10; m++ {
			v := decade(m, e)
			if !inside(v) {
				continue
			}
			t := plot.Tick{Value: v}
			if labelled(m) {
				t.Label = strconv.FormatFloat(v, 'f', -1, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// decade returns m × 10^e, exactly as written in decimal (2e-3 is 0.002).
func decade(m, e int) float64 {
	if e < 0 {
		return float64(m) / math.Pow10(-e)
	}
	return float64(m) * math.Pow10(e)
}

// formatList is a -format flag's value, checked as it is set.
type formatList []string

func (l *formatList) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(*l, ",")
}

func (l *formatList) Set(s string) error {
	f, err := parseFormats(s)
	if err != nil {
		return err
	}
	*l = f
	return nil
}
