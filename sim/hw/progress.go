package hw

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/ghostsim/ghostsim/sim"
)

// Progress tracks one piece of work running under a rate that changes
// (a sibling starts or stops, the thread is paused and resumed). Work is
// measured in full-rate picoseconds: the time it takes at FullRate.
//
// Accounting is exact. The remaining work is kept in units of 2^-20
// full-rate ps (a 128-bit quantity split into whole and fraction), so the
// work done over an interval, elapsed × rate, is subtracted without
// rounding: splitting a run into any number of SetRate calls at the same
// rate leaves FinishAt unchanged. Only FinishAt rounds, up, so that the
// work is really complete at the time it returns.
//
// The zero value is complete work at time 0. Progress is a small value
// type; copy it freely. No method allocates.
type Progress struct {
	at    sim.Time // time the remainder is accounted to; once complete, the completion time
	whole int64    // remaining work, whole full-rate ps...
	frac  uint32   // ...plus frac × 2^-20 full-rate ps
	rate  Rate
}

// Start begins work full-rate picoseconds of work at time now, running at
// rate. It panics if work < 0.
func (p *Progress) Start(now sim.Time, work int64, rate Rate) {
	if work < 0 {
		panic(fmt.Sprintf("hw: Progress.Start with negative work %d at %v", work, now))
	}
	*p = Progress{at: now, whole: work, rate: rate}
}

// SetRate accounts the work done at the old rate since the last Start or
// SetRate, then continues at rate from now. SetRate(now, 0) pauses the
// work; a later SetRate with a non-zero rate resumes it. It panics if now
// is before the last Start or SetRate.
func (p *Progress) SetRate(now sim.Time, rate Rate) {
	p.advance(now)
	p.rate = rate
}

// Rate returns the current rate.
func (p Progress) Rate() Rate { return p.rate }

// Remaining returns the work left at time now, in full-rate picoseconds,
// rounded up: it is 0 exactly when the work is complete (now ≥ FinishAt()).
// It panics if now is before the last Start or SetRate.
func (p Progress) Remaining(now sim.Time) int64 {
	p.advance(now)
	if p.frac != 0 {
		return p.whole + 1
	}
	return p.whole
}

// Done reports whether the work is complete at time now.
func (p Progress) Done(now sim.Time) bool { return now >= p.FinishAt() }

// FinishAt returns the earliest time at which the work is complete if the
// rate does not change: the remaining work divided by the rate, rounded up
// to a whole picosecond. It returns the completion time if the work is
// already complete, and sim.Never if the rate is 0 (or the time is beyond
// range).
func (p Progress) FinishAt() sim.Time {
	hi, lo := p.rem()
	if hi == 0 && lo == 0 {
		return p.at
	}
	if p.rate == 0 {
		return sim.Never
	}
	r := uint64(p.rate)
	if hi >= r {
		return sim.Never // the quotient needs more than 64 bits
	}
	q, rm := bits.Div64(hi, lo, r)
	if rm != 0 {
		if q == math.MaxUint64 {
			return sim.Never
		}
		q++
	}
	if q >= uint64(sim.Never-p.at) {
		return sim.Never
	}
	return p.at + sim.Time(q)
}

// rem returns the remaining work in units of 2^-20 full-rate ps, as a
// 128-bit number.
func (p *Progress) rem() (hi, lo uint64) {
	w := uint64(p.whole)
	return w >> (64 - rateShift), w<<rateShift | uint64(p.frac)
}

// advance accounts the work done from p.at to now at p.rate.
func (p *Progress) advance(now sim.Time) {
	if now < p.at {
		panic(fmt.Sprintf("hw: Progress accounted to %v asked about %v", p.at, now))
	}
	rhi, rlo := p.rem()
	if rhi == 0 && rlo == 0 {
		return // complete: p.at stays the completion time
	}
	if p.rate == 0 {
		p.at = now
		return
	}
	// Work done, in 2^-20 full-rate ps: elapsed × rate, exact in 128 bits.
	chi, clo := bits.Mul64(uint64(now-p.at), uint64(p.rate))
	if chi > rhi || (chi == rhi && clo >= rlo) {
		p.at = p.FinishAt()
		p.whole, p.frac = 0, 0
		return
	}
	lo, borrow := bits.Sub64(rlo, clo, 0)
	hi, _ := bits.Sub64(rhi, chi, borrow)
	p.whole = int64(hi<<(64-rateShift) | lo>>rateShift)
	p.frac = uint32(lo & (uint64(FullRate) - 1))
	p.at = now
}
