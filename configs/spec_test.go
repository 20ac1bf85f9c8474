package configs

import (
	"errors"
	"fmt"

	"github.com/ghostsim/ghostsim/sim"
)

// testSpec resembles the simulator's real spec: a machine, a run, an
// enclave, cost knobs and a workload of groups (an array of tables).
type testSpec struct {
	Machine struct {
		Name    string  `toml:"name"`
		Sockets int     `toml:"sockets"`
		Cores   uint16  `toml:"cores"`
		GHz     float64 `toml:"ghz"`
		SMT     int     `toml:"smt"`
	} `toml:"machine"`
	Run struct {
		DurationMs int64  `toml:"duration_ms"`
		Seed       uint64 `toml:"seed"`
	} `toml:"run"`
	Enclave struct {
		CPUs string `toml:"cpus"`
	} `toml:"enclave"`
	Costs struct {
		ZeroOverheads bool               `toml:"zero_overheads"`
		Extra         map[string]float64 `toml:"extra"`
	} `toml:"costs"`
	Workload struct {
		Group []testGroup `toml:"group"`
	} `toml:"workload"`
}

type testGroup struct {
	Name    string `toml:"name"`
	Threads int    `toml:"threads"`
	Arrival struct {
		Dist     string  `toml:"dist"`
		RatePerS float64 `toml:"rate_per_s"`
	} `toml:"arrival"`
}

// defaultSpec returns the defaults a caller fills in before Load.
func defaultSpec() testSpec {
	var s testSpec
	s.Machine.Name = "default"
	s.Machine.Sockets = 1
	s.Machine.Cores = 4
	s.Machine.GHz = 2.0
	s.Machine.SMT = 1
	s.Run.DurationMs = 1000
	s.Run.Seed = 1
	s.Enclave.CPUs = "0"
	return s
}

// Validate checks values the way the real specs do, returning *sim.KeyError
// values joined.
func (s *testSpec) Validate() error {
	var errs []error
	if s.Machine.GHz <= 0 {
		errs = append(errs, sim.KeyErrorf("machine.ghz", "must be > 0, got %v", s.Machine.GHz))
	}
	if s.Machine.SMT < 1 || int(s.Machine.Cores)%s.Machine.SMT != 0 {
		errs = append(errs, sim.KeyErrorf("machine.smt", "must be >= 1 and divide cores (%d), got %d", s.Machine.Cores, s.Machine.SMT))
	}
	for i, g := range s.Workload.Group {
		if g.Threads < 1 {
			errs = append(errs, sim.KeyErrorf(fmt.Sprintf("workload.group[%d].threads", i), "must be >= 1, got %d", g.Threads))
		}
	}
	return errors.Join(errs...)
}
