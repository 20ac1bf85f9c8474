package sim

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
)

// rngSet holds an engine's named random streams.
type rngSet struct {
	seed    uint64
	streams map[string]*rand.Rand // looked up by name only; never iterated
}

func newRNGSet(seed uint64) rngSet {
	return rngSet{seed: seed, streams: make(map[string]*rand.Rand)}
}

// Seed returns the seed the engine's streams derive from.
func (e *Engine) Seed() uint64 { return e.rng.seed }

// Rand returns the random stream named name, creating it on first use. The
// stream is a PCG generator seeded from hash(seed, name): its sequence
// depends only on the engine's seed and the name, never on which other
// streams exist or how much they were used. Name streams by consumer, such
// as "workload/arrivals" or "hw/jitter".
func (e *Engine) Rand(name string) *rand.Rand {
	if r, ok := e.rng.streams[name]; ok {
		return r
	}
	r := NewStream(e.rng.seed, name)
	e.rng.streams[name] = r
	return r
}

// NewStream returns the PCG stream for (seed, name), as Engine.Rand does,
// for code that runs outside an engine (parameter generation, tests).
func NewStream(seed uint64, name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))
	n := h.Sum64()
	return rand.New(rand.NewPCG(splitmix64(seed^n), splitmix64(n+0x9e3779b97f4a7c15*(seed|1))))
}

// splitmix64 scrambles x; it turns related seeds into unrelated PCG states.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// ExpTime draws an exponentially distributed duration with the given mean,
// rounded to the picosecond.
func ExpTime(r *rand.Rand, mean Time) Time {
	return Time(math.Round(r.ExpFloat64() * float64(mean)))
}
