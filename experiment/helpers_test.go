package experiment_test

import (
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
