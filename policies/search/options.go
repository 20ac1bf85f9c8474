package search

import (
	"github.com/ghostsim/ghostsim/sim/agent"
)

// options returns p with the heuristics' switches of [policy.search]
// (numa, ccx, hold_us), which override the same keys of [policy], their
// older spelling.
func options(p agent.Params) (agent.Params, error) {
	o := struct {
		NUMA   bool    `toml:"numa"`
		CCX    bool    `toml:"ccx"`
		HoldUs float64 `toml:"hold_us"`
	}{p.NUMA, p.CCX, p.HoldUs}
	if p.Options != nil {
		if err := p.Options(&o); err != nil {
			return p, err
		}
	}
	if !(o.HoldUs >= 0 && o.HoldUs <= 1e6) {
		return p, agent.KeyErrorf("policy.search.hold_us", "must be in 0..1000000 (µs), got %v", o.HoldUs)
	}
	p.NUMA, p.CCX, p.HoldUs = o.NUMA, o.CCX, o.HoldUs
	return p, nil
}
