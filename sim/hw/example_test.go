package hw_test

import (
	"fmt"

	"github.com/BurntSushi/toml"

	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/hw"
)

// A thread with 10 µs of work on skylake112 shares its core with a
// computing sibling for 3 µs of its run.
func Example() {
	var spec hw.Spec
	if _, err := toml.DecodeFile("../../configs/skylake112.toml", &spec); err != nil {
		panic(err)
	}
	m, err := hw.New(spec)
	if err != nil {
		panic(err)
	}
	fmt.Println(m.NumCPUs(), "CPUs; sibling of 3:", m.Siblings(3), "distance 0→28:", m.Distance(0, 28))
	fmt.Println("CFS switch:", m.Costs().ContextSwitchCFS, "IPI flight 0→28:", m.IPIFlight(0, 28))

	var p hw.Progress
	p.Start(0, int64(10*sim.Microsecond), m.ExecRate(hw.SiblingIdle, 0, false))
	p.SetRate(sim.Us(2), m.ExecRate(hw.SiblingComputing, 0, false))
	p.SetRate(sim.Us(5), m.ExecRate(hw.SiblingIdle, 0, false))
	fmt.Println("finishes at", int64(p.FinishAt()), "ps") // 10 µs + 3 µs × 0.4, less 1 ps: 0.6 is not exact in fixed point
	// Output:
	// 112 CPUs; sibling of 3: [59] distance 0→28: remote
	// CFS switch: 599ns IPI flight 0→28: 300ns
	// finishes at 11199999 ps
}
