package hw

import (
	"math"
	"math/big"
	mrand "math/rand"
	"math/rand/v2"
	"testing"
	"testing/quick"

	"github.com/ghostsim/ghostsim/sim"
)

// modelFinish is the naive model of Progress: work is W × 2^20 sub-units,
// each segment [t_i, t_i+1) at rate R_i consumes (t_i+1 − t_i) × R_i of
// them, and the finish is the last change plus the rest divided by the last
// rate, rounded up. It uses big integers and no shortcuts. It returns
// (finish, true) if the work completes after the last change, or false if
// it completed before (the caller then only checks Done).
func modelFinish(start sim.Time, work int64, times []sim.Time, rates []Rate) (sim.Time, bool) {
	rem := new(big.Int).Lsh(big.NewInt(work), rateShift)
	at := start
	for i, tm := range times[1:] {
		rem.Sub(rem, new(big.Int).Mul(big.NewInt(int64(tm-at)), big.NewInt(int64(rates[i]))))
		at = tm
		if rem.Sign() <= 0 {
			return 0, false
		}
	}
	last := rates[len(rates)-1]
	if last == 0 {
		return sim.Never, true
	}
	q, m := new(big.Int).QuoRem(rem, big.NewInt(int64(last)), new(big.Int))
	if m.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	q.Add(q, big.NewInt(int64(at)))
	if !q.IsInt64() || q.Int64() >= int64(sim.Never) {
		return sim.Never, true
	}
	return sim.Time(q.Int64()), true
}

func randRate(r *rand.Rand) Rate {
	switch r.IntN(4) {
	case 0:
		return FullRate
	case 1:
		return Rate(1 + r.IntN(16)) // very slow: exercises large quotients
	default:
		return Rate(1 + r.IntN(int(2*FullRate)))
	}
}

func randWork(r *rand.Rand) int64 {
	switch r.IntN(5) {
	case 0:
		return int64(r.IntN(1000))
	case 1:
		return r.Int64N(math.MaxInt64) // near the top of the range
	default:
		return r.Int64N(int64(sim.Second))
	}
}

// TestProgressSplitInvariant: starting work W at rate R and running to
// FinishAt leaves Remaining = 0 (and 1 ps earlier it is not done), and
// splitting the run with any number of SetRate calls at the same rate
// gives the same FinishAt. The accounting is exact, so the tolerance the
// design allows (±1 ps) is not even needed.
func TestProgressSplitInvariant(t *testing.T) {
	seed := uint64(20211026)
	r := rand.New(rand.NewPCG(seed, 1))
	for iter := 0; iter < 20000; iter++ {
		start := sim.Time(r.Int64N(int64(sim.Second)))
		work, rate := randWork(r), randRate(r)
		var p Progress
		p.Start(start, work, rate)
		finish := p.FinishAt()
		want, _ := modelFinish(start, work, []sim.Time{start}, []Rate{rate})
		if finish != want {
			t.Fatalf("seed %d iter %d: Start(%v, %d, %d).FinishAt() = %v, model %v", seed, iter, start, work, rate, finish, want)
		}
		if finish != sim.Never {
			if rem := p.Remaining(finish); rem != 0 {
				t.Fatalf("seed %d iter %d: Remaining(FinishAt) = %d", seed, iter, rem)
			}
			if work > 0 && (p.Done(finish-1) || p.Remaining(finish-1) == 0) {
				t.Fatalf("seed %d iter %d: done 1ps before FinishAt %v", seed, iter, finish)
			}
		}
		// Split into random pieces at the same rate.
		end := finish
		if end == sim.Never || end-start > 1<<50 {
			end = start + 1<<50
		}
		now := start
		for k := r.IntN(20); k > 0; k-- {
			now += sim.Time(r.Int64N(int64(end-now) + 1))
			p.SetRate(now, rate)
			if got := p.FinishAt(); got != finish {
				t.Fatalf("seed %d iter %d: after SetRate(%v) at the same rate FinishAt = %v, want %v (work %d rate %d)",
					seed, iter, now, got, finish, work, rate)
			}
		}
	}
}

// TestProgressMatchesModel drives Progress through random rate changes,
// pauses included, and compares it with the big-integer model.
func TestProgressMatchesModel(t *testing.T) {
	seed := uint64(7)
	r := rand.New(rand.NewPCG(seed, 2))
	for iter := 0; iter < 5000; iter++ {
		start := sim.Time(r.Int64N(int64(sim.Millisecond)))
		work := r.Int64N(int64(10 * sim.Microsecond))
		times, rates := []sim.Time{start}, []Rate{randRate(r)}
		var p Progress
		p.Start(start, work, rates[0])
		now := start
		for k := r.IntN(10); k > 0; k-- {
			now += sim.Time(r.Int64N(int64(5 * sim.Microsecond)))
			rate := randRate(r)
			if r.IntN(4) == 0 {
				rate = 0
			}
			p.SetRate(now, rate)
			times, rates = append(times, now), append(rates, rate)
		}
		want, live := modelFinish(start, work, times, rates)
		if !live {
			if !p.Done(now) || p.Remaining(now) != 0 || p.FinishAt() > now {
				t.Fatalf("seed %d iter %d: work complete by %v in the model, Progress says finish %v", seed, iter, now, p.FinishAt())
			}
			continue
		}
		if got := p.FinishAt(); got != want {
			t.Fatalf("seed %d iter %d: FinishAt = %v, model %v (times %v rates %v work %d)", seed, iter, got, want, times, rates, work)
		}
	}
}

// TestProgressRemainingQuick: Remaining never increases with time and
// reaches 0 exactly at FinishAt.
func TestProgressRemainingQuick(t *testing.T) {
	f := func(work uint32, rate uint32, dt1, dt2 uint32) bool {
		rt := Rate(rate%uint32(2*FullRate)) + 1
		var p Progress
		p.Start(100, int64(work), rt)
		a, b := sim.Time(100)+sim.Time(dt1), sim.Time(100)+sim.Time(dt1)+sim.Time(dt2)
		ra, rb := p.Remaining(a), p.Remaining(b)
		fin := p.FinishAt()
		return rb <= ra && ra <= int64(work) && (rb == 0) == (b >= fin) && p.Done(b) == (b >= fin)
	}
	if err := quick.Check(f, &quick.Config{Rand: mrand.New(mrand.NewSource(1)), MaxCount: 5000}); err != nil {
		t.Error(err)
	}
}

// TestProgressSiblingStartsAndStops: a thread with 10 µs of work on
// skylake112; its sibling computes from 2 µs to 5 µs. For those 3 µs it
// runs at smt_compute_rate 0.6, so it finishes 3 µs × 0.4 = 1.2 µs late.
func TestProgressSiblingStartsAndStops(t *testing.T) {
	m := mustNew(t, loadMachineFile(t, "skylake112"))
	alone := m.ExecRate(SiblingIdle, 0, false)
	shared := m.ExecRate(SiblingComputing, 0, false)
	work := int64(10 * sim.Microsecond)

	var p Progress
	p.Start(0, work, alone)
	if got := p.FinishAt(); got != 10*sim.Microsecond {
		t.Fatalf("alone: FinishAt = %v, want 10us", got)
	}
	p.SetRate(2*sim.Microsecond, shared)
	// While the sibling runs, the finish moves out to 2 µs + 8 µs / 0.6.
	wantShared := 2*sim.Microsecond + ceilDiv(8*int64(sim.Microsecond)<<rateShift, int64(shared))
	if got := p.FinishAt(); got != wantShared {
		t.Errorf("sibling running: FinishAt = %v, want %v", got, wantShared)
	}
	// Exactly: the 3 µs at rate `shared` did 3e6 × shared / 2^20 full-rate
	// ps; RateOf(0.6) is 0.6 + 0.4/2^20, so that is 1.14 ps more than
	// 1.8 µs, and the finish is 1 ps earlier than 11.2 µs.
	left := (8*int64(sim.Microsecond))<<rateShift - 3*int64(sim.Microsecond)*int64(shared)
	if got, want := p.Remaining(5*sim.Microsecond), int64(ceilDiv(left, int64(FullRate))); got != want {
		t.Errorf("Remaining at 5us = %d, want %d", got, want)
	}
	p.SetRate(5*sim.Microsecond, alone)
	wantStopped := 5*sim.Microsecond + ceilDiv(left, int64(FullRate))
	if got := p.FinishAt(); got != wantStopped {
		t.Errorf("sibling stopped: FinishAt = %v, want %v", got, wantStopped)
	}
	if d := wantStopped - 11200*sim.Nanosecond; d < -2 || d > 0 {
		t.Errorf("sibling stopped: FinishAt = %v, want 11.2us within the 2 ps of rate quantisation", wantStopped)
	}
	// Pause for 1 µs: the finish moves by exactly 1 µs.
	p.SetRate(6*sim.Microsecond, 0)
	if got := p.FinishAt(); got != sim.Never {
		t.Errorf("paused: FinishAt = %v, want never", got)
	}
	if a, b := p.Remaining(6*sim.Microsecond), p.Remaining(7*sim.Microsecond); a != b {
		t.Errorf("paused: Remaining changed from %d to %d", a, b)
	}
	p.SetRate(7*sim.Microsecond, alone)
	if got, want := p.FinishAt(), wantStopped+sim.Microsecond; got != want {
		t.Errorf("resumed: FinishAt = %v, want %v", got, want)
	}
	// A rate change after completion keeps the completion time.
	p.SetRate(20*sim.Microsecond, shared)
	if got, want := p.FinishAt(), wantStopped+sim.Microsecond; got != want || !p.Done(20*sim.Microsecond) {
		t.Errorf("after completion: FinishAt = %v, want %v", got, want)
	}
}

func ceilDiv(a, b int64) sim.Time { return sim.Time((a + b - 1) / b) }

func TestProgressEdges(t *testing.T) {
	var zero Progress
	if !zero.Done(0) || zero.FinishAt() != 0 || zero.Remaining(5) != 0 {
		t.Errorf("zero Progress: Done %v FinishAt %v", zero.Done(0), zero.FinishAt())
	}
	var p Progress
	p.Start(sim.Us(3), 0, FullRate)
	if p.FinishAt() != sim.Us(3) || !p.Done(sim.Us(3)) {
		t.Errorf("no work: FinishAt = %v", p.FinishAt())
	}
	p.Start(0, math.MaxInt64, FullRate)
	if got := p.FinishAt(); got != sim.Never {
		t.Errorf("max work at full rate from 0: FinishAt = %v, want never", got)
	}
	p.Start(0, math.MaxInt64, 1)
	if got := p.FinishAt(); got != sim.Never {
		t.Errorf("max work at rate 1: FinishAt = %v, want never", got)
	}
	p.Start(0, 1000, 2*FullRate)
	if got := p.FinishAt(); got != 500 {
		t.Errorf("double rate: FinishAt = %v, want 500ps", got)
	}
	if p.Rate() != 2*FullRate {
		t.Errorf("Rate() = %v", p.Rate())
	}
	for name, f := range map[string]func(){
		"negative work":  func() { var q Progress; q.Start(0, -1, FullRate) },
		"time backwards": func() { var q Progress; q.Start(100, 10, FullRate); q.SetRate(99, FullRate) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func TestProgressDoesNotAllocate(t *testing.T) {
	var p Progress
	p.Start(0, 1<<40, FullRate)
	now := sim.Time(0)
	rates := [2]Rate{FullRate, RateOf(0.6)}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		now += 1000
		i++
		p.SetRate(now, rates[i&1])
		_ = p.FinishAt()
		_ = p.Remaining(now)
	})
	if allocs != 0 {
		t.Errorf("allocations per SetRate+FinishAt = %v, want 0", allocs)
	}
}

func BenchmarkProgressSetRateFinishAt(b *testing.B) {
	b.ReportAllocs()
	var p Progress
	p.Start(0, 1<<60, FullRate)
	rates := [2]Rate{FullRate, RateOf(0.6)}
	var now, sink sim.Time
	for i := 0; b.Loop(); i++ {
		now += 1000
		p.SetRate(now, rates[i&1])
		sink += p.FinishAt()
	}
	_ = sink
}

func BenchmarkExecRateRemote(b *testing.B) {
	b.ReportAllocs()
	m := mustNew(b, loadMachineFile(b, "rome256"))
	var sink Rate
	for i := 0; b.Loop(); i++ {
		sink += m.ExecRate(SiblingActivity(i%3), Rate(i)&(FullRate-1), true)
	}
	_ = sink
}
