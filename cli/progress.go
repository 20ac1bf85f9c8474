package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/ghostsim/ghostsim/sim"
)

// progressEvery is the least wall time between two redraws of the progress
// line (at most about 5 per second).
const progressEvery = 200 * time.Millisecond

// progress draws a one-line progress indicator on a terminal, redrawn in
// place with a carriage return. The wall clock here only paces the redraws;
// it never reaches the model.
type progress struct {
	w     io.Writer
	now   func() time.Time
	last  time.Time
	shown bool
}

func newProgress(w io.Writer) *progress {
	return &progress{w: w, now: time.Now}
}

// update is experiment.Options.Progress: done of total simulated time ran.
func (p *progress) update(done, total sim.Time) {
	t := p.now()
	if p.shown && t.Sub(p.last) < progressEvery {
		return
	}
	p.last = t
	p.shown = true
	pct := 100.0
	if total > 0 {
		pct = 100 * float64(done) / float64(total)
	}
	fmt.Fprintf(p.w, "\rghostsim: %5.1f%%  %v of %v simulated\x1b[K", pct, done, total)
}

// countProgress returns an experiment.RunSweep progress callback that
// shows "label: done/total unit" in place on w, erased once all are done;
// nil (no progress) when show is false.
func countProgress(show bool, w io.Writer, label, unit string) func(done, total int) {
	if !show {
		return nil
	}
	return func(done, total int) {
		fmt.Fprintf(w, "\r%s: %d/%d %s\x1b[K", label, done, total, unit)
		if done == total {
			fmt.Fprint(w, "\r\x1b[K")
		}
	}
}

// clear erases the progress line, if one was drawn. A nil p does nothing.
func (p *progress) clear() {
	if p == nil || !p.shown {
		return
	}
	fmt.Fprint(p.w, "\r\x1b[K")
	p.shown = false
}
