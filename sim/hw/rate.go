package hw

import (
	"fmt"
	"math"
)

// Rate is a speed of execution in fixed point with 20 fractional bits:
// FullRate is the speed of a thread alone on its core, with its memory on
// its own socket, at the nominal clock. A thread running at rate r for a
// time d does d × r / FullRate of work ("full-rate picoseconds"). Rate 0
// means no progress (the thread is paused).
type Rate uint32

const (
	rateShift = 20

	// FullRate is rate 1.0.
	FullRate Rate = 1 << rateShift

	// maxRho caps the NUMA ratio dram_remote/dram_local (in 1/FullRate
	// units) so that ExecRate's products fit in 64 bits.
	maxRho = 1 << 43
)

// RateOf converts a fraction to a Rate, rounded to the nearest 2^-20.
// Use it once, where a configured fraction is loaded; never on values that
// feed back into simulated time. It panics if f is negative or not finite.
func RateOf(f float64) Rate {
	if !(f >= 0) || math.IsInf(f, 0) || f*float64(FullRate) > math.MaxUint32 {
		panic(fmt.Sprintf("hw: rate %v out of range", f))
	}
	return Rate(math.Round(f * float64(FullRate)))
}

// Float returns r as a fraction of FullRate, for reporting only.
func (r Rate) Float() float64 { return float64(r) / float64(FullRate) }

// String formats r as a fraction of FullRate with up to six decimals.
func (r Rate) String() string { return fmt.Sprintf("%.6g", r.Float()) }

// SiblingActivity is what the other hardware threads of a core are doing,
// as it affects the thread whose rate is asked. The constants are ordered
// from least to most contention, so with several siblings the busiest is
// max(a, b, ...).
type SiblingActivity uint8

const (
	SiblingIdle      SiblingActivity = iota // halted in idle: the thread has the core
	SiblingSpinning                         // a PAUSE loop (a spinning agent, a poller)
	SiblingComputing                        // running anything else
	numSiblingActivities
)

var siblingNames = [numSiblingActivities]string{"idle", "spinning", "computing"}

// String returns "idle", "spinning" or "computing".
func (a SiblingActivity) String() string {
	if a < numSiblingActivities {
		return siblingNames[a]
	}
	return fmt.Sprintf("SiblingActivity(%d)", uint8(a))
}

// ExecRate returns the rate of a thread whose busiest sibling does
// sibling, a fraction memShare (0..FullRate) of whose work is bound by
// DRAM latency, and whose data lives on the other socket if remoteMem:
//
//	rate = smt × 1 / ((1 − m) + m × dram_remote/dram_local)
//
// where smt is 1, smt_spin_rate or smt_compute_rate. Only the memory-bound
// share slows with NUMA distance. The result is rounded to the nearest
// 2^-20 and at least 1 (a running thread always progresses). With
// zero_overheads it is always FullRate. It does not allocate and uses only
// integers.
//
// It panics if memShare > FullRate or sibling is not a SiblingActivity.
func (m *Machine) ExecRate(sibling SiblingActivity, memShare Rate, remoteMem bool) Rate {
	if memShare > FullRate {
		panic(fmt.Sprintf("hw: memory share %d above FullRate", memShare))
	}
	r := m.smtRate[sibling]
	if !remoteMem || memShare == 0 || m.rho == uint64(FullRate) {
		return r
	}
	// r × FullRate² / ((FullRate − m) × FullRate + m × rho): r ≤ 2^20 so
	// the numerator is ≤ 2^60; rho ≤ 2^43 so the denominator is < 2^64.
	ms := uint64(memShare)
	den := (uint64(FullRate)-ms)*uint64(FullRate) + ms*m.rho
	num := uint64(r) << (2 * rateShift)
	q := (num + den/2) / den
	return Rate(max(q, 1))
}

// SMTRate returns the rate of a thread beside a sibling doing a, memory
// effects aside: FullRate, smt_spin_rate or smt_compute_rate.
func (m *Machine) SMTRate(a SiblingActivity) Rate { return m.smtRate[a] }
