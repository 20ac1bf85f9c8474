package kernel

import (
	"math"
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// mm1 runs one CFS worker on CPU 0 serving Poisson arrivals with
// exponential service, FIFO-queued at user level, and returns the mean
// sojourn time (arrival to completion) over n requests.
func mm1(t *testing.T, sets []string, lambdaPerS float64, meanService sim.Time, n int) (float64, *Kernel) {
	k := newTestKernel(t, "skylake112", sets...)
	k.check = false // a million requests: the invariant sweep is covered elsewhere
	k.eng.AfterEvent = nil
	e := k.Engine()
	arrivals := e.Rand("test/arrivals")
	services := e.Rand("test/services")
	type req struct{ at, work sim.Time }
	var queue []req
	var sum float64
	done := 0
	worker := spawn(t, k, TaskSpec{Name: "worker", Class: ClassCFS, CPU: 0, Affinity: SetOf(0), NUMAHome: -1, Program: func(th *Thread) {
		for {
			for len(queue) == 0 {
				th.Block()
			}
			r := queue[0]
			queue = queue[1:]
			th.Run(r.work)
			sum += float64(th.Now() - r.at)
			done++
		}
	}})
	meanGap := sim.Time(float64(sim.Second) / lambdaPerS)
	var gen sim.HandlerID
	generated := 0
	gen = e.Register(sim.HandlerFunc(func(now sim.Time, _ sim.Event) {
		queue = append(queue, req{at: now, work: sim.ExpTime(services, meanService)})
		k.Wake(worker)
		generated++
		if generated < n {
			e.After(sim.ExpTime(arrivals, meanGap), gen, sim.Event{})
		}
	}))
	e.After(sim.ExpTime(arrivals, meanGap), gen, sim.Event{})
	for done < n {
		e.Run(e.Now() + sim.Second)
	}
	return sum / float64(done), k
}

// TestMM1Oracle: with every scheduling cost zeroed, one CFS worker on one
// CPU is an M/M/1 queue: mean sojourn 1/(mu - lambda). At rho = 0.5 a
// million requests give the sample mean a standard error of about 0.5 %.
func TestMM1Oracle(t *testing.T) {
	if testing.Short() {
		t.Skip("a million requests")
	}
	const lambda = 50000.0 // per second
	meanS := 10 * sim.Microsecond
	mu := float64(sim.Second) / float64(meanS)
	want := float64(sim.Second) / (mu - lambda)
	got, _ := mm1(t, []string{"costs.zero_overheads=true"}, lambda, meanS, 1_000_000)
	t.Logf("mean sojourn %.1f ns, M/M/1 %.1f ns", got/1000, want/1000)
	if rel := math.Abs(got-want) / want; rel > 0.02 {
		t.Errorf("mean sojourn %.0f ps, M/M/1 predicts %.0f ps (off by %.2f%%)", got, want, 100*rel)
	}
}

// TestMM1OverheadShift: at low load every request finds the worker asleep,
// so turning scheduling costs on adds the CFS context switch that brings
// the worker in (plus a tick's handler for the rare request that meets
// one): the mean sojourn shifts by the modeled per-request overhead.
func TestMM1OverheadShift(t *testing.T) {
	const lambda = 1000.0 // rho = 1 %
	meanS := 10 * sim.Microsecond
	n := 20000
	free, _ := mm1(t, []string{"costs.zero_overheads=true"}, lambda, meanS, n)
	costly, k := mm1(t, nil, lambda, meanS, n)
	c := k.Machine().Costs()
	// The same seeds give the same arrivals and service times, so the
	// shift is the overhead itself plus ticks met (~1 % of requests) and
	// the slightly longer busy periods.
	shift := costly - free
	want := float64(c.ContextSwitchCFS)
	t.Logf("shift %.1f ns, CFS switch %.1f ns", shift/1000, want/1000)
	if shift < want || shift > want*1.05 {
		t.Errorf("mean sojourn shift %.0f ps, want the CFS switch-in %.0f ps (+5%%)", shift, want)
	}
}
