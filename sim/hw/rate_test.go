package hw

import (
	"math"
	"testing"
)

// nearRate reports whether got is within tol units of the fraction want.
func nearRate(got Rate, want float64, tol float64) bool {
	return math.Abs(float64(got)-want*float64(FullRate)) <= tol
}

func TestExecRate(t *testing.T) {
	sky := mustNew(t, loadMachineFile(t, "skylake112")) // DRAM 85 / 135 ns
	rome := mustNew(t, loadMachineFile(t, "rome256"))   // DRAM 115 / 200 ns
	half := FullRate / 2
	tests := []struct {
		name     string
		m        *Machine
		sibling  SiblingActivity
		memShare Rate
		remote   bool
		want     float64 // as a fraction
	}{
		{"alone", sky, SiblingIdle, 0, false, 1},
		{"alone, memory-bound, local", sky, SiblingIdle, FullRate, false, 1},
		{"alone, compute-bound, remote", sky, SiblingIdle, 0, true, 1},
		{"sibling computing", sky, SiblingComputing, 0, false, 0.60},
		{"sibling spinning", sky, SiblingSpinning, 0, false, 0.97},
		{"rome sibling spinning", rome, SiblingSpinning, 0, false, 0.95},
		{"sibling computing, local memory", sky, SiblingComputing, FullRate, false, 0.60},
		{"all memory, remote", sky, SiblingIdle, FullRate, true, 85.0 / 135},
		{"half memory, remote", sky, SiblingIdle, half, true, 1 / (0.5 + 0.5*135/85)},
		{"rome half memory, remote", rome, SiblingIdle, half, true, 1 / (0.5 + 0.5*200/115)},
		{"sibling computing, all memory, remote", sky, SiblingComputing, FullRate, true, 0.60 * 85 / 135},
		{"busiest of spinning and computing", sky, max(SiblingSpinning, SiblingComputing), 0, false, 0.60},
	}
	for _, tt := range tests {
		got := tt.m.ExecRate(tt.sibling, tt.memShare, tt.remote)
		if !nearRate(got, tt.want, 2) {
			t.Errorf("%s: ExecRate = %d (%v), want %v", tt.name, got, got, tt.want)
		}
	}
	// Exact values where no NUMA division happens.
	if r := sky.ExecRate(SiblingIdle, 0, false); r != FullRate {
		t.Errorf("alone = %d, want FullRate exactly", r)
	}
	if r, want := sky.ExecRate(SiblingComputing, 0, true), RateOf(0.6); r != want {
		t.Errorf("computing sibling = %d, want RateOf(0.6) = %d", r, want)
	}
	if r, want := sky.SMTRate(SiblingSpinning), RateOf(0.97); r != want {
		t.Errorf("SMTRate(spinning) = %d, want %d", r, want)
	}
}

func TestExecRateMonotonic(t *testing.T) {
	m := mustNew(t, loadMachineFile(t, "rome256"))
	prev := FullRate + 1
	for ms := Rate(0); ms <= FullRate; ms += FullRate / 64 {
		r := m.ExecRate(SiblingIdle, ms, true)
		if r > prev {
			t.Fatalf("rate grew from %d to %d as memory share rose to %d", prev, r, ms)
		}
		prev = r
	}
}

func TestExecRatePanicsOnShareAboveOne(t *testing.T) {
	m := mustNew(t, smallSpec())
	defer func() {
		if recover() == nil {
			t.Errorf("no panic for memShare > FullRate")
		}
	}()
	m.ExecRate(SiblingIdle, FullRate+1, true)
}

func TestRateOf(t *testing.T) {
	tests := []struct {
		f    float64
		want Rate
	}{{0, 0}, {1, FullRate}, {0.5, FullRate / 2}, {0.6, 629146}, {2, 2 * FullRate}}
	for _, tt := range tests {
		if got := RateOf(tt.f); got != tt.want {
			t.Errorf("RateOf(%v) = %d, want %d", tt.f, got, tt.want)
		}
	}
	if s := RateOf(0.5).String(); s != "0.5" {
		t.Errorf("String = %q", s)
	}
}
