// Package synthetic is a workload built entirely from an experiment
// config, in the spirit of rt-app: thread groups, each with a scheduling
// class, nice, affinity, NUMA home and a program — open-loop requests
// served by a pool of threads, CPU hogs, or periodic work. Users and tests
// build scenarios with it without writing code.
//
//	[[workload.group]]
//	name = "web"
//	threads = 4
//	class = "cfs"
//	cpus = "0-7"
//	program = "requests"
//	arrival = {dist = "exponential", rate_per_s = 20000}
//	service = {dist = "exponential", mean_us = 10}
package synthetic

import (
	"errors"
	"fmt"
	"math"

	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/kernel"
)

// GroupSpec is one [[workload.group]] table.
type GroupSpec struct {
	// Name labels the group's latency class and CPU share in results.
	Name string `toml:"name"`
	// Threads is the number of threads.
	Threads int `toml:"threads"`
	// Class is "cfs" (the default), "ghost" (needs -policy) or
	// "microquanta" (the kernel's MicroQuanta class).
	Class string `toml:"class"`
	// MQRuntimeUs out of every MQPeriodUs is a "microquanta" thread's
	// bandwidth; 0 takes [kernel] microquanta_runtime_ns/_period_ns.
	MQRuntimeUs float64 `toml:"mq_runtime_us"`
	MQPeriodUs  float64 `toml:"mq_period_us"`
	// Nice applies to CFS threads, -20..19.
	Nice int `toml:"nice"`
	// CPUs is the threads' affinity as a Linux cpulist; empty means all
	// (of the enclave, for a ghOSt group).
	CPUs string `toml:"cpus"`
	// Enclave names the ghOSt enclave ([[enclave]] name) a "ghost" group
	// joins; empty means the first (or only) one.
	Enclave string `toml:"enclave"`
	// NUMAHome is the socket holding the group's data; absent or -1 means
	// the data follows the thread.
	NUMAHome *int `toml:"numa_home"`
	// FootprintKB is each thread's hot cache footprint, refilled after a
	// migration.
	FootprintKB int `toml:"footprint_kb"`
	// MemShare is the fraction of the work bound by memory latency (0..1).
	MemShare float64 `toml:"mem_share"`
	// Program is "requests", "hog", "periodic" or "yield" (loop on
	// sched_yield, running RunUs of work between yields: the threads of
	// the paper's Fig 5).
	Program string `toml:"program"`
	// Arrival and Service drive "requests".
	Arrival DistSpec `toml:"arrival"`
	Service DistSpec `toml:"service"`
	// PeriodUs and RunUs drive "periodic": run RunUs of work every
	// PeriodUs (the next period starts on schedule; an overrun starts the
	// next run at once).
	PeriodUs float64 `toml:"period_us"`
	RunUs    float64 `toml:"run_us"`
}

// DistSpec is a distribution of inter-arrival or service times.
//
//	{dist = "exponential", rate_per_s = 1000}   arrivals: Poisson
//	{dist = "constant", rate_per_s = 1000}      arrivals: fixed interval
//	{dist = "exponential", mean_us = 10}        service
//	{dist = "constant", mean_us = 10}
//	{dist = "bimodal", short_us = 4, long_us = 10000, p_long = 0.005}
//	{dist = "lognormal", mean_us = 10, sigma = 1}
type DistSpec struct {
	Dist     string  `toml:"dist"`
	RatePerS float64 `toml:"rate_per_s"`
	MeanUs   float64 `toml:"mean_us"`
	ShortUs  float64 `toml:"short_us"`
	LongUs   float64 `toml:"long_us"`
	PLong    float64 `toml:"p_long"`
	Sigma    float64 `toml:"sigma"`
}

// Input limits, derived from the clock (sim.Time counts picoseconds in an
// int64: about 9.2e12 µs) and from memory per thread (README "Input
// limits").
const (
	// MaxThreads caps a group's threads (and the experiment caps all
	// groups together): a thread costs about 4 KB, so 50,000 stay near
	// 200 MB.
	MaxThreads = 50000
	// MaxUs caps every time given in µs (mean_us, short_us, long_us,
	// period_us, run_us): 1000 s, so that an exponential draw (at most
	// about 44 means) stays far inside the clock.
	MaxUs = 1e9
	// MinRatePerS and MaxRatePerS bound arrival.rate_per_s: the mean gap
	// of 1000 s at the lowest rate, 1 ns at the highest.
	MinRatePerS = 1e-3
	MaxRatePerS = 1e9
	// MaxSigma caps a lognormal's sigma.
	MaxSigma = 4
	// clockUs is the clock's range in µs; lognormalSpan the largest
	// standard-normal draw the check allows for (10: odds below 1e-23).
	clockUs       = 9.2e12
	lognormalSpan = 10
)

// usOK reports whether a time in µs is finite and within 0..MaxUs.
func usOK(v float64) bool { return v >= 0 && v <= MaxUs }

// Programs and classes a group may name.
var (
	classes = []string{"cfs", "ghost", "microquanta"}
)

// numaHome returns the group's NUMA home, -1 for none.
func (g *GroupSpec) numaHome() int {
	if g.NUMAHome == nil {
		return -1
	}
	return *g.NUMAHome
}

// class returns the group's class name, "cfs" when not given.
func (g *GroupSpec) class() string {
	if g.Class == "" {
		return "cfs"
	}
	return g.Class
}

// Validate checks the groups of [[workload.group]] against a machine of
// ncpus CPUs and nsockets sockets.
func Validate(groups []GroupSpec, ncpus, nsockets int) error {
	var errs []error
	if len(groups) == 0 {
		errs = append(errs, sim.KeyErrorf("workload.group", "the synthetic workload needs at least one [[workload.group]]: "+
			"add an experiment file, such as -config synthetic-requests.toml (ghostsim -list shows the embedded ones)"))
	}
	seen := map[string]int{}
	for i := range groups {
		g := &groups[i]
		key := func(k string) string { return fmt.Sprintf("workload.group[%d].%s", i, k) }
		bad := func(k, format string, args ...any) { errs = append(errs, sim.KeyErrorf(key(k), format, args...)) }
		if g.Name == "" {
			bad("name", "every group needs a name")
		} else if j, dup := seen[g.Name]; dup {
			bad("name", "%q is also the name of group %d", g.Name, j)
		} else {
			seen[g.Name] = i
		}
		if g.Threads < 1 || g.Threads > MaxThreads {
			bad("threads", "must be in 1..%d (memory: about 4 KB per thread), got %d", MaxThreads, g.Threads)
		}
		if c := g.class(); !oneOf(c, classes) {
			bad("class", "unknown class %q (valid: cfs, ghost, microquanta)", c)
		}
		if !(g.MQRuntimeUs >= 0 && g.MQRuntimeUs <= 1e6) || !(g.MQPeriodUs >= 0 && g.MQPeriodUs <= 1e6) {
			bad("mq_period_us", "mq_runtime_us and mq_period_us must be in 0..1e6 (1 s), got %v and %v", g.MQRuntimeUs, g.MQPeriodUs)
		} else if (g.MQRuntimeUs != 0 || g.MQPeriodUs != 0) && g.class() != "microquanta" {
			bad("mq_runtime_us", "only a \"microquanta\" group has a bandwidth (class %q)", g.class())
		} else if g.MQRuntimeUs != 0 && g.MQPeriodUs != 0 && g.MQRuntimeUs > g.MQPeriodUs {
			bad("mq_runtime_us", "must be at most mq_period_us (%v), got %v", g.MQPeriodUs, g.MQRuntimeUs)
		}
		if g.Enclave != "" && g.class() != "ghost" {
			bad("enclave", "only a group of class \"ghost\" joins an enclave, this one is %q", g.class())
		}
		if g.Nice < -20 || g.Nice > 19 {
			bad("nice", "must be in -20..19, got %d", g.Nice)
		}
		if _, err := kernel.ParseCPUList(g.CPUs, ncpus); err != nil {
			bad("cpus", "%v", err)
		}
		if h := g.numaHome(); h < -1 || h >= nsockets {
			bad("numa_home", "must be -1 (none) or a socket 0..%d, got %d", nsockets-1, h)
		}
		if g.FootprintKB < 0 {
			bad("footprint_kb", "must be >= 0, got %d", g.FootprintKB)
		}
		if !(g.MemShare >= 0 && g.MemShare <= 1) {
			bad("mem_share", "must be in 0..1, got %v", g.MemShare)
		}
		switch g.Program {
		case "requests":
			errs = append(errs, g.Arrival.validateArrival(key("arrival")), g.Service.validateService(key("service")))
		case "hog":
		case "yield":
			if !usOK(g.RunUs) {
				bad("run_us", "must be in 0..%g (µs), got %v", MaxUs, g.RunUs)
			}
		case "periodic":
			if !(g.PeriodUs > 0 && g.PeriodUs <= MaxUs) {
				bad("period_us", "must be > 0 and at most %g (µs), got %v", MaxUs, g.PeriodUs)
			}
			if !(g.RunUs > 0 && g.RunUs <= MaxUs) {
				bad("run_us", "must be > 0 and at most %g (µs), got %v", MaxUs, g.RunUs)
			}
		default:
			bad("program", "unknown program %q (valid: requests, hog, periodic, yield)", g.Program)
		}
	}
	return errors.Join(errs...)
}

func (d *DistSpec) validateArrival(key string) error {
	switch d.Dist {
	case "exponential", "constant":
		if d.RatePerS <= 0 {
			return sim.KeyErrorf(key+".rate_per_s", "must be > 0, got %v", d.RatePerS)
		}
		if !(d.RatePerS >= MinRatePerS && d.RatePerS <= MaxRatePerS) {
			return sim.KeyErrorf(key+".rate_per_s", "must be in %g..%g (a mean gap of 1000 s to 1 ns), got %v", MinRatePerS, MaxRatePerS, d.RatePerS)
		}
		return nil
	case "":
		return sim.KeyErrorf(key+".dist", "missing: give exponential or constant")
	}
	return sim.KeyErrorf(key+".dist", "unknown arrival distribution %q (valid: exponential, constant)", d.Dist)
}

func (d *DistSpec) validateService(key string) error {
	mean := func() error {
		if !(d.MeanUs > 0 && d.MeanUs <= MaxUs) {
			return sim.KeyErrorf(key+".mean_us", "must be > 0 and at most %g (µs), got %v", MaxUs, d.MeanUs)
		}
		return nil
	}
	switch d.Dist {
	case "exponential", "constant":
		return mean()
	case "lognormal":
		if err := mean(); err != nil {
			return err
		}
		if !(d.Sigma > 0 && d.Sigma <= MaxSigma) {
			return sim.KeyErrorf(key+".sigma", "must be > 0 and at most %d, got %v", MaxSigma, d.Sigma)
		}
		// A draw is mean·e^(sigma·z − sigma²/2); it must fit the clock
		// up to z = lognormalSpan.
		if limit := clockUs / math.Exp(lognormalSpan*d.Sigma-d.Sigma*d.Sigma/2); d.MeanUs > limit {
			return sim.KeyErrorf(key+".mean_us", "with sigma %v must be at most %.4g (µs), so that a draw %d sigmas out fits the clock (%g µs), got %v",
				d.Sigma, limit, lognormalSpan, clockUs, d.MeanUs)
		}
	case "bimodal":
		if !(d.ShortUs > 0 && d.ShortUs <= MaxUs) {
			return sim.KeyErrorf(key+".short_us", "must be > 0 and at most %g (µs), got %v", MaxUs, d.ShortUs)
		}
		if !(d.LongUs > 0 && d.LongUs <= MaxUs) {
			return sim.KeyErrorf(key+".long_us", "must be > 0 and at most %g (µs), got %v", MaxUs, d.LongUs)
		}
		if !(d.PLong >= 0 && d.PLong <= 1) {
			return sim.KeyErrorf(key+".p_long", "must be in 0..1, got %v", d.PLong)
		}
	case "":
		return sim.KeyErrorf(key+".dist", "missing: give exponential, constant, bimodal or lognormal")
	default:
		return sim.KeyErrorf(key+".dist", "unknown service distribution %q (valid: exponential, constant, bimodal, lognormal)", d.Dist)
	}
	return nil
}

func oneOf(s string, list []string) bool {
	for _, x := range list {
		if s == x {
			return true
		}
	}
	return false
}
