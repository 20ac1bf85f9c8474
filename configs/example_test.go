package configs_test

import (
	"fmt"

	"github.com/ghostsim/ghostsim/configs"
	"github.com/ghostsim/ghostsim/sim"
)

type exampleSpec struct {
	Machine struct {
		GHz float64 `toml:"ghz"`
	} `toml:"machine"`
	Run struct {
		DurationMs int64  `toml:"duration_ms"`
		Seed       uint64 `toml:"seed"`
	} `toml:"run"`
}

func (s *exampleSpec) Validate() error {
	if s.Machine.GHz <= 0 {
		return sim.KeyErrorf("machine.ghz", "must be > 0, got %v", s.Machine.GHz)
	}
	return nil
}

func ExampleLoad() {
	var spec exampleSpec
	spec.Machine.GHz = 2.0 // defaults
	spec.Run.Seed = 1

	meta, err := configs.Load(&spec, []string{"testdata/example.toml"}, []string{"run.seed=7"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(spec.Run.DurationMs, spec.Run.Seed)
	fmt.Println(meta.Where("run.seed"))
	fmt.Println(meta.Wrap(spec.Validate()))

	_, err = configs.Load(&spec, nil, []string{"run.sed=7"})
	fmt.Println(err)
	// Output:
	// 50 7
	// -set 1
	// testdata/example.toml:3: machine.ghz: must be > 0, got -2.5
	// -set #1: run.sed: unknown key; did you mean run.seed?
}
