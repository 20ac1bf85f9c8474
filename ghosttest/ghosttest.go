// Package ghosttest checks a ghOSt policy from a user's own tests, as
// net/http/httptest serves HTTP handlers: Run runs a registered policy on
// a named scenario for a short simulated time with the kernel's invariant
// checker after every event, and the Result's Require methods and
// CompareWithBaseline assert on what came out.
//
//	func TestMyPolicy(t *testing.T) {
//		r := ghosttest.Run(t, "my-policy", "requests")
//		r.RequireNoLostTasks()
//		r.RequireP99Below("all", 500*time.Microsecond)
//		ghosttest.CompareWithBaseline(t, r, "testdata/requests.json", "")
//	}
//
// A policy registers itself with agent.Register from its package's init
// function; the test imports that package (for its side effect) and this
// one. `go test -update` writes the baselines instead of comparing.
//
// For a policy's decisions one by one, NewKernel builds a small kernel
// (invariant checker on) with one enclave running the policy's agents,
// and records its typed trace (Trace: every message posted or dropped,
// transaction's final state and context switch, in the format of the
// kernel's own scenario goldens); Trace.Compare compares it with a golden
// file under the test's testdata, which `go test -update` writes:
//
//	func TestScenario(t *testing.T) {
//		k := ghosttest.NewKernel(t, "my-policy", ghosttest.KernelConfig{CPUs: "0-3"})
//		a := k.Spawn("A", func(th *kernel.Thread) { th.Run(30 * sim.Microsecond); th.Block() })
//		k.At(90*sim.Microsecond, "wake A", func() { k.Wake(a) })
//		k.Run(400 * sim.Microsecond)
//		k.Trace.Compare(t, "testdata/scenario.txt", "A runs, blocks and is woken")
//	}
//
// Every built-in policy has one (policies/NAME/scenario_test.go).
package ghosttest

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ghostsim/ghostsim/experiment"
	"github.com/ghostsim/ghostsim/results"
)

// update is the -update flag of the test binary that imports ghosttest:
// CompareWithBaseline writes the baseline and Trace.Compare the golden
// trace instead of comparing.
var update = flag.Bool("update", false, "ghosttest: write baselines (CompareWithBaseline) and traces (Trace.Compare) instead of comparing")

// Scenario is a short experiment a policy runs in: configs and -set
// overrides as the ghostsim command takes them.
type Scenario struct {
	Name    string
	Summary string
	Configs []string
	Sets    []string
	// Workload is the -workload the scenario runs.
	Workload string
	// InjectsCrash marks a scenario whose agent crash is part of the
	// script (RequireNoLostTasks then does not count it).
	InjectsCrash bool
}

// ghostGroup puts the synthetic request server under ghOSt on CPUs 0–7
// of skylake112, with the global agent's CPU 8 in the enclave.
var ghostGroup = []string{`workload.group[0].class="ghost"`, "enclave.cpus=0-8"}

// Scenarios returns the scenarios Run knows, by name.
func Scenarios() []Scenario {
	return []Scenario{
		{
			Name:     "requests",
			Summary:  "a request server: 8 threads, Poisson 100k req/s of exponential 50 µs, under ghOSt on 8 CPUs of skylake112 (20 ms after 5 ms)",
			Configs:  []string{"skylake112", "synthetic-requests"},
			Sets:     slices.Concat(ghostGroup, []string{"run.warmup_ms=5", "run.duration_ms=20"}),
			Workload: "synthetic",
		},
		{
			Name:    "churn",
			Summary: "Fig 5-style churn: 5 threads per CPU yielding after 1 µs of work on 8 CPUs, every yield a scheduling decision (10 ms after 2 ms)",
			Configs: []string{"skylake112"},
			Sets: []string{
				`workload.group=[{name="yield", threads=40, class="ghost", cpus="0-7", program="yield", run_us=1}]`,
				"enclave.cpus=0-8", "run.warmup_ms=2", "run.duration_ms=10",
			},
			Workload: "synthetic",
		},
		{
			Name:         "crash",
			Summary:      "the request server with the agent crashing 10 ms into the run: its threads must not be lost (30 ms after 5 ms)",
			Configs:      []string{"skylake112", "synthetic-requests"},
			Sets:         slices.Concat(ghostGroup, []string{"run.warmup_ms=5", "run.duration_ms=30", "fault.agent_crash_at_ms=15", "enclave.runnable_timeout_ms=5"}),
			Workload:     "synthetic",
			InjectsCrash: true,
		},
		{
			Name:     "upgrade",
			Summary:  "the request server with an in-place agent upgrade 10 ms into the run, the new agent attaching 1 ms later (30 ms after 5 ms)",
			Configs:  []string{"skylake112", "synthetic-requests"},
			Sets:     slices.Concat(ghostGroup, []string{"run.warmup_ms=5", "run.duration_ms=30", "fault.agent_upgrade_at_ms=15", "fault.upgrade_gap_ms=1"}),
			Workload: "synthetic",
		},
		{
			Name:     "search",
			Summary:  "the Fig 8 Search benchmark on rome256 with a quarter of its clients (10 ms after 5 ms)",
			Configs:  []string{"rome256", "search"},
			Sets:     []string{"run.warmup_ms=5", "run.duration_ms=10", "workload.search.a.clients=12", "workload.search.c.clients=8"},
			Workload: "search",
		},
	}
}

// FindScenario returns the scenario named name.
func FindScenario(name string) (Scenario, bool) {
	for _, s := range Scenarios() {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}

// Result is a run's result with the test it belongs to.
type Result struct {
	*results.Result
	Scenario Scenario
	t        testing.TB
}

// Run runs policy on the scenario named scenario, with extra -set
// overrides after the scenario's own, and the kernel's invariant checker
// after every event (a violation fails the test). It fails t at once on a
// bad name, config or run.
func Run(t testing.TB, policy, scenario string, sets ...string) *Result {
	t.Helper()
	r, err := RunScenario(policy, scenario, sets...)
	if err != nil {
		t.Fatalf("ghosttest: %v", err)
	}
	r.t = t
	return r
}

// RunScenario is Run without a test: it returns the result (whose Require
// methods then must not be used) or the error.
func RunScenario(policy, scenario string, sets ...string) (*Result, error) {
	sc, ok := FindScenario(scenario)
	if !ok {
		var names []string
		for _, s := range Scenarios() {
			names = append(names, s.Name)
		}
		return nil, fmt.Errorf("unknown scenario %q (valid: %s)", scenario, strings.Join(names, ", "))
	}
	spec, meta, err := experiment.LoadWorkload(sc.Workload, sc.Configs, slices.Concat(sc.Sets, sets))
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	r, err := experiment.Run(spec, experiment.Options{Workload: sc.Workload, Policy: policy, Check: true})
	if err != nil {
		return nil, fmt.Errorf("policy %s on scenario %s: %w", policy, sc.Name, meta.Wrap(err))
	}
	return &Result{Result: r, Scenario: sc}, nil
}

// RequireP99Below fails the test unless class's p99 latency is below d.
func (r *Result) RequireP99Below(class string, d time.Duration) {
	r.t.Helper()
	s, ok := r.Latency[class]
	if !ok {
		r.t.Errorf("ghosttest: %s has no latency class %q (has %s)", r.Scenario.Name, class, classes(r.Result))
		return
	}
	if s.Count == 0 {
		r.t.Errorf("ghosttest: %s: class %s completed nothing", r.Scenario.Name, class)
		return
	}
	if got := time.Duration(s.P99); got >= d {
		r.t.Errorf("ghosttest: %s: p99 of class %s is %v, want below %v", r.Scenario.Name, class, got, d)
	}
}

// LostTaskWait is how long a ghOSt task may wait runnable, at the end of
// a run, before RequireNoLostTasks calls it lost.
const LostTaskWait = 5 * time.Millisecond

// RequireNoLostTasks fails the test if the policy lost work: a request
// unaccounted for (generated ≠ completed + in flight), an agent crash the
// scenario did not inject (a panic of the policy's is named with its
// message and frame, even in a scenario that injects a crash), nothing
// served at all, or a ghOSt task left runnable without running for
// LostTaskWait or more when the run ended.
func (r *Result) RequireNoLostTasks() {
	r.t.Helper()
	m := r.Metrics
	if gen, ok := m["requests_generated"]; ok {
		if done, fly := m["requests_completed"], m["requests_in_flight"]; gen != done+fly || fly < 0 {
			r.t.Errorf("ghosttest: %s: %v requests generated, %v completed, %v in flight", r.Scenario.Name, gen, done, fly)
		}
		if gen > 0 && m["requests_completed"] == 0 {
			r.t.Errorf("ghosttest: %s: %v requests generated and none completed", r.Scenario.Name, gen)
		}
	}
	panics := 0
	for _, c := range r.Ghost.AgentCrashReports {
		if !c.Injected {
			panics++
			r.t.Errorf("ghosttest: %s: the agent crashed at %v: panic: %s (in the policy: %s)", r.Scenario.Name, time.Duration(c.AtNs), c.Panic, c.Frame)
		}
	}
	if n := r.Ghost.AgentCrashes; n > 0 && !r.Scenario.InjectsCrash && panics == 0 {
		r.t.Errorf("ghosttest: %s: the agent crashed %d times", r.Scenario.Name, n)
	}
	if w := time.Duration(r.Ghost.LongestRunnableWaitNs); w >= LostTaskWait {
		r.t.Errorf("ghosttest: %s: a ghOSt task had waited %v runnable when the run ended (lost by the policy?)", r.Scenario.Name, w)
	}
}

// CompareWithBaseline compares r with the baseline result in file (a
// result as `ghostsim -json` or `-out` writes it) under tolerances
// (ghostsim compare's -tolerance syntax over results.DefaultTolerances,
// such as "p99=10%"; "" for the defaults), and fails the test for each
// latency or throughput that regressed. With `go test -update` it writes
// r to file instead (without its host part, indented), creating the
// directory.
func CompareWithBaseline(t testing.TB, r *Result, file, tolerances string) {
	t.Helper()
	if *update {
		if err := writeBaseline(file, r.Result); err != nil {
			t.Fatalf("ghosttest: %v", err)
		}
		t.Logf("ghosttest: wrote %s", file)
		return
	}
	base, err := results.ReadFile(file)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			t.Fatalf("ghosttest: %v (create it with go test -update)", err)
		}
		t.Fatalf("ghosttest: %v", err)
	}
	tol, err := results.ParseTolerances(tolerances, results.DefaultTolerances())
	if err != nil {
		t.Fatalf("ghosttest: tolerances %q: %v", tolerances, err)
	}
	findings, err := results.Compare(base, []*results.Result{r.Result}, tol)
	if err != nil {
		t.Fatalf("ghosttest: comparing with %s: %v", file, err)
	}
	for _, f := range results.Regressions(findings) {
		t.Errorf("ghosttest: regressed against %s: %s", file, f)
	}
	if t.Failed() {
		t.Logf("ghosttest: if the change is intended, refresh the baseline with go test -update")
	}
}

// writeBaseline writes r without its host part, indented, so that
// refreshing an unchanged model changes no byte.
func writeBaseline(file string, r *results.Result) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r.Deterministic()); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	return os.WriteFile(file, b.Bytes(), 0o644)
}

func classes(r *results.Result) string {
	var out []string
	for c := range r.Latency {
		out = append(out, c)
	}
	slices.Sort(out)
	return fmt.Sprintf("%q", out)
}
