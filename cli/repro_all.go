package cli

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/ghostsim/ghostsim/experiment/repro"
)

// reproOutcome is one part of `repro all`: what it produced and how long
// it took.
type reproOutcome struct {
	Part repro.Part
	Res  *repro.Result // nil when the part failed to run
	Figs []string      // figures drawn, base names
	Err  error
	Wall time.Duration
}

// ok reports whether the part ran and every claim passed.
func (o *reproOutcome) ok() bool { return o.Err == nil && o.Res.Failed() == 0 }

// reproAll runs every part in order into dir, each part's output on stdout
// as `repro NAME` prints it, then writes report.md and report.html. Unless
// quiet, stderr names the part that starts and estimates the time left
// from the parts' estimates, scaled by how the finished parts compared
// with theirs. The exit code is 0 only when every part ran and every claim
// passed.
func reproAll(parts []repro.Part, env repro.Env, dir string, formats []string, progress bool, stdout, stderr io.Writer) int {
	start := time.Now()
	now := time.Now
	var outs []*reproOutcome
	var doneEst, doneWall time.Duration
	for i, p := range parts {
		if progress {
			var left time.Duration
			for _, q := range parts[i:] {
				left += q.Estimate
			}
			if doneEst > time.Second {
				left = time.Duration(float64(left) * float64(doneWall) / float64(doneEst))
			}
			fmt.Fprintf(stderr, "repro all: [%d/%d] %s (%s elapsed, about %s left)\n",
				i+1, len(parts), p.Name, roundDuration(now().Sub(start)), roundDuration(left))
		}
		fmt.Fprintf(stdout, "== %s: %s\n", p.Name, p.Summary)
		t0 := now()
		res, figs, err := reproPart(p, env, dir, formats, stdout)
		o := &reproOutcome{Part: p, Res: res, Figs: figs, Err: err, Wall: now().Sub(t0)}
		outs = append(outs, o)
		doneEst += p.Estimate
		doneWall += o.Wall
		if err != nil {
			fmt.Fprintf(stderr, "ghostsim repro %s: %v\n", p.Name, err)
			fmt.Fprintf(stdout, "\n%s failed to run: %v\n\n", p.Name, err)
			continue
		}
		printClaims(stdout, res.Claims)
		fmt.Fprintln(stdout)
	}
	total := now().Sub(start)
	rep := newReproReport(outs, env.Jobs, total)
	fmt.Fprintln(stdout, "== summary")
	for _, o := range outs {
		fmt.Fprintf(stdout, "  %-6s  %s  %s\n", o.Part.Name, o.verdict(), roundDuration(o.Wall))
	}
	if err := rep.write(dir); err != nil {
		fmt.Fprintf(stderr, "ghostsim repro all: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "wrote %s and %s (%s in all)\n", filepath.Join(dir, "report.md"), filepath.Join(dir, "report.html"), roundDuration(total))
	if !rep.OK {
		return exitFailure
	}
	return exitOK
}

// verdict is "PASS (n claims)", "FAIL (k of n claims)" or "ERROR".
func (o *reproOutcome) verdict() string {
	switch {
	case o.Err != nil:
		return "ERROR"
	case o.Res.Failed() > 0:
		return fmt.Sprintf("FAIL (%d of %d claims)", o.Res.Failed(), len(o.Res.Claims))
	default:
		return fmt.Sprintf("PASS (%d claims)", len(o.Res.Claims))
	}
}

// roundDuration rounds d for people: tenths of a second below a minute,
// whole seconds above.
func roundDuration(d time.Duration) time.Duration {
	if d < time.Minute {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}

// reproReport is what report.md and report.html show.
type reproReport struct {
	Version, Go, Platform string
	Jobs                  int
	Total                 time.Duration
	OK                    bool
	Passed, Claims        int
	Parts                 []reportPart
}

type reportPart struct {
	Name, Summary, Verdict string
	OK                     bool
	Err                    string
	Wall                   time.Duration
	Runs                   int
	ConfigSHA256           string
	Text                   string
	Files                  []string
	Claims                 []repro.Claim
	Figs                   []reportFig
}

type reportFig struct {
	Name string
	// File is the figure's file beside the report: its PNG, else its SVG,
	// else its PDF (repro -format decides which exist), "" if none.
	File string
	// PDF says File is a PDF, which Markdown links rather than shows.
	PDF bool
	// DataURI is File inline, for the self-contained HTML report.
	DataURI template.URL
}

func newReproReport(outs []*reproOutcome, jobs int, total time.Duration) *reproReport {
	rep := &reproReport{
		Version:  ghostsimVersion(),
		Go:       runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH,
		Jobs:     jobs,
		Total:    roundDuration(total),
		OK:       true,
	}
	for _, o := range outs {
		p := reportPart{Name: o.Part.Name, Summary: o.Part.Summary, Verdict: o.verdict(), OK: o.ok(), Wall: roundDuration(o.Wall)}
		rep.OK = rep.OK && p.OK
		if o.Err != nil {
			p.Err = o.Err.Error()
		} else {
			p.Runs, p.ConfigSHA256, p.Text, p.Claims = o.Res.Runs, o.Res.ConfigSHA256, o.Res.Text, o.Res.Claims
			for _, f := range o.Res.Files {
				p.Files = append(p.Files, f.Name)
			}
			rep.Claims += len(o.Res.Claims)
			rep.Passed += len(o.Res.Claims) - o.Res.Failed()
		}
		for _, f := range o.Figs {
			p.Figs = append(p.Figs, reportFig{Name: f})
		}
		rep.Parts = append(rep.Parts, p)
	}
	return rep
}

// write writes report.md (figures linked as the files beside it) and
// report.html (figures inline as data URIs) into dir.
func (rep *reproReport) write(dir string) error {
	for i := range rep.Parts {
		for j := range rep.Parts[i].Figs {
			f := &rep.Parts[i].Figs[j]
			for _, format := range []struct{ ext, mime string }{{"png", "image/png"}, {"svg", "image/svg+xml"}, {"pdf", "application/pdf"}} {
				data, err := os.ReadFile(filepath.Join(dir, f.Name+"."+format.ext))
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				if err != nil {
					return err
				}
				f.File, f.PDF = f.Name+"."+format.ext, format.ext == "pdf"
				f.DataURI = template.URL("data:" + format.mime + ";base64," + base64.StdEncoding.EncodeToString(data))
				break
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.md"), []byte(rep.markdown()), 0o644); err != nil {
		return err
	}
	var html bytes.Buffer
	if err := reportHTML.Execute(&html, rep); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "report.html"), html.Bytes(), 0o644)
}

// mdCell escapes text for a Markdown table cell.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

func (rep *reproReport) markdown() string {
	var b strings.Builder
	verdict := "every claim passes"
	if !rep.OK {
		verdict = "some claims fail or parts did not run"
	}
	fmt.Fprintf(&b, "# ghostsim repro all\n\n")
	fmt.Fprintf(&b, "%d of %d claims pass (docs/PAPER-CLAIMS.md): %s.\n\n", rep.Passed, rep.Claims, verdict)
	fmt.Fprintf(&b, "- ghostsim version: %s\n- Go: %s on %s, -j %d\n- wall time: %s in all\n\n", rep.Version, rep.Go, rep.Platform, rep.Jobs, rep.Total)
	b.WriteString("| part | verdict | wall time | simulations | config SHA-256 |\n|---|---|---|---|---|\n")
	for _, p := range rep.Parts {
		fmt.Fprintf(&b, "| [%s](#%s) | %s | %s | %d | `%s` |\n", p.Name, p.Name, p.Verdict, p.Wall, p.Runs, p.ConfigSHA256)
	}
	for _, p := range rep.Parts {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n\n", p.Name, p.Summary)
		fmt.Fprintf(&b, "%s; wall time %s, %d simulations; config SHA-256 `%s`.\n", p.Verdict, p.Wall, p.Runs, p.ConfigSHA256)
		if p.Err != "" {
			fmt.Fprintf(&b, "\nThe part did not run: %s\n", p.Err)
			continue
		}
		if len(p.Files) > 0 {
			fmt.Fprintf(&b, "Data: %s.\n", strings.Join(p.Files, ", "))
		}
		if p.Text != "" {
			fmt.Fprintf(&b, "\n```\n%s```\n", p.Text)
		}
		b.WriteString("\n| | claim | measured |\n|---|---|---|\n")
		for _, c := range p.Claims {
			status := "PASS"
			if !c.OK {
				status = "**FAIL**"
			}
			fmt.Fprintf(&b, "| %s | %s | %s |\n", status, mdCell(c.What), mdCell(c.Measured))
		}
		for _, f := range p.Figs {
			switch {
			case f.PDF:
				fmt.Fprintf(&b, "\n[%s (PDF)](%s)\n", f.Name, f.File)
			case f.File != "":
				fmt.Fprintf(&b, "\n![%s](%s)\n", f.Name, f.File)
			}
		}
	}
	return b.String()
}

var reportHTML = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>ghostsim repro all</title>
<style>
body { font-family: sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: left; vertical-align: top; }
.pass { color: #1a7f37; } .fail { color: #cf222e; font-weight: bold; }
pre { background: #f6f8fa; padding: 0.5em; overflow-x: auto; font-size: 85%; }
img { max-width: 100%; display: block; margin: 1em 0; }
code { font-size: 85%; }
</style>
</head>
<body>
<h1>ghostsim repro all</h1>
<p>{{.Passed}} of {{.Claims}} claims pass (docs/PAPER-CLAIMS.md): {{if .OK}}<span class="pass">every claim passes</span>{{else}}<span class="fail">some claims fail or parts did not run</span>{{end}}.</p>
<ul>
<li>ghostsim version: {{.Version}}</li>
<li>Go: {{.Go}} on {{.Platform}}, -j {{.Jobs}}</li>
<li>wall time: {{.Total}} in all</li>
</ul>
<table>
<tr><th>part</th><th>verdict</th><th>wall time</th><th>simulations</th><th>config SHA-256</th></tr>
{{range .Parts}}<tr><td><a href="#{{.Name}}">{{.Name}}</a></td><td class="{{if .OK}}pass{{else}}fail{{end}}">{{.Verdict}}</td><td>{{.Wall}}</td><td>{{.Runs}}</td><td><code>{{.ConfigSHA256}}</code></td></tr>
{{end}}</table>
{{range .Parts}}
<h2 id="{{.Name}}">{{.Name}}</h2>
<p>{{.Summary}}</p>
<p><span class="{{if .OK}}pass{{else}}fail{{end}}">{{.Verdict}}</span>; wall time {{.Wall}}, {{.Runs}} simulations; config SHA-256 <code>{{.ConfigSHA256}}</code>.{{if .Files}} Data: {{range $i, $f := .Files}}{{if $i}}, {{end}}{{$f}}{{end}}.{{end}}</p>
{{if .Err}}<p class="fail">The part did not run: {{.Err}}</p>{{end}}
{{if .Text}}<pre>{{.Text}}</pre>{{end}}
{{if .Claims}}<table>
<tr><th></th><th>claim</th><th>measured</th></tr>
{{range .Claims}}<tr><td class="{{if .OK}}pass">PASS{{else}}fail">FAIL{{end}}</td><td>{{.What}}</td><td>{{.Measured}}</td></tr>
{{end}}</table>{{end}}
{{range .Figs}}{{if .PDF}}<object data="{{.DataURI}}" type="application/pdf" width="480" height="360">{{.File}}</object>
{{else if .File}}<img alt="{{.Name}}" src="{{.DataURI}}">
{{end}}{{end}}{{end}}
</body>
</html>
`))
