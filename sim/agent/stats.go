package agent

import "github.com/ghostsim/ghostsim/sim"

// Stats are figures a policy keeps for the run's result, beyond what the
// kernel counts: how long its scheduling loop takes and counters of its own
// decisions. A policy that keeps them implements StatsReporter; the
// experiment resets them when warm-up ends and writes them into the result
// (Loop as ghost.agent_loop_ns, each counter as metrics "policy.NAME").
type Stats struct {
	// Loop holds the duration of each scheduling-loop iteration that did
	// work (drained messages or committed), in simulated time.
	Loop *sim.Histogram
	// Counters are named counts (hold-backs taken, skipped threads, ...).
	// Register each name once (Counter) at construction; the result lists
	// them sorted by name.
	names  []string
	counts []int64
}

// NewStats returns empty stats.
func NewStats() *Stats { return &Stats{Loop: sim.NewHistogram()} }

// Counter registers a counter named name and returns its index for Add.
func (s *Stats) Counter(name string) int {
	for i, n := range s.names {
		if n == name {
			return i
		}
	}
	s.names = append(s.names, name)
	s.counts = append(s.counts, 0)
	return len(s.names) - 1
}

// Add adds n to counter i.
func (s *Stats) Add(i int, n int64) { s.counts[i] += n }

// Counters calls f for each counter, in registration order.
func (s *Stats) Counters(f func(name string, n int64)) {
	for i, n := range s.names {
		f(n, s.counts[i])
	}
}

// Reset empties the loop histogram and zeroes the counters.
func (s *Stats) Reset() {
	s.Loop = sim.NewHistogram()
	for i := range s.counts {
		s.counts[i] = 0
	}
}

// StatsReporter is implemented by policies that keep Stats.
type StatsReporter interface {
	Stats() *Stats
}
