package sim

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type recorder struct {
	e   *Engine
	log []string
}

func (r *recorder) HandleEvent(now Time, ev Event) {
	r.log = append(r.log, fmt.Sprintf("%v k%d a%d", now, ev.Kind, ev.A))
}

func TestEngineOrdersByTimeThenInsertion(t *testing.T) {
	e := NewEngine(1)
	r := &recorder{e: e}
	id := e.Register(r)
	e.Schedule(Ns(5), id, Event{Kind: 1, A: 1})
	e.Schedule(Ns(3), id, Event{Kind: 2, A: 2})
	e.Schedule(Ns(5), id, Event{Kind: 3, A: 3})
	e.Schedule(Ns(3), id, Event{Kind: 4, A: 4})
	e.Schedule(0, id, Event{Kind: 5, A: 5})
	n := e.Run(Ns(10))
	want := []string{"0s k5 a5", "3ns k2 a2", "3ns k4 a4", "5ns k1 a1", "5ns k3 a3"}
	if diff := cmp.Diff(want, r.log); diff != "" {
		t.Errorf("delivery order (-want +got):\n%s", diff)
	}
	if n != 5 || e.Now() != Ns(10) {
		t.Errorf("Run delivered %d events, clock %v; want 5 and 10ns", n, e.Now())
	}
}

func TestRunStopsAtHorizon(t *testing.T) {
	e := NewEngine(1)
	r := &recorder{e: e}
	id := e.Register(r)
	e.Schedule(Ns(5), id, Event{A: 1})
	e.Schedule(Ns(15), id, Event{A: 2})
	e.Run(Ns(10))
	if len(r.log) != 1 || e.Now() != Ns(10) || e.Pending() != 1 {
		t.Fatalf("after Run(10ns): log %v, now %v, pending %d", r.log, e.Now(), e.Pending())
	}
	e.Run(Ns(20))
	if len(r.log) != 2 {
		t.Fatalf("second Run delivered %v", r.log)
	}
}

// TestEventLimit: with a budget of n events Run delivers n in all, over
// several calls, then returns at once with the clock at the last event
// delivered, and LimitReached says why.
func TestEventLimit(t *testing.T) {
	e := NewEngine(1)
	r := &recorder{e: e}
	id := e.Register(r)
	for i := 1; i <= 5; i++ {
		e.Schedule(Ns(int64(i)), id, Event{A: int32(i)})
	}
	e.SetEventLimit(3)
	if n := e.Run(Ns(2)); n != 2 || e.LimitReached() {
		t.Fatalf("Run(2ns) delivered %d, limit reached %v; want 2 and false", n, e.LimitReached())
	}
	if n := e.Run(Ns(10)); n != 1 || !e.LimitReached() || e.Now() != Ns(3) || e.Pending() != 2 {
		t.Fatalf("Run(10ns) delivered %d, limit reached %v, clock %v, pending %d; want 1, true, 3ns, 2", n, e.LimitReached(), e.Now(), e.Pending())
	}
	if n := e.Run(Ns(20)); n != 0 || e.Now() != Ns(3) {
		t.Fatalf("after the budget: Run delivered %d, clock %v; want 0 and 3ns", n, e.Now())
	}
}

func TestSchedulingInThePastPanics(t *testing.T) {
	e := NewEngine(1)
	id := e.Register(HandlerFunc(func(Time, Event) {}))
	e.Run(Ns(10))
	defer func() {
		if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), "before now") {
			t.Errorf("recover() = %v, want a panic about the past", p)
		}
	}()
	e.Schedule(Ns(5), id, Event{})
}

func TestTimerCancellationByGeneration(t *testing.T) {
	e := NewEngine(1)
	var tm Timer
	var fired []Time
	id := e.Register(HandlerFunc(func(now Time, ev Event) {
		if tm.Fired(ev) {
			fired = append(fired, now)
		}
	}))
	tm.Arm(e, Ns(10), id, Event{})
	tm.Arm(e, Ns(20), id, Event{}) // replaces the 10 ns arming
	e.Run(Ns(30))
	tm.Arm(e, Ns(40), id, Event{})
	tm.Stop()
	e.Run(Ns(50))
	if diff := cmp.Diff([]Time{Ns(20)}, fired); diff != "" {
		t.Errorf("timer fired at (-want +got):\n%s", diff)
	}
	if _, armed := tm.Armed(); armed {
		t.Error("timer still armed after firing and Stop")
	}
}

func TestAfterEventHook(t *testing.T) {
	e := NewEngine(1)
	id := e.Register(HandlerFunc(func(Time, Event) {}))
	for i := 0; i < 5; i++ {
		e.After(Ns(int64(i)), id, Event{})
	}
	calls := 0
	e.AfterEvent = func(Time) { calls++ }
	e.Run(Ns(100))
	if calls != 5 {
		t.Errorf("AfterEvent ran %d times, want 5", calls)
	}
}

func TestTimeString(t *testing.T) {
	tests := []struct {
		t    Time
		want string
	}{
		{0, "0s"},
		{500, "500ps"},
		{Ns(725), "725ns"},
		{FromNs(1772.5), "1.772us"},
		{Us(30), "30us"},
		{Ms(2) + Us(500), "2.5ms"},
		{Second + Ms(200), "1.2s"},
		{-Ns(3), "-3ns"},
		{Never, "never"},
		{Cycles(144, 2.0), "72ns"},
	}
	for _, tt := range tests {
		if got := tt.t.String(); got != tt.want {
			t.Errorf("Time(%d).String() = %q, want %q", int64(tt.t), got, tt.want)
		}
	}
}

func TestCoroutineYieldsAndFinishes(t *testing.T) {
	e := NewEngine(1)
	c := NewCoroutine(e, "counter", func(yield func(int)) {
		for i := 1; i <= 3; i++ {
			yield(i)
		}
	})
	var got []int
	for {
		v, ok, err := c.Resume()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		got = append(got, v)
	}
	if diff := cmp.Diff([]int{1, 2, 3}, got); diff != "" {
		t.Errorf("yields (-want +got):\n%s", diff)
	}
	if !c.Done() || e.Live() != 0 {
		t.Errorf("Done = %v, Live = %d after return", c.Done(), e.Live())
	}
}

func TestCoroutinePanicIsReturned(t *testing.T) {
	e := NewEngine(1)
	c := NewCoroutine(e, "agent", func(yield func(int)) {
		yield(1)
		panic("policy bug")
	})
	if _, ok, err := c.Resume(); !ok || err != nil {
		t.Fatalf("first Resume = %v, %v", ok, err)
	}
	_, ok, err := c.Resume()
	pe, isPanic := err.(*PanicError)
	if ok || !isPanic || pe.Value != "policy bug" || pe.Coroutine != "agent" {
		t.Fatalf("Resume after panic = %v, %v; want false and a PanicError", ok, err)
	}
	if e.Live() != 0 {
		t.Errorf("Live = %d after panic", e.Live())
	}
}

// TestCloseLeaksNoGoroutine starts many suspended coroutines, some with
// deferred work, and checks that Close ends every goroutine.
func TestCloseLeaksNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	e := NewEngine(1)
	unwound := 0
	for i := 0; i < 100; i++ {
		c := NewCoroutine(e, "thread", func(yield func(int)) {
			defer func() { unwound++ }()
			for {
				yield(0)
			}
		})
		if i%2 == 0 {
			c.Resume() // half are mid-body, half never started
		}
	}
	if e.Live() != 100 {
		t.Fatalf("Live = %d, want 100", e.Live())
	}
	e.Close()
	if e.Live() != 0 || unwound != 50 {
		t.Errorf("after Close: Live = %d, deferred calls run = %d; want 0 and 50", e.Live(), unwound)
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Close, %d before", n, before)
	}
}

func TestRandStreamsAreIndependentAndReproducible(t *testing.T) {
	draw := func(e *Engine, name string, n int) []uint64 {
		r := e.Rand(name)
		out := make([]uint64, n)
		for i := range out {
			out[i] = r.Uint64()
		}
		return out
	}
	a := NewEngine(42)
	arrivalsFirst := draw(a, "workload/arrivals", 5)

	// Another engine with the same seed uses a second stream first: the
	// arrivals stream must not shift.
	b := NewEngine(42)
	draw(b, "hw/jitter", 100)
	if diff := cmp.Diff(arrivalsFirst, draw(b, "workload/arrivals", 5)); diff != "" {
		t.Errorf("arrival stream shifted by another consumer (-want +got):\n%s", diff)
	}
	if cmp.Equal(arrivalsFirst, draw(NewEngine(43), "workload/arrivals", 5)) {
		t.Error("seeds 42 and 43 give the same arrival stream")
	}
	if cmp.Equal(arrivalsFirst, draw(NewEngine(42), "workload/service", 5)) {
		t.Error("two names give the same stream")
	}
}

func TestHistogramSummary(t *testing.T) {
	h := NewHistogram()
	for i := 1; i <= 10000; i++ {
		h.Record(Us(int64(i)))
	}
	s := h.Summary()
	within := func(name string, got, want int64) {
		t.Helper()
		if d := float64(got-want) / float64(want); d > 0.001 || d < -0.001 {
			t.Errorf("%s = %d, want %d within 0.1%%", name, got, want)
		}
	}
	if s.Count != 10000 || s.Max != Us(10000).Ns() {
		t.Errorf("count %d max %d", s.Count, s.Max)
	}
	within("p50", s.P50, Us(5000).Ns())
	within("p99", s.P99, Us(9900).Ns())
	within("p99.9", s.P999, Us(9990).Ns())
	if s.Mean != 5000.5*1000 {
		t.Errorf("mean = %v, want %v", s.Mean, 5000.5*1000)
	}
}

// TestHistogramPercentilesWithinMinMax: HdrHistogram reports a bucket's
// top, which can exceed every value recorded; no percentile may exceed the
// max (or fall below the min) it is reported beside.
func TestHistogramPercentilesWithinMinMax(t *testing.T) {
	for _, v := range []Time{Ns(10_022_832), Ns(1_234_567), Ns(999)} {
		h := NewHistogram()
		for range 5 {
			h.Record(v)
		}
		s := h.Summary()
		got := []int64{s.P50, s.P90, s.P99, s.P999, s.P9999}
		want := []int64{v.Ns(), v.Ns(), v.Ns(), v.Ns(), v.Ns()}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%v recorded 5 times: p50, p90, p99, p99.9, p99.99 (-want +got):\n%s", v, diff)
		}
	}
}

func TestBusyAccumulates(t *testing.T) {
	var b Busy
	b.Set(Ns(10), true)
	b.Set(Ns(30), false)
	b.Set(Ns(50), true)
	if got := b.Total(Ns(60)); got != Ns(30) {
		t.Errorf("busy total = %v, want 30ns", got)
	}
}

// TestHoldModelDoesNotAllocate pins the hot-path budget: once the heap has
// grown, delivering an event allocates nothing.
func TestHoldModelDoesNotAllocate(t *testing.T) {
	e := NewEngine(1)
	NewHoldModel(e, 1000, Us(1))
	e.Run(Ms(1))
	allocs := testing.AllocsPerRun(100, func() { e.Step() })
	if allocs != 0 {
		t.Errorf("Step allocates %v times per event, want 0", allocs)
	}
}

func TestHoldModelIsDeterministic(t *testing.T) {
	run := func() (Time, uint64) {
		e := NewEngine(7)
		NewHoldModel(e, 100, Us(1))
		for i := 0; i < 10000; i++ {
			e.Step()
		}
		return e.Now(), e.Executed()
	}
	t1, n1 := run()
	t2, n2 := run()
	if t1 != t2 || n1 != n2 {
		t.Errorf("two runs: %v/%d and %v/%d", t1, n1, t2, n2)
	}
}
