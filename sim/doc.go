// Package sim is ghostsim's discrete-event engine: simulated time, the
// future-event set, the run loop, coroutines for code written as blocking
// loops, named random streams, and the statistics the results report.
//
// It knows nothing of CPUs, tasks or schedulers, and has no I/O or clock.
//
// # Determinism
//
// One goroutine drives an Engine. Events at the same time run in the order
// they were scheduled (ties broken by an insertion sequence number), time is
// an integer count of picoseconds, and every random number comes from a
// stream named by its consumer and seeded from hash(seed, name), so adding a
// consumer never shifts another's sequence. Coroutines strictly alternate
// with the engine: only one piece of model code runs at any moment.
//
// Floating-point values derived from random streams (an exponential service
// time) are rounded to whole picoseconds where they become Time. Go computes
// them identically on every machine of the same architecture; across
// architectures a last-ulp difference in a math library routine could, in
// principle, move a rounding by one picosecond.
package sim
