package experiment_test

import (
	"slices"
	"testing"

	"github.com/ghostsim/ghostsim/experiment"
	"github.com/ghostsim/ghostsim/results"
)

// runExperiment loads the configs files with the -set overrides sets and
// runs the experiment; any error fails the test.
func runExperiment(t testing.TB, files, sets []string, opts experiment.Options) *results.Result {
	t.Helper()
	spec, meta, err := experiment.Load(files, sets)
	if err != nil {
		t.Fatal(err)
	}
	r, err := experiment.Run(spec, opts)
	if err != nil {
		t.Fatal(meta.Wrap(err))
	}
	return r
}

// expCase is an experiment of a table-driven test: configs, -set
// overrides, workload and policy.
type expCase struct {
	name             string
	files, sets      []string
	workload, policy string
}

// run runs c with more -set overrides after its own.
func (c expCase) run(t testing.TB, more ...string) *results.Result {
	t.Helper()
	return runExperiment(t, c.files, slices.Concat(c.sets, more), experiment.Options{Workload: c.workload, Policy: c.policy})
}
