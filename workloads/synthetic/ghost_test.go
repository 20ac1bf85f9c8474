package synthetic_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/ghostsim/ghostsim/experiment"
)

// erlangCWait returns the mean waiting time in queue of an M/M/c system
// with arrival rate lambda and service rate mu per server (Erlang C).
func erlangCWait(c int, lambda, mu float64) float64 {
	a := lambda / mu // offered load in servers
	rho := a / float64(c)
	sum, term := 0.0, 1.0
	for k := 0; k < c; k++ {
		if k > 0 {
			term *= a / float64(k)
		}
		sum += term
	}
	last := term * a / float64(c) / (1 - rho) // a^c / c! / (1 - rho)
	pWait := last / (sum + last)
	return pWait / (float64(c)*mu - lambda)
}

// TestErlangCOracle: with every scheduling cost zeroed, ghOSt tasks
// scheduled by fifo-central on c CPUs (the enclave has one more, the
// global agent's) form an M/M/c queue: Poisson arrivals, exponential
// service, first-come first-served onto c servers. The measured mean wait
// (sojourn minus service) matches Erlang C within 3 %.
func TestErlangCOracle(t *testing.T) {
	if testing.Short() {
		t.Skip("600k requests")
	}
	const (
		c      = 4
		meanUs = 10.0
		rho    = 0.7
	)
	mu := 1e6 / meanUs
	lambda := rho * c * mu
	sets := []string{
		"costs.zero_overheads=true",
		fmt.Sprintf("enclave.cpus=0-%d", c), // CPU 0: the global agent
		"workload.group=[{name = \"mmc\", threads = 64, class = \"ghost\", program = \"requests\", " +
			fmt.Sprintf("arrival = {dist = \"exponential\", rate_per_s = %g}, service = {dist = \"exponential\", mean_us = %g}}]", lambda, meanUs),
		"run.duration_ms=2200", "run.warmup_ms=50",
	}
	spec, _, err := experiment.Load([]string{"skylake112"}, sets)
	if err != nil {
		t.Fatal(err)
	}
	r, err := experiment.Run(spec, experiment.Options{Workload: "synthetic", Policy: "fifo-central"})
	if err != nil {
		t.Fatal(err)
	}
	l := r.Latency["mmc"]
	gotWait := l.Mean - meanUs*1000 // ns; service is meanUs on average
	wantWait := erlangCWait(c, lambda, mu) * 1e9
	t.Logf("%d requests: mean wait %.1f ns, Erlang C %.1f ns", l.Count, gotWait, wantWait)
	if rel := math.Abs(gotWait-wantWait) / wantWait; rel > 0.03 {
		t.Errorf("mean wait %.1f ns, Erlang C predicts %.1f ns (off by %.1f%%)", gotWait, wantWait, 100*rel)
	}
}

// TestGlobalAgentHandoff: a CFS thread pinned to the global agent's CPU
// (CPU 0) wakes every 2 ms. The agent class outranks CFS, so the thread
// runs only because fifo-central hands the global role to another CPU
// (ping, then yield: docs/GHOST-SEMANTICS.md §6.5), and the ghOSt request
// server goes on being scheduled by the new global agent: no request is
// left behind.
func TestGlobalAgentHandoff(t *testing.T) {
	sets := []string{
		"enclave.cpus=0-4",
		"workload.group=[" +
			"{name = \"srv\", threads = 16, class = \"ghost\", program = \"requests\", arrival = {dist = \"exponential\", rate_per_s = 100000.0}, service = {dist = \"exponential\", mean_us = 10.0}}," +
			"{name = \"cfs\", threads = 1, cpus = \"0\", program = \"periodic\", period_us = 2000.0, run_us = 100.0}]",
		"run.duration_ms=100", "run.warmup_ms=0",
	}
	spec, _, err := experiment.Load([]string{"skylake112"}, sets)
	if err != nil {
		t.Fatal(err)
	}
	r, err := experiment.Run(spec, experiment.Options{Workload: "synthetic", Policy: "fifo-central", Check: true})
	if err != nil {
		t.Fatal(err)
	}
	periods, overruns := r.Metrics["cfs.periods"], r.Metrics["cfs.overruns"]
	if periods < 45 || overruns > 1 {
		t.Errorf("CFS thread on the global CPU: %v periods, %v overruns in 100 ms; want ~50 and none", periods, overruns)
	}
	gen, done, fly := r.Metrics["requests_generated"], r.Metrics["requests_completed"], r.Metrics["requests_in_flight"]
	if gen != done+fly || fly > 50 {
		t.Errorf("requests: generated %v, completed %v, in flight %v", gen, done, fly)
	}
	if tp := r.Throughput["requests_per_s"]; math.Abs(tp-100000)/100000 > 0.1 {
		t.Errorf("throughput %.0f/s, offered 100000/s", tp)
	}
	t.Logf("periods %v, overruns %v, p99 %v ns, txns %v", periods, overruns, r.Latency["srv"].P99, r.Ghost.Txns)
}
