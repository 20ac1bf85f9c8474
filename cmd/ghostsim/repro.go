package main

import (
	"flag"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"runtime"
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
	reproFormats = append(formatList(nil), defaultFormats...)
	fs.Var(&reproFormats, "format", "write figures as `LIST`, comma-separated of png, svg and pdf (default png,svg)")
	var names []string
	for _, p := range parts {
		names = append(names, p.Name)
	}
	usage := func() {
		fmt.Fprintf(stdout, "usage: ghostsim repro [-out DIR] [-j N] [-q] NAME\n\nNAME is one of:\n")
		for _, p := range parts {
			fmt.Fprintf(stdout, "  %-6s  %s\n", p.Name, p.Summary)
		}
		fmt.Fprintf(stdout, "  %-6s  every part above, with report.md and report.html in DIR: each claim's\n"+
			"          PASS/FAIL and numbers, the figures, config hashes, version and wall time per part\n\nFlags:\n", "all")
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
	if fs.Arg(0) == "all" {
		return reproAll(parts, env, *out, !*quiet, stdout, stderr)
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
	res, _, err := reproPart(*part, env, *out, stdout)
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
// figures into dir and says what it wrote. It returns the result and the
// figures drawn (base names, each as name.png and name.svg).
func reproPart(p repro.Part, env repro.Env, dir string, stdout io.Writer) (*repro.Result, []string, error) {
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
	figs, err := plotRepro(dir, res.Data)
	if err != nil {
		return nil, nil, err
	}
	switch p.Name {
	case "fig5":
		fmt.Fprintf(stdout, "wrote %s, %s and %s\n", filepath.Join(dir, "fig5.csv"), filepath.Join(dir, "fig5.png"), filepath.Join(dir, "fig5.svg"))
	case "fig6":
		fmt.Fprintf(stdout, "wrote %s, %s and fig6a/b/c as PNG and SVG in %s\n",
			filepath.Join(dir, "fig6.csv"), filepath.Join(dir, "fig6-knee.csv"), dir)
	case "fig7":
		fmt.Fprintf(stdout, "wrote %s and fig7-{quiet,loaded}-{64B,64kB} as PNG and SVG in %s\n", filepath.Join(dir, "fig7.csv"), dir)
	case "fig8":
		fmt.Fprintf(stdout, "wrote %s and fig8-throughput, fig8-p99 as PNG and SVG in %s\n", filepath.Join(dir, "fig8.csv"), dir)
	case "table3":
	default:
		var files []string
		for _, f := range res.Files {
			files = append(files, filepath.Join(dir, f.Name))
		}
		if len(files) > 0 {
			fmt.Fprintf(stdout, "wrote %s\n", strings.Join(files, ", "))
		}
	}
	return res, figs, nil
}

// plotRepro draws the figures of a part's data into dir and returns their
// base names; a table's nil data draws none.
func plotRepro(dir string, data any) ([]string, error) {
	switch d := data.(type) {
	case nil:
		return nil, nil
	case *repro.Fig5Data:
		return []string{"fig5"}, plotFig5(dir, d.Lines)
	case *repro.Fig6Data:
		return plotFig6Panels(dir, d)
	case *repro.Fig7Data:
		return plotFig7Panels(dir, d.Cells)
	case *repro.Fig8Data:
		return plotFig8Panels(dir, d.Rows)
	default:
		return nil, fmt.Errorf("no figure for %T", data)
	}
}

// printClaims prints each claim with PASS or FAIL and returns how many
// fail.
func printClaims(w io.Writer, claims []repro.Claim) int {
	failed := 0
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
func plotFig5(dir string, lines []repro.Fig5Line) error {
	p := plot.New()
	p.Title.Text = "Global agent scalability (round-robin, 5 yielding threads per CPU)"
	p.X.Label.Text = "CPUs in the enclave"
	p.Y.Label.Text = "transactions committed per second (millions)"
	p.Add(plotter.NewGrid())
	for i, l := range lines {
		xy := make(plotter.XYs, len(l.CPUs))
		for j := range l.CPUs {
			xy[j].X, xy[j].Y = l.CPUs[j], l.TPS[j]/1e6
		}
		ln, err := plotter.NewLine(xy)
		if err != nil {
			return err
		}
		ln.Color = plotColors[i%len(plotColors)]
		ln.Width = vg.Points(1.5)
		p.Add(ln)
		p.Legend.Add(l.Machine, ln)
	}
	p.Legend.Top = true
	return savePlot(p, 8*vg.Inch, 5*vg.Inch, dir, "fig5")
}

// savePlot writes p as dir/name.FORMAT for each of repro's -format
// formats (reproFormats), in the paper-column style (paperStyle): w × h
// scaled to 3.3 in wide.
func savePlot(p *plot.Plot, w, h vg.Length, dir, name string) error {
	paperStyle(p)
	return writeFormats(p.Draw, paperWidth, h*paperWidth/w, dir, name, reproFormats)
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
