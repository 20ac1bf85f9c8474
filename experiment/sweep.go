package experiment

import (
	"fmt"
	"sync"

	"github.com/ghostsim/ghostsim/results"
)

// Point is one run of a sweep: the swept values (reported as the result's
// point), the spec and what to run.
type Point struct {
	Values   map[string]float64
	Spec     *Spec
	Workload string
	Policy   string
	// Finish, when set, adds derived figures to the point's result.
	Finish func(r *results.Result)
}

// RunSweep runs points, up to j at once, each on its own engine, and
// returns their results in point order: the output is the same whatever
// j is. progress, when set, is called (from the caller's goroutine) after
// each point completes, with the number done.
func RunSweep(points []Point, j int, progress func(done, total int)) ([]*results.Result, error) {
	if j < 1 {
		j = 1
	}
	out := make([]*results.Result, len(points))
	errs := make([]error, len(points))
	next := make(chan int)
	done := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < j && w < len(points); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				p := points[i]
				r, err := Run(p.Spec, Options{Workload: p.Workload, Policy: p.Policy})
				if err == nil {
					r.Point = p.Values
					if p.Finish != nil {
						p.Finish(r)
					}
				}
				out[i], errs[i] = r, err
				done <- i
			}
		}()
	}
	go func() {
		for i := range points {
			next <- i
		}
		close(next)
	}()
	for n := 1; n <= len(points); n++ {
		<-done
		if progress != nil {
			progress(n, len(points))
		}
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("sweep point %d %v: %w", i, points[i].Values, err)
		}
	}
	return out, nil
}

// Check validates spec for workload as Run does before simulating: the
// workload's own part of the spec. A sweep checks every point with it
// before running any, so that a bad value is reported at its key (through
// configs.Meta.Wrap) instead of failing a run midway.
func Check(spec *Spec, workload string) error {
	info, ok := FindWorkload(workload)
	if !ok {
		return fmt.Errorf("unknown workload %q (valid: %s)", workload, workloadNames())
	}
	if info.New == nil {
		return nil
	}
	_, err := info.New(spec)
	return err
}
