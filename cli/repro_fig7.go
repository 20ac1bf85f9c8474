package cli

import (
	"fmt"

	"gonum.org/v1/plot/vg"

	"github.com/ghostsim/ghostsim/experiment/repro"
)

// plotFig7Panels draws Fig 7's panels, one per mode and size
// (experiment/repro's Fig7 computes their data; fig7.csv holds it), and
// returns their names.
func plotFig7Panels(dir string, cells [][][]repro.Fig7Cell, formats []string) ([]string, error) {
	var figs []string
	for m := range repro.Fig7Modes {
		for z := range repro.Fig7Sizes {
			name := fmt.Sprintf("fig7-%s-%s", repro.Fig7Modes[m], repro.Fig7Sizes[z])
			if err := plotFig7(dir, name, m, z, cells, formats); err != nil {
				return nil, err
			}
			figs = append(figs, name)
		}
	}
	return figs, nil
}

// plotFig7 draws one panel: grouped bars per percentile, one per system,
// as the paper's Fig 7.
func plotFig7(dir, name string, m, z int, cells [][][]repro.Fig7Cell, formats []string) error {
	p, leg := newReproPlot(fmt.Sprintf("Fig 7 on skylake112: Snap, %s, %s messages,\nMicroQuanta vs ghOSt's snap policy", repro.Fig7Modes[m], repro.Fig7Sizes[z]),
		"percentile", "round-trip latency (µs)")
	names := make([]string, len(repro.Fig7Systems))
	for i, sys := range repro.Fig7Systems {
		names[i] = sys.Name
	}
	if err := addGroupedBars(p, leg, names, len(repro.Fig7Pcts), vg.Points(12), func(s, i int) float64 {
		return cells[m][s][z].US[i]
	}); err != nil {
		return err
	}
	p.NominalX(repro.Fig7Pcts...)
	return saveFigure(p, leg, dir, name, formats)
}
