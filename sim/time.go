package sim

import (
	"fmt"
	"math"
)

// Time is a point or span of simulated time, in picoseconds.
//
// Picoseconds make cycle counts exact at any clock in whole MHz steps that
// divide 1e6 (1 GHz = 1000 ps, 2 GHz = 500 ps, 2.5 GHz = 400 ps) and close
// (rounded to the picosecond) at others; an int64 covers about 106 days.
// Time is never a float: rates and fractions are applied at the point where
// a duration is computed, and the result is rounded to a whole picosecond.
type Time int64

// Units of Time.
const (
	Picosecond  Time = 1
	Nanosecond  Time = 1000 * Picosecond
	Microsecond Time = 1000 * Nanosecond
	Millisecond Time = 1000 * Microsecond
	Second      Time = 1000 * Millisecond

	// Never is a time later than any a simulation reaches.
	Never Time = math.MaxInt64
)

// Ns returns n nanoseconds as a Time.
func Ns(n int64) Time { return Time(n) * Nanosecond }

// Us returns n microseconds as a Time.
func Us(n int64) Time { return Time(n) * Microsecond }

// Ms returns n milliseconds as a Time.
func Ms(n int64) Time { return Time(n) * Millisecond }

// FromNs converts a possibly fractional count of nanoseconds to Time,
// rounded to the nearest picosecond. Use it where a config gives ns as a
// float (a memory latency of 7.5 ns).
func FromNs(ns float64) Time { return Time(math.Round(ns * 1000)) }

// Cycles returns the time n cycles take at ghz gigahertz, rounded to the
// nearest picosecond.
func Cycles(n float64, ghz float64) Time { return Time(math.Round(n * 1000 / ghz)) }

// Ns returns t in nanoseconds, truncated toward zero.
func (t Time) Ns() int64 { return int64(t / Nanosecond) }

// NsFloat returns t in nanoseconds as a float, for reporting only.
func (t Time) NsFloat() float64 { return float64(t) / float64(Nanosecond) }

// Seconds returns t in seconds as a float, for reporting only.
func (t Time) Seconds() float64 { return float64(t) / float64(Second) }

// CyclesAt returns how many cycles t is at ghz gigahertz, for reporting.
func (t Time) CyclesAt(ghz float64) float64 { return float64(t) * ghz / 1000 }

// String formats t with the largest unit that keeps it readable: "0s",
// "725ns", "1.772us", "30us", "2.5ms", "1.2s". Sub-nanosecond amounts show
// as picoseconds ("500ps"). The format is stable: traces and golden files
// rely on it.
func (t Time) String() string {
	if t == Never {
		return "never"
	}
	neg := t < 0
	if neg {
		t = -t
	}
	var s string
	switch {
	case t == 0:
		s = "0s"
	case t < Nanosecond:
		s = fmt.Sprintf("%dps", int64(t))
	case t < Microsecond:
		s = trimUnit(int64(t), int64(Nanosecond), "ns")
	case t < Millisecond:
		s = trimUnit(int64(t), int64(Microsecond), "us")
	case t < Second:
		s = trimUnit(int64(t), int64(Millisecond), "ms")
	default:
		s = trimUnit(int64(t), int64(Second), "s")
	}
	if neg {
		return "-" + s
	}
	return s
}

// trimUnit prints v/unit with up to three decimals and no trailing zeros.
func trimUnit(v, unit int64, name string) string {
	whole := v / unit
	frac := (v % unit) * 1000 / unit
	if frac == 0 {
		return fmt.Sprintf("%d%s", whole, name)
	}
	f := fmt.Sprintf("%03d", frac)
	for f[len(f)-1] == '0' {
		f = f[:len(f)-1]
	}
	return fmt.Sprintf("%d.%s%s", whole, f, name)
}
