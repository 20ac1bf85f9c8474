package workloads_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/workloads"
)

const us = sim.Microsecond

// TestRequestsWindow: requests of the warm-up count in no latency; every
// request that arrives in the window does, those unfinished at its end
// with their age then (Incomplete); the backlog adds up.
func TestRequestsWindow(t *testing.T) {
	q := workloads.NewRequests([]string{"short", "long"}, "all")
	warm := q.Arrive(0, 0)      // arrives in the warm-up, completes in the window
	stuck := q.Arrive(10*us, 1) // arrives in the warm-up, never completes
	early := q.Arrive(20*us, 0) // arrives and completes in the warm-up
	q.Complete(30*us, early)    // not in the window's counts
	q.ResetStats(100 * us)      // window [100 µs, 1100 µs]
	a := q.Arrive(200*us, 0)    // 50 µs
	b := q.Arrive(300*us, 1)    // in flight at the end: age 800 µs
	c := q.Arrive(400*us, 0)    // in flight at the end: age 700 µs
	if d, counted := q.Complete(500*us, warm); d != 500*us || counted {
		t.Errorf("Complete(warm-up request) = %v, %v; want 500µs, false", d, counted)
	}
	if d, counted := q.Complete(250*us, a); d != 50*us || !counted {
		t.Errorf("Complete(window request) = %v, %v; want 50µs, true", d, counted)
	}
	_, _ = b, c
	_ = stuck

	r := workloads.NewReport()
	q.Report(1100*us, r)
	ns := func(d sim.Time) int64 { return d.Ns() }
	want := map[string]sim.Summary{
		"short": {Count: 2, Incomplete: 1, Mean: float64(ns(50*us)+ns(700*us)) / 2, P50: ns(50 * us), P90: ns(700 * us), P99: ns(700 * us), P999: ns(700 * us), P9999: ns(700 * us), Max: ns(700 * us)},
		"long":  {Count: 1, Incomplete: 1, Mean: float64(ns(800 * us)), P50: ns(800 * us), P90: ns(800 * us), P99: ns(800 * us), P999: ns(800 * us), P9999: ns(800 * us), Max: ns(800 * us)},
	}
	for class, w := range want {
		got := r.Latency[class]
		// HdrHistogram keeps three significant digits.
		approx := cmp.Comparer(func(x, y int64) bool { return x-y < 1000 && y-x < 1000 })
		if diff := cmp.Diff(w, got, approx); diff != "" {
			t.Errorf("latency %s (-want +got):\n%s", class, diff)
		}
	}
	if all := r.Latency["all"]; all.Count != 3 || all.Incomplete != 2 || all.Max != ns(800*us) {
		t.Errorf("latency all = %+v; want 3 requests, 2 incomplete, max 800 µs", all)
	}
	wantB := map[string]sim.Backlog{
		"short": {Arrived: 2, Completed: 2, InFlightStart: 1, InFlightEnd: 1},
		"long":  {Arrived: 1, Completed: 0, InFlightStart: 1, InFlightEnd: 2},
		"all":   {Arrived: 3, Completed: 2, InFlightStart: 2, InFlightEnd: 3},
	}
	if diff := cmp.Diff(wantB, r.Backlog); diff != "" {
		t.Errorf("backlog (-want +got):\n%s", diff)
	}
	for class, b := range r.Backlog {
		if b.InFlightEnd != b.InFlightStart+b.Arrived-b.Completed {
			t.Errorf("backlog %s does not add up: %+v", class, b)
		}
	}
	if g, c, f := q.Generated(-1), q.Completed(-1), q.InFlight(-1); g != 6 || c != 3 || f != 3 {
		t.Errorf("generated %d, completed %d, in flight %d; want 6, 3, 3", g, c, f)
	}
	if n := q.CompletedInWindow(-1); n != 2 {
		t.Errorf("CompletedInWindow = %d, want 2 (one of the warm-up, one of the window)", n)
	}
	if n := q.CompletedOfWindow(-1); n != 1 {
		t.Errorf("CompletedOfWindow = %d, want 1", n)
	}
}

// TestRequestsClients: a closed loop's client counts reach its backlog,
// summed in the union class.
func TestRequestsClients(t *testing.T) {
	q := workloads.NewRequests([]string{"A", "B"}, "all")
	q.SetClients([]int64{4, 2})
	q.ResetStats(0)
	q.Arrive(0, 1)
	r := workloads.NewReport()
	q.Report(us, r)
	if got := []int64{r.Backlog["A"].Clients, r.Backlog["B"].Clients, r.Backlog["all"].Clients}; !cmp.Equal(got, []int64{4, 2, 6}) {
		t.Errorf("clients A, B, all = %v; want [4 2 6]", got)
	}
}

// TestRequestsNoAllocation: once the table holds the most requests in
// flight at once, Arrive and Complete allocate nothing.
func TestRequestsNoAllocation(t *testing.T) {
	q := workloads.NewRequests([]string{"x"}, "all")
	var ts [64]workloads.Ticket
	now := sim.Time(0)
	cycle := func() {
		for i := range ts {
			now += us
			ts[i] = q.Arrive(now, 0)
		}
		for i := len(ts) - 1; i >= 0; i-- { // out of order
			now += us
			q.Complete(now, ts[i])
		}
	}
	cycle()
	if n := testing.AllocsPerRun(100, cycle); n != 0 {
		t.Errorf("%v allocations per %d requests, want 0", n, len(ts))
	}
}

func TestRequestsCompleteTwicePanics(t *testing.T) {
	q := workloads.NewRequests([]string{"x"}, "")
	tk := q.Arrive(0, 0)
	q.Complete(us, tk)
	defer func() {
		if recover() == nil {
			t.Error("completing a ticket twice did not panic")
		}
	}()
	q.Complete(2*us, tk)
}
