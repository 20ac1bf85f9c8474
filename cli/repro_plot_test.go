package cli

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ghostsim/ghostsim/experiment/repro"
)

// fakeFigureData is made-up data for each repro figure, shaped as the
// parts make it.
func fakeFigureData() []any {
	load := []float64{50000, 100000, 150000, 200000}
	var lines []repro.Fig6Line
	for i := 0; i < 5; i++ {
		f := float64(i + 1)
		lines = append(lines, repro.Fig6Line{Label: "system " + itoa(i), Load: load, Tput: load,
			P99: []float64{20 * f, 40 * f, 300 * f, 2000 * f}, Batch: []float64{10, 8, 5, 2}, HasBatch: true})
	}
	knees := make([][]repro.XY, 5)
	knees[1] = []repro.XY{{X: 150, Y: 700}, {X: 200, Y: 1500}}
	cells := make([][][]repro.Fig7Cell, len(repro.Fig7Modes))
	for m := range cells {
		cells[m] = make([][]repro.Fig7Cell, len(repro.Fig7Systems))
		for s := range cells[m] {
			cells[m][s] = make([]repro.Fig7Cell, len(repro.Fig7Sizes))
			for z := range cells[m][s] {
				cells[m][s][z].US = [5]float64{10, 20, 30, 40, 50}
			}
		}
	}
	rows := make([]repro.Fig8Row, len(repro.Fig8Systems))
	for s := range rows {
		rows[s] = repro.Fig8Row{Tput: map[string]float64{}, P99: map[string]float64{}}
		for i, t := range repro.Fig8Types {
			rows[s].Tput[t], rows[s].P99[t] = float64(1000+10*s+i), float64(500-20*s+i)
		}
	}
	var study repro.BPFStudyData
	for _, c := range repro.BPFStudyCycles {
		for _, bpf := range []bool{false, true} {
			f := float64(c)
			study.Rows = append(study.Rows, repro.BPFStudyRow{Cycles: c, BPF: bpf, LoopP50: f / 10, GapCPUs: f / 50,
				P99: [3]float64{3000 + f, 300 + f, 7000 + f}, QPS: 60000 - 10*f, Runs: 100})
		}
	}
	return []any{
		&study,
		&repro.Fig5Data{Lines: []repro.Fig5Line{{Machine: "m1", CPUs: []float64{1, 2, 3, 4}, TPS: []float64{1e6, 1.5e6, 1.4e6, 1.2e6}},
			{Machine: "m2", CPUs: []float64{1, 2}, TPS: []float64{0.5e6, 0.8e6}}}},
		&repro.Fig6Data{Lines: lines, Knees: knees},
		&repro.Fig7Data{Cells: cells},
		&repro.Fig8Data{Rows: rows},
	}
}

// TestReproFigureStyle draws every repro figure from made-up data as PNG,
// SVG and PDF and checks the paper-column style: 3.3 in wide (990 px at
// 300 dpi, 237.6 pt; the BPF study's six panels a page's 7 in), text at
// 8 and 9 pt only, a valid PDF, no config key in the text, and each line
// of a line figure with its own dash pattern.
func TestReproFigureStyle(t *testing.T) {
	dir := t.TempDir()
	formats := []string{"png", "svg", "pdf"}
	var figs []string
	for _, d := range fakeFigureData() {
		names, err := plotRepro(dir, d, formats)
		if err != nil {
			t.Fatalf("%T: %v", d, err)
		}
		figs = append(figs, names...)
	}
	if want := 1 + 1 + 3 + len(repro.Fig7Modes)*len(repro.Fig7Sizes) + 2; len(figs) != want {
		t.Errorf("drew %d figures %v, want %d", len(figs), figs, want)
	}
	fontSize := regexp.MustCompile(`font-size:([0-9.]+)px`)
	for _, name := range figs {
		png, err := os.ReadFile(filepath.Join(dir, name+".png"))
		if err != nil || len(png) < 24 || string(png[1:4]) != "PNG" {
			t.Errorf("%s.png: not a PNG (%v)", name, err)
		} else if w := binary.BigEndian.Uint32(png[16:20]); w != 990 && name != "bpf-study" {
			t.Errorf("%s.png is %d px wide, want 990 (3.3 in at 300 dpi)", name, w)
		} else if name == "bpf-study" && w != 2100 {
			t.Errorf("%s.png is %d px wide, want 2100 (7 in, a page's width, at 300 dpi)", name, w)
		}
		pdf, err := os.ReadFile(filepath.Join(dir, name+".pdf"))
		if p := pdfProblem(pdf); err != nil || p != "" {
			t.Errorf("%s.pdf is not a valid PDF (%v): %s", name, err, p)
		}
		svg, err := os.ReadFile(filepath.Join(dir, name+".svg"))
		if err != nil {
			t.Fatal(err)
		}
		s := string(svg)
		if !strings.Contains(s, `width="237.6pt"`) && !(name == "bpf-study" && strings.Contains(s, `width="504pt"`)) {
			t.Errorf("%s.svg is not 237.6 pt (3.3 in) wide", name)
		}
		for _, m := range fontSize.FindAllStringSubmatch(s, -1) {
			if m[1] != "8" && m[1] != "9" {
				t.Errorf("%s.svg has text at %s pt, want 8 or 9", name, m[1])
				break
			}
		}
		if strings.Contains(s, "workload.") || strings.Contains(s, "policy.") {
			t.Errorf("%s.svg's text has a config key, not words", name)
		}
	}
	// Fig 6a's three systems: three dash patterns (one solid) in the SVG.
	svg, _ := os.ReadFile(filepath.Join(dir, "fig6a.svg"))
	dashes := map[string]bool{}
	for _, m := range regexp.MustCompile(`stroke-dasharray:([0-9.,]+)`).FindAllStringSubmatch(string(svg), -1) {
		dashes[m[1]] = true
	}
	if len(dashes) < 3 { // two dashed systems, the 1 ms line
		t.Errorf("fig6a.svg has dash patterns %v, want the dashed systems and the 1 ms line apart", dashes)
	}
	if !strings.Contains(string(svg), "system 0") || !strings.Contains(string(svg), "knee measured over 10 s windows") {
		t.Errorf("fig6a.svg's legend lacks a system or the knee entry")
	}
}
