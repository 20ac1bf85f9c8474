package snap

import (
	"errors"
	"fmt"

	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/kernel"
)

// Spec is the [workload.snap] table. configs/snap.toml holds the same
// values as DefaultSpec, with the reasoning for each; the package doc
// says where each comes from.
type Spec struct {
	// Mode is "quiet" (servers and daemons only) or "loaded" (plus the
	// antagonists).
	Mode string `toml:"mode"`
	// CPUs is the socket under test (a Linux cpulist): every thread's
	// affinity, and the ghOSt enclave's CPUs in snap.toml.
	CPUs string `toml:"cpus"`
	// Streams64B and Streams64kB are the client streams of each size,
	// RatePerS messages per second each.
	Streams64B  int     `toml:"streams_64b"`
	Streams64kB int     `toml:"streams_64kb"`
	RatePerS    float64 `toml:"rate_per_s"`
	// BurstFraction of a stream's arrival events bring a burst of
	// BurstMin..BurstMax back-to-back messages (uniform) instead of one;
	// the event rate is lowered to keep RatePerS messages per second.
	BurstFraction float64 `toml:"burst_fraction"`
	BurstMin      int     `toml:"burst_min"`
	BurstMax      int     `toml:"burst_max"`
	// Engine CPU per message and direction: Cost64BUs; Cost64kBUs plus
	// Packets64kB × PacketUs.
	Cost64BUs   float64 `toml:"cost_64b_us"`
	Cost64kBUs  float64 `toml:"cost_64kb_us"`
	Packets64kB int     `toml:"packets_64kb"`
	PacketUs    float64 `toml:"packet_us"`
	// Server work per message (CFS server threads, one per stream).
	Server64BUs  float64 `toml:"server_64b_us"`
	Server64kBUs float64 `toml:"server_64kb_us"`
	// Workers is the number of Snap engine worker threads: one always
	// polls, the others are woken when the oldest queued item is
	// WakeAfterUs old and sleep after IdleSleepUs without work.
	Workers     int     `toml:"workers"`
	WakeAfterUs float64 `toml:"wake_after_us"`
	IdleSleepUs float64 `toml:"idle_sleep_us"`
	// WorkerNice is the workers' nice: the snap policy's worker hint
	// (below 0), irrelevant to MicroQuanta.
	WorkerNice int `toml:"worker_nice"`
	// Daemons are periodic CFS threads: each wakes every
	// DaemonPeriodMinUs..MaxUs (uniform) and runs DaemonRunMinUs..MaxUs.
	Daemons           int     `toml:"daemons"`
	DaemonPeriodMinUs float64 `toml:"daemon_period_min_us"`
	DaemonPeriodMaxUs float64 `toml:"daemon_period_max_us"`
	DaemonRunMinUs    float64 `toml:"daemon_run_min_us"`
	DaemonRunMaxUs    float64 `toml:"daemon_run_max_us"`
	// Antagonists are the loaded mode's always-runnable batch threads, at
	// AntagonistNice under CFS (ghOSt threads under the snap policy).
	Antagonists    int `toml:"antagonists"`
	AntagonistNice int `toml:"antagonist_nice"`
}

// DefaultSpec is configs/snap.toml's [workload.snap].
func DefaultSpec() Spec {
	return Spec{
		Mode: "quiet", CPUs: "0-27,56-83",
		Streams64B: 1, Streams64kB: 5, RatePerS: 10000,
		BurstFraction: 0.05, BurstMin: 4, BurstMax: 8,
		Cost64BUs: 1, Cost64kBUs: 13.5, Packets64kB: 13, PacketUs: 0.45,
		Server64BUs: 2, Server64kBUs: 5,
		Workers: 4, WakeAfterUs: 15, IdleSleepUs: 50, WorkerNice: -10,
		Daemons: 4, DaemonPeriodMinUs: 1000, DaemonPeriodMaxUs: 10000, DaemonRunMinUs: 50, DaemonRunMaxUs: 200,
		Antagonists: 40, AntagonistNice: 19,
	}
}

// Validate checks the spec against a machine of ncpus CPUs.
func (s *Spec) Validate(ncpus int) error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, sim.KeyErrorf("workload.snap."+key, format, args...))
	}
	if s.Mode != "quiet" && s.Mode != "loaded" {
		bad("mode", "must be \"quiet\" or \"loaded\", got %q", s.Mode)
	}
	if set, err := kernel.ParseCPUList(s.CPUs, ncpus); err != nil {
		bad("cpus", "%v", err)
	} else if set.Len() < 2 {
		bad("cpus", "needs at least 2 CPUs, got %q", s.CPUs)
	}
	if s.Streams64B < 0 || s.Streams64kB < 0 || s.Streams64B+s.Streams64kB < 1 || s.Streams64B+s.Streams64kB > 1000 {
		bad("streams_64b", "streams_64b + streams_64kb must be in 1..1000, got %d + %d", s.Streams64B, s.Streams64kB)
	}
	if !(s.RatePerS >= 1 && s.RatePerS <= 1e7) {
		bad("rate_per_s", "must be in 1..1e7, got %v", s.RatePerS)
	}
	if !(s.BurstFraction >= 0 && s.BurstFraction <= 1) {
		bad("burst_fraction", "must be in 0..1, got %v", s.BurstFraction)
	}
	if s.BurstMin < 1 || s.BurstMax < s.BurstMin || s.BurstMax > 1000 {
		bad("burst_min", "need 1 <= burst_min <= burst_max <= 1000, got %d..%d", s.BurstMin, s.BurstMax)
	}
	for _, u := range []struct {
		key string
		v   float64
	}{{"cost_64b_us", s.Cost64BUs}, {"cost_64kb_us", s.Cost64kBUs}, {"packet_us", s.PacketUs}, {"server_64b_us", s.Server64BUs},
		{"server_64kb_us", s.Server64kBUs}, {"wake_after_us", s.WakeAfterUs}, {"idle_sleep_us", s.IdleSleepUs},
		{"daemon_run_min_us", s.DaemonRunMinUs}, {"daemon_run_max_us", s.DaemonRunMaxUs}} {
		if !(u.v >= 0 && u.v <= 1e6) {
			bad(u.key, "must be in 0..1e6 µs, got %v", u.v)
		}
	}
	if s.Packets64kB < 0 || s.Packets64kB > 1e6 {
		bad("packets_64kb", "must be in 0..1e6, got %d", s.Packets64kB)
	}
	if s.Workers < 1 || s.Workers > 1000 {
		bad("workers", "must be in 1..1000, got %d", s.Workers)
	}
	if s.WorkerNice < -20 || s.WorkerNice > -1 {
		bad("worker_nice", "must be in -20..-1 (the snap policy's worker hint), got %d", s.WorkerNice)
	}
	if s.AntagonistNice < 0 || s.AntagonistNice > 19 {
		bad("antagonist_nice", "must be in 0..19, got %d", s.AntagonistNice)
	}
	if s.Daemons < 0 || s.Daemons > 10000 || s.Antagonists < 0 || s.Antagonists > 10000 {
		bad("daemons", "daemons and antagonists must be in 0..10000, got %d and %d", s.Daemons, s.Antagonists)
	}
	if !(s.DaemonPeriodMinUs >= 1 && s.DaemonPeriodMaxUs >= s.DaemonPeriodMinUs && s.DaemonPeriodMaxUs <= 1e9) {
		bad("daemon_period_min_us", "need 1 <= min <= max <= 1e9, got %v..%v", s.DaemonPeriodMinUs, s.DaemonPeriodMaxUs)
	}
	if s.DaemonRunMaxUs < s.DaemonRunMinUs {
		bad("daemon_run_max_us", "must be >= daemon_run_min_us (%v), got %v", s.DaemonRunMinUs, s.DaemonRunMaxUs)
	}
	return errors.Join(errs...)
}

// String names the mode and the traffic, for logs.
func (s *Spec) String() string {
	return fmt.Sprintf("%s, %d×64B + %d×64kB streams at %.0f/s", s.Mode, s.Streams64B, s.Streams64kB, s.RatePerS)
}
