// Package results defines ghostsim's result: what one run reports, as
// JSON (docs/DESIGN.md §8), and Compare, which checks a candidate's results
// against a baseline's within tolerances (ghostsim compare). The folder
// also holds reference outputs: baselines/ for regression checks
// (regression_test.go shows how to write one for a policy of your own).
//
// Latencies stay honest under overload: every request that arrived in the
// measured window counts in its class, those unfinished at the window's
// end with their age then (sim.Summary.Incomplete; the figures are then
// lower bounds), and a result is Saturated when some class's backlog grew
// over the window (func Saturated has the exact rule; a closed loop never
// is). Compare counts a saturated candidate against an unsaturated
// baseline as a regression, whatever its percentiles.
package results

import (
	"bytes"
	"encoding/json"
	"math"

	"github.com/ghostsim/ghostsim/sim"
)

// Schema names this version of the result format.
const Schema = "ghostsim.result/v1"

// Result is one run's report. Everything but Host is deterministic: the
// same config, seed and version give the same bytes on any machine and at
// any parallelism. encoding/json sorts map keys, so maps are safe here.
type Result struct {
	Schema       string                 `json:"schema"`
	Machine      string                 `json:"machine"`
	Workload     string                 `json:"workload"`
	Policy       string                 `json:"policy"`
	Seed         uint64                 `json:"seed"`
	ConfigSHA256 string                 `json:"config_sha256"`
	Point        map[string]float64     `json:"point,omitempty"`
	SimTimeNs    int64                  `json:"sim_time_ns"`
	Events       uint64                 `json:"events"`
	Throughput   map[string]float64     `json:"throughput"`
	Latency      map[string]sim.Summary `json:"latency_ns"`
	CPU          CPU                    `json:"cpu"`
	Ghost        Ghost                  `json:"ghost"`
	Kernel       Kernel                 `json:"kernel"`
	Metrics      map[string]float64     `json:"metrics"`
	Host         *Host                  `json:"host,omitempty"`
	// Saturated says the system did not keep up with the requests
	// offered: the backlog of some latency class grew over the window
	// (Saturated's definition). Its percentiles then describe a load the
	// system could not serve, and compare counts a saturated candidate
	// against an unsaturated baseline as a regression.
	Saturated bool `json:"saturated"`
	// Backlog holds each latency class's request accounting over the
	// window, which Saturated is judged from; empty for a workload
	// without requests.
	Backlog map[string]sim.Backlog `json:"backlog,omitempty"`
	// Sweep places a sweep's point in its sweep, for `ghostsim merge` to
	// check that shards run on several machines cover every point
	// exactly once; absent for a single run.
	Sweep *Sweep `json:"sweep,omitempty"`
}

// Sweep places one result in the sweep that produced it. Every point of
// a sweep carries the same Points, Axes, ConfigSHA256 and Version.
type Sweep struct {
	// Index is the point's position in the sweep (0-based, in the order
	// an unsharded run prints the points); Points is how many it has.
	Index  int `json:"index"`
	Points int `json:"points"`
	// Axes names the swept keys in -sweep order (the first columns of
	// sweep.csv); "policy" when -sweep policy=... is one of them.
	Axes []string `json:"axes,omitempty"`
	// ConfigSHA256 identifies the whole sweep: the SHA-256 of every
	// point's workload, policy and config_sha256 in point order.
	ConfigSHA256 string `json:"config_sha256"`
	// Version is the ghostsim build that ran it (its module version or
	// VCS revision, "devel" when the build records neither).
	Version string `json:"version"`
}

// Saturated reports whether a latency class's backlog grew over the
// measured window by more than its noise:
//
//	saturated ⇔ growth > max(Arrived / 100, 3·√(InFlightStart + InFlightEnd), Clients)
//	growth = InFlightEnd − InFlightStart = Arrived − Completed
//
// That is, the window left more than 1 % of its arrivals unserved beyond
// what was already in flight, and more than three standard deviations of
// the in-flight count's own fluctuation (a stable system's number in
// flight is about Poisson: the difference of two samples has a standard
// deviation near √(InFlightStart + InFlightEnd)). A system offered more
// than about 1.01 times what it serves is saturated by this rule; one
// right at the knee can come out either way.
//
// A closed loop (Clients > 0) never has more than Clients requests in
// flight, so its backlog cannot grow past them and it is never
// saturated: overload there shows as lower throughput and longer
// latencies, which compare gates by themselves.
func Saturated(b sim.Backlog) bool {
	growth := float64(b.InFlightEnd - b.InFlightStart)
	slack := max(float64(b.Arrived)/100, 3*math.Sqrt(float64(b.InFlightStart+b.InFlightEnd)), float64(b.Clients))
	return growth > 0 && growth > slack
}

// AnySaturated reports whether some class of backlog is Saturated.
func AnySaturated(backlog map[string]sim.Backlog) bool {
	for _, b := range backlog {
		if Saturated(b) {
			return true
		}
	}
	return false
}

// CPU is machine-wide CPU use over the measured window.
type CPU struct {
	// Utilization is busy CPU time over (window × CPUs).
	Utilization float64 `json:"utilization"`
	// Share is each thread group's CPU time over (window × CPUs).
	Share map[string]float64 `json:"share"`
}

// Ghost holds the ghOSt class's counters.
type Ghost struct {
	Messages         int64            `json:"messages"`
	Txns             map[string]int64 `json:"txns"`
	AgentCPUNs       int64            `json:"agent_cpu_ns"`
	AgentPollNs      int64            `json:"agent_poll_ns"`
	IPIs             int64            `json:"ipis"`
	WatchdogDestroys int64            `json:"watchdog_destroys"`
	AgentCrashes     int64            `json:"agent_crashes"`
	// AgentLoopNs is the duration of the policy's scheduling-loop
	// iterations that did work, for policies that time their loop (the
	// search policy); absent otherwise.
	AgentLoopNs *LoopTime `json:"agent_loop_ns,omitempty"`
	// AffinityOverrides counts ghOSt tasks switched in on a CPU outside
	// their cpumask: ghOSt's commit path does not check the mask, so a
	// policy that ignores it can do this (the search policy with numa =
	// false).
	AffinityOverrides int64 `json:"affinity_overrides"`
	// SchedGapNs is the scheduling-gap time over the window, in CPU ns:
	// the time enclave CPUs sat idle while a runnable enclave thread that
	// could run there (its cpumask allows it) waited, summed over CPUs
	// (the paper's §5 gaps; sim/kernel's ghost_gap.go has the exact rule).
	SchedGapNs int64 `json:"sched_gap_ns"`
	// LongestRunnableWaitNs is, when the run ended, how long the ghOSt
	// task that had waited longest had been runnable without running (0:
	// none waited). A policy that loses a task shows here.
	LongestRunnableWaitNs int64 `json:"longest_runnable_wait_ns"`
	// EnclaveDestroys counts the enclaves destroyed over the whole run
	// (warm-up included, like agent_crashes and watchdog_destroys): their
	// threads fell back to CFS. EnclaveDestroyCauses splits it by cause:
	// "watchdog", "owner_exit" (an ephemeral enclave's agent process died
	// with no successor) or "destroy" (an explicit destroy).
	EnclaveDestroys      int64            `json:"enclave_destroys"`
	EnclaveDestroyCauses map[string]int64 `json:"enclave_destroy_causes"`
	// Enclaves describes each enclave of a config that names them
	// ([[enclave]]), in config order; absent for a single unnamed one.
	Enclaves []Enclave `json:"enclaves,omitempty"`
	// QueueOverflows counts the messages the kernel dropped because their
	// queue's ring was full, over the whole run (warm-up included, like
	// agent_crashes). Any overflow is fatal to an agent of the agent
	// library, as in ghost-userspace (Channel::Peek CHECK-fails): it
	// shows as an agent crash too.
	QueueOverflows int64 `json:"queue_overflows"`
	// MessagesDropped counts the messages produced with no queue to post
	// to, over the whole run: a departed task's (gated), a task without a
	// queue (during an upgrade's gap, before the new agent associates
	// it), or one whose queue was closed (its agent process died). Not an
	// error by itself: every upgrade drops some.
	MessagesDropped int64 `json:"messages_dropped"`
	// AgentCrashReports describes each agent crash of the run, in the
	// order they happened (agent_crashes counts them).
	AgentCrashReports []AgentCrash `json:"agent_crash_reports,omitempty"`
}

// AgentCrash is one agent process's crash: when, why, and what became of
// its enclave's threads.
type AgentCrash struct {
	// Enclave is the enclave's name ([[enclave]] name), absent for a
	// single unnamed one; Policy the crashed process's policy.
	Enclave string `json:"enclave,omitempty"`
	Policy  string `json:"policy"`
	// AtNs is the simulated time of the crash, since time 0 (warm-up
	// included).
	AtNs int64 `json:"at_ns"`
	// Injected says the config caused it ([fault] agent_crash_at_ms, or
	// an enclave's own fault). A crash that was not injected is the
	// policy's failure: ghostsim exits 1 for it.
	Injected bool `json:"injected"`
	// Panic is the policy's panic message (for an injected crash, the
	// reason given); Frame is the panicking stack's first frame in policy
	// code, "FUNC at FILE:LINE" (a package under policies/ or a user's,
	// never the agent library or the kernel; FILE is the package's import
	// path, relative to ghostsim's module for its own), absent for an
	// injected crash.
	Panic string `json:"panic,omitempty"`
	Frame string `json:"frame,omitempty"`
	// Outcome is what became of the enclave's threads: "cfs" (the
	// enclave was destroyed and they fell back to CFS: an ephemeral
	// enclave dies with its agent process when no successor holds it, a
	// persistent one when its watchdog fires), "successor" (a new agent
	// process took the enclave over) or "stranded" (a persistent enclave
	// without a watchdog: they stayed runnable and were never scheduled
	// again). EnclaveDestroyCause and EnclaveDestroyedAtNs (since time 0)
	// say how and when for "cfs".
	Outcome              string `json:"outcome"`
	EnclaveDestroyCause  string `json:"enclave_destroy_cause,omitempty"`
	EnclaveDestroyedAtNs int64  `json:"enclave_destroyed_at_ns,omitempty"`
}

// Crash outcomes (AgentCrash.Outcome).
const (
	OutcomeCFS       = "cfs"
	OutcomeSuccessor = "successor"
	OutcomeStranded  = "stranded"
)

// PolicyFailed reports whether an agent crashed without the config
// injecting the crash: a panic in the policy or the agent library (such
// as a channel overflow).
func (g *Ghost) PolicyFailed() bool {
	for _, c := range g.AgentCrashReports {
		if !c.Injected {
			return true
		}
	}
	return false
}

// Enclave is one named enclave of a run.
type Enclave struct {
	Name      string `json:"name"`
	CPUs      string `json:"cpus"`
	Policy    string `json:"policy"`
	Ephemeral bool   `json:"ephemeral"`
	// AgentCrashed says its last agent process crashed.
	AgentCrashed bool `json:"agent_crashed,omitempty"`
	// DestroyCause and DestroyedAtNs say why and when (since time 0) it
	// was destroyed: "owner_exit", "watchdog" or "destroy"; absent while
	// it lived to the end.
	DestroyCause  string `json:"destroy_cause,omitempty"`
	DestroyedAtNs int64  `json:"destroyed_at_ns,omitempty"`
}

// LoopTime summarizes an agent's scheduling-loop durations, in ns.
type LoopTime struct {
	P50   int64 `json:"p50"`
	P99   int64 `json:"p99"`
	Count int64 `json:"count"`
}

// Kernel holds the kernel's counters over the measured window.
type Kernel struct {
	ContextSwitches int64            `json:"context_switches"`
	Migrations      map[string]int64 `json:"migrations"`
	IPIs            int64            `json:"ipis"`
	Wakeups         int64            `json:"wakeups"`
}

// Host describes where and how fast the run went: the only
// non-deterministic part of a result.
type Host struct {
	WallSeconds float64 `json:"wall_seconds"`
	GoVersion   string  `json:"go_version"`
	GOOS        string  `json:"goos"`
	GOARCH      string  `json:"goarch"`
	GOMAXPROCS  int     `json:"gomaxprocs"`
	NumCPU      int     `json:"num_cpu"`
	// SimSecondsPerWallSecond is simulated over wall time.
	SimSecondsPerWallSecond float64 `json:"sim_seconds_per_wall_second"`
	EventsPerWallSecond     float64 `json:"events_per_wall_second"`
}

// New returns a result with every map allocated, so JSON shows {} rather
// than null for an empty section.
func New() *Result {
	return &Result{
		Schema:     Schema,
		Throughput: map[string]float64{},
		Latency:    map[string]sim.Summary{},
		CPU:        CPU{Share: map[string]float64{}},
		Ghost:      Ghost{Txns: map[string]int64{}, EnclaveDestroyCauses: map[string]int64{}},
		Kernel:     Kernel{Migrations: map[string]int64{}},
		Metrics:    map[string]float64{},
		Backlog:    map[string]sim.Backlog{},
	}
}

// JSON encodes r on one line, without a trailing newline.
func (r *Result) JSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// Deterministic returns a copy of r without its Host part: the bytes that
// must be identical across runs of the same config and seed.
func (r *Result) Deterministic() *Result {
	c := *r
	c.Host = nil
	return &c
}

// Decode parses a result written by JSON.
func Decode(data []byte) (*Result, error) {
	r := New()
	if err := json.Unmarshal(data, r); err != nil {
		return nil, err
	}
	return r, nil
}
