package search

import (
	"errors"
	"math"

	"github.com/ghostsim/ghostsim/sim"
)

// Spec is the [workload.search] table. configs/search.toml holds the same
// values as DefaultSpec, with the reasoning for each.
type Spec struct {
	// Servers is the number of server threads; each query goes to one,
	// round robin (RSS-style), which parses it (ServerUs of work) and
	// hands its sub-queries to workers.
	Servers   int     `toml:"servers"`
	ServerUs  float64 `toml:"server_us"`
	ServerMem float64 `toml:"server_mem_share"`
	ServerKB  int     `toml:"server_footprint_kb"`
	// ThinkUs is each client's mean think time between a reply and its
	// next query (exponential; 0: at once).
	ThinkUs float64 `toml:"think_us"`

	A  ASpec      `toml:"a"`
	B  BSpec      `toml:"b"`
	C  CSpec      `toml:"c"`
	GC PeriodSpec `toml:"gc"`
	// Daemons are CFS threads of the rest of the system (monitoring,
	// RPC housekeeping): they preempt ghOSt threads when they wake.
	Daemons PeriodSpec `toml:"daemons"`
}

// ASpec is query type A: CPU and memory bound, served by long-lived
// workers woken as needed; a fraction of its sub-queries must run on the
// socket holding their data.
type ASpec struct {
	Clients          int     `toml:"clients"`
	Fanout           int     `toml:"fanout"`
	BoundFraction    float64 `toml:"bound_fraction"`
	WorkersPerSocket int     `toml:"workers_per_socket"`
	UnboundWorkers   int     `toml:"unbound_workers"`
	WorkMedianUs     float64 `toml:"work_median_us"`
	WorkCV           float64 `toml:"work_cv"`
	MemShare         float64 `toml:"mem_share"`
	FootprintKB      int     `toml:"footprint_kb"`
	ShortFraction    float64 `toml:"short_burst_fraction"`
	ShortMinUs       float64 `toml:"short_burst_min_us"`
	ShortMaxUs       float64 `toml:"short_burst_max_us"`
	LongMeanUs       float64 `toml:"long_burst_mean_us"`
	WaitMeanUs       float64 `toml:"wait_mean_us"`
}

// BSpec is query type B: little CPU and one SSD read per sub-query, each
// served by a short-lived worker the server creates and that exits after.
type BSpec struct {
	Clients     int     `toml:"clients"`
	Fanout      int     `toml:"fanout"`
	CPUMinUs    float64 `toml:"cpu_min_us"`
	CPUMaxUs    float64 `toml:"cpu_max_us"`
	SSDMeanUs   float64 `toml:"ssd_mean_us"`
	SSDSigma    float64 `toml:"ssd_sigma"`
	MemShare    float64 `toml:"mem_share"`
	FootprintKB int     `toml:"footprint_kb"`
}

// CSpec is query type C: CPU bound, served by long-lived workers.
type CSpec struct {
	Clients     int     `toml:"clients"`
	Fanout      int     `toml:"fanout"`
	Workers     int     `toml:"workers"`
	BurstMinUs  float64 `toml:"burst_min_us"`
	BurstMaxUs  float64 `toml:"burst_max_us"`
	MemShare    float64 `toml:"mem_share"`
	FootprintKB int     `toml:"footprint_kb"`
}

// PeriodSpec is a group of threads that each run RunUs of work every
// PeriodUs (the first period at a random phase), at nice values spread
// evenly over NiceMin..NiceMax.
type PeriodSpec struct {
	Threads     int     `toml:"threads"`
	RunUs       float64 `toml:"run_us"`
	PeriodUs    float64 `toml:"period_us"`
	NiceMin     int     `toml:"nice_min"`
	NiceMax     int     `toml:"nice_max"`
	MemShare    float64 `toml:"mem_share"`
	FootprintKB int     `toml:"footprint_kb"`
}

// DefaultSpec is the experiment of configs/search.toml; see it and the
// package doc for the reasoning behind each value.
func DefaultSpec() Spec {
	return Spec{
		Servers: 16, ServerUs: 10, ServerMem: 0.3, ServerKB: 64, ThinkUs: 0,
		A: ASpec{
			Clients: 48, Fanout: 4, BoundFraction: 0.5, WorkersPerSocket: 96, UnboundWorkers: 96,
			WorkMedianUs: 200, WorkCV: 1, MemShare: 0.6, FootprintKB: 512,
			ShortFraction: 0.3, ShortMinUs: 5, ShortMaxUs: 30, LongMeanUs: 300, WaitMeanUs: 20,
		},
		B: BSpec{
			Clients: 2, Fanout: 4, CPUMinUs: 10, CPUMaxUs: 30, SSDMeanUs: 85, SSDSigma: 0.26,
			MemShare: 0.3, FootprintKB: 64,
		},
		C: CSpec{
			Clients: 32, Fanout: 2, Workers: 96, BurstMinUs: 1000, BurstMaxUs: 5000,
			MemShare: 0.1, FootprintKB: 256,
		},
		GC:      PeriodSpec{Threads: 16, RunUs: 2000, PeriodUs: 20000, NiceMin: 10, NiceMax: 19, MemShare: 0.5, FootprintKB: 1024},
		Daemons: PeriodSpec{Threads: 16, RunUs: 50, PeriodUs: 10000, NiceMin: 0, NiceMax: 0, MemShare: 0.2, FootprintKB: 64},
	}
}

// Limits that keep a run's memory and time bounded: every thread is a
// coroutine (a few KB of stack and a task), and times are picoseconds in
// an int64.
const (
	maxThreads = 20000
	maxUs      = 1e9 // 1000 s
)

// Validate checks the spec against a machine of sockets sockets.
func (s *Spec) Validate(sockets int) error {
	var errs []error
	bad := func(k, format string, args ...any) {
		errs = append(errs, sim.KeyErrorf("workload.search."+k, format, args...))
	}
	count := func(k string, v, lo int) {
		if v < lo || v > maxThreads {
			bad(k, "must be in %d..%d, got %d", lo, maxThreads, v)
		}
	}
	us := func(k string, v float64, positive bool) {
		if math.IsNaN(v) || v < 0 || v > maxUs || (positive && v == 0) {
			if positive {
				bad(k, "must be > 0 and <= %g µs, got %v", maxUs, v)
			} else {
				bad(k, "must be in 0..%g µs, got %v", maxUs, v)
			}
		}
	}
	frac := func(k string, v float64) {
		if !(v >= 0 && v <= 1) {
			bad(k, "must be in 0..1, got %v", v)
		}
	}
	kb := func(k string, v int) {
		if v < 0 || v > 1<<20 {
			bad(k, "must be in 0..1048576 KB, got %d", v)
		}
	}
	count("servers", s.Servers, 1)
	us("server_us", s.ServerUs, false)
	frac("server_mem_share", s.ServerMem)
	kb("server_footprint_kb", s.ServerKB)
	us("think_us", s.ThinkUs, false)

	count("a.clients", s.A.Clients, 0)
	count("a.fanout", s.A.Fanout, 1)
	frac("a.bound_fraction", s.A.BoundFraction)
	count("a.workers_per_socket", s.A.WorkersPerSocket, 1)
	count("a.unbound_workers", s.A.UnboundWorkers, 1)
	us("a.work_median_us", s.A.WorkMedianUs, true)
	if !(s.A.WorkCV >= 0 && s.A.WorkCV <= 10) {
		bad("a.work_cv", "must be in 0..10, got %v", s.A.WorkCV)
	}
	frac("a.mem_share", s.A.MemShare)
	kb("a.footprint_kb", s.A.FootprintKB)
	frac("a.short_burst_fraction", s.A.ShortFraction)
	us("a.short_burst_min_us", s.A.ShortMinUs, true)
	us("a.short_burst_max_us", s.A.ShortMaxUs, true)
	if s.A.ShortMaxUs < s.A.ShortMinUs {
		bad("a.short_burst_max_us", "must be >= short_burst_min_us (%v), got %v", s.A.ShortMinUs, s.A.ShortMaxUs)
	}
	us("a.long_burst_mean_us", s.A.LongMeanUs, true)
	us("a.wait_mean_us", s.A.WaitMeanUs, false)

	count("b.clients", s.B.Clients, 0)
	count("b.fanout", s.B.Fanout, 1)
	us("b.cpu_min_us", s.B.CPUMinUs, false)
	us("b.cpu_max_us", s.B.CPUMaxUs, false)
	if s.B.CPUMaxUs < s.B.CPUMinUs {
		bad("b.cpu_max_us", "must be >= cpu_min_us (%v), got %v", s.B.CPUMinUs, s.B.CPUMaxUs)
	}
	us("b.ssd_mean_us", s.B.SSDMeanUs, true)
	if !(s.B.SSDSigma >= 0 && s.B.SSDSigma <= 3) {
		bad("b.ssd_sigma", "must be in 0..3, got %v", s.B.SSDSigma)
	}
	frac("b.mem_share", s.B.MemShare)
	kb("b.footprint_kb", s.B.FootprintKB)

	count("c.clients", s.C.Clients, 0)
	count("c.fanout", s.C.Fanout, 1)
	count("c.workers", s.C.Workers, 1)
	us("c.burst_min_us", s.C.BurstMinUs, true)
	us("c.burst_max_us", s.C.BurstMaxUs, true)
	if s.C.BurstMaxUs < s.C.BurstMinUs {
		bad("c.burst_max_us", "must be >= burst_min_us (%v), got %v", s.C.BurstMinUs, s.C.BurstMaxUs)
	}
	frac("c.mem_share", s.C.MemShare)
	kb("c.footprint_kb", s.C.FootprintKB)

	for _, p := range []struct {
		k string
		s PeriodSpec
	}{{"gc", s.GC}, {"daemons", s.Daemons}} {
		count(p.k+".threads", p.s.Threads, 0)
		us(p.k+".run_us", p.s.RunUs, false)
		us(p.k+".period_us", p.s.PeriodUs, true)
		if p.s.NiceMin < -20 || p.s.NiceMin > 19 {
			bad(p.k+".nice_min", "must be in -20..19, got %d", p.s.NiceMin)
		}
		if p.s.NiceMax < p.s.NiceMin || p.s.NiceMax > 19 {
			bad(p.k+".nice_max", "must be in nice_min (%d)..19, got %d", p.s.NiceMin, p.s.NiceMax)
		}
		frac(p.k+".mem_share", p.s.MemShare)
		kb(p.k+".footprint_kb", p.s.FootprintKB)
	}
	if s.A.Clients+s.B.Clients+s.C.Clients == 0 {
		bad("a.clients", "no query clients: a, b and c all have 0 clients")
	}
	if sockets < 1 {
		bad("a.workers_per_socket", "the machine has no socket")
	}
	total := s.Servers + sockets*s.A.WorkersPerSocket + s.A.UnboundWorkers + s.C.Workers + s.GC.Threads + s.Daemons.Threads + s.B.Clients*s.B.Fanout
	if total > maxThreads {
		bad("servers", "the workload would have %d threads, more than %d", total, maxThreads)
	}
	return errors.Join(errs...)
}
