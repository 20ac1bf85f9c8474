package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ghostsim/ghostsim/experiment/repro"
)

// fakeParts stands in for the registry: table3 itself (it runs in tens of
// milliseconds), a figure drawn from made-up data, and a table whose
// claims all pass; fail makes the figure's claim fail, broken adds a part
// that cannot run.
func fakeParts(fail, broken bool) []repro.Part {
	real, _ := repro.Find("table3")
	parts := []repro.Part{
		real,
		{Name: "figA", Summary: "a figure from made-up data", Estimate: time.Second, Run: func(repro.Env) (*repro.Result, error) {
			return &repro.Result{
				Files:  []repro.File{{Name: "figA.csv", Data: []byte("machine,cpus,txns_per_s\nm,1,2\n")}},
				Claims: []repro.Claim{{What: "the line rises", Measured: "from 1 to 3 | M/s", OK: !fail}},
				Data:   &repro.Fig5Data{Lines: []repro.Fig5Line{{Machine: "m", CPUs: []float64{1, 2, 3}, TPS: []float64{1e6, 2e6, 3e6}}}},
				Runs:   3, ConfigSHA256: "feedface",
			}, nil
		}},
		{Name: "tabB", Summary: "a table", Run: func(repro.Env) (*repro.Result, error) {
			return &repro.Result{Text: "a <table>\n", Claims: []repro.Claim{{What: "holds", Measured: "yes", OK: true}}}, nil
		}},
	}
	if broken {
		parts = append(parts, repro.Part{Name: "brokenC", Summary: "cannot run", Run: func(repro.Env) (*repro.Result, error) {
			return nil, errors.New("no such machine")
		}})
	}
	return parts
}

// TestReproAllReport: `repro all` runs every part it is given and its
// report (Markdown and self-contained HTML) lists each one with its
// verdict, claims, config hash and wall time, the version and the figures
// inline; the exit code is 0 only when every claim passes.
func TestReproAllReport(t *testing.T) {
	for _, tc := range []struct {
		name         string
		fail, broken bool
		code         int
	}{
		{"table3 fails row 8", false, false, exitFailure},
		{"a figure fails", true, false, exitFailure},
		{"a part cannot run", false, true, exitFailure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			parts := fakeParts(tc.fail, tc.broken)
			var stdout, stderr bytes.Buffer
			code := runReproParts([]string{"-out", dir, "-j", "1", "all"}, parts, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			md, err := os.ReadFile(filepath.Join(dir, "report.md"))
			if err != nil {
				t.Fatal(err)
			}
			html, err := os.ReadFile(filepath.Join(dir, "report.html"))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range parts {
				for _, rep := range []string{string(md), string(html)} {
					if !strings.Contains(rep, p.Name) || !strings.Contains(rep, p.Summary) {
						t.Errorf("a report does not list part %s", p.Name)
					}
				}
				if !strings.Contains(stderr.String(), "] "+p.Name+" (") {
					t.Errorf("stderr does not say when %s starts:\n%s", p.Name, stderr.String())
				}
			}
			for _, want := range []string{"ghostsim version: devel", "feedface", "| PASS | row 1 ", "**FAIL** | row 8 ", `from 1 to 3 \| M/s`, "![fig5](fig5.png)"} {
				if !strings.Contains(string(md), want) {
					t.Errorf("report.md lacks %q:\n%s", want, md)
				}
			}
			for _, want := range []string{"data:image/png;base64,iVBORw0KGgo", "a &lt;table&gt;", "feedface", "left)"} {
				if !strings.Contains(string(html)+stderr.String(), want) {
					t.Errorf("report.html (or stderr) lacks %q", want)
				}
			}
			if strings.Contains(string(html), "src=\"http") || strings.Contains(string(html), "href=\"http") {
				t.Error("report.html refers to an outside resource")
			}
			if tc.broken && !strings.Contains(string(md), "did not run: no such machine") {
				t.Errorf("report.md does not say why brokenC did not run:\n%s", md)
			}
		})
	}
}

// TestReproAllSkipsStudies: repro all runs the paper's parts, not a
// study.
func TestReproAllSkipsStudies(t *testing.T) {
	parts := fakeParts(false, false)[1:]
	parts = append(parts, repro.Part{Name: "studyD", Summary: "a study", Study: true, Run: func(repro.Env) (*repro.Result, error) {
		t.Error("repro all ran a study")
		return &repro.Result{}, nil
	}})
	var stdout, stderr bytes.Buffer
	if code := runReproParts([]string{"-q", "-out", t.TempDir(), "all"}, parts, &stdout, &stderr); code != exitOK {
		t.Errorf("exit %d\n%s", code, stderr.String())
	}
	if strings.Contains(stdout.String(), "studyD") {
		t.Errorf("repro all's output names the study:\n%s", stdout.String())
	}
}

// TestReproAllPasses: exit 0 when every part's claims pass; with
// -format svg the report inlines the SVG.
func TestReproAllPasses(t *testing.T) {
	parts := fakeParts(false, false)[1:] // without table3's row 8
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := runReproParts([]string{"-q", "-format", "svg", "-out", dir, "all"}, parts, &stdout, &stderr); code != exitOK {
		t.Errorf("exit %d, want 0; stdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("-q: stderr %q", stderr.String())
	}
	html, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), "data:image/svg") || !strings.Contains(string(html), "every claim passes") {
		t.Errorf("report.html does not inline the SVG figure or say every claim passes:\n%s", html)
	}

	// With PDF figures only, the report links each (Markdown) and embeds
	// it (HTML) rather than leaving the figures out.
	dir = t.TempDir()
	stdout.Reset()
	stderr.Reset()
	if code := runReproParts([]string{"-q", "-format", "pdf", "-out", dir, "all"}, parts, &stdout, &stderr); code != exitOK {
		t.Fatalf("-format pdf: exit %d\n%s", code, stderr.String())
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	html, _ = os.ReadFile(filepath.Join(dir, "report.html"))
	if !strings.Contains(string(md), "[fig5 (PDF)](fig5.pdf)") || !strings.Contains(string(html), `data="data:application/pdf;base64,`) {
		t.Errorf("-format pdf: the report has no PDF figure:\n%s", md)
	}
}

// TestReproRegistry: every part the paper's repro has is registered, the
// usage lists each with all, and each has an estimate for repro all's
// time left.
func TestReproRegistry(t *testing.T) {
	want := []string{"table3", "fig5", "fig6", "fig7", "fig8", "table4", "bpf-study"}
	if got := repro.Names(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("registered parts %v, want %v", got, want)
	}
	for _, p := range repro.Parts() {
		if p.Study != (p.Name == "bpf-study") {
			t.Errorf("part %s: Study %v; only the BPF study is no part of the paper", p.Name, p.Study)
		}
	}
	_, out, _ := ghostsim(t, "repro", "-h")
	for _, p := range repro.Parts() {
		if !strings.Contains(out, "  "+p.Name+" ") || p.Estimate <= 0 {
			t.Errorf("part %s: in usage %v, estimate %v", p.Name, strings.Contains(out, p.Name), p.Estimate)
		}
	}
	if !strings.Contains(out, "  all ") {
		t.Errorf("usage does not list all:\n%s", out)
	}
}
