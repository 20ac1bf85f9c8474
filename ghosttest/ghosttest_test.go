package ghosttest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ghostsim/ghostsim/ghosttest"
	"github.com/ghostsim/ghostsim/sim/agent"
)

// TestBuiltinPoliciesOnEveryScenario runs the built-in centralized
// policies on every scenario: nothing is lost, and the request server's
// p99 stays far below a millisecond.
func TestBuiltinPoliciesOnEveryScenario(t *testing.T) {
	for _, policy := range []string{"fifo-central", "search"} {
		for _, sc := range ghosttest.Scenarios() {
			t.Run(policy+"/"+sc.Name, func(t *testing.T) {
				r := ghosttest.Run(t, policy, sc.Name)
				r.RequireNoLostTasks()
				if sc.Name == "requests" || sc.Name == "upgrade" {
					r.RequireP99Below("all", time.Millisecond)
				}
			})
		}
	}
}

// recorder is a testing.TB that records failures instead of failing, to
// show that the Require methods can fail.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Helper() {}

// TestRequireCanFail: a bound below what the run measured fails, and a
// policy that forgets every task it is told about is caught as losing
// them.
func TestRequireCanFail(t *testing.T) {
	rec := &recorder{TB: t}
	r := ghosttest.Run(rec, "fifo-central", "requests")
	r.RequireP99Below("all", time.Nanosecond)
	r.RequireP99Below("nosuchclass", time.Second)
	if len(rec.errs) != 2 {
		t.Errorf("want 2 failures, got %q", rec.errs)
	}

	rec = &recorder{TB: t}
	ghosttest.Run(rec, "ghosttest-forgetful", "requests").RequireNoLostTasks()
	if len(rec.errs) == 0 {
		t.Errorf("a policy that never schedules anything passed RequireNoLostTasks")
	}
}

// forgetful is a broken policy: its agents drain nothing and schedule
// nothing, so every ghOSt task waits for ever.
type forgetful struct{}

func (forgetful) Run(a *agent.Agent) {
	for !a.Finished() {
		a.LocalYield(a.Barrier(), 0)
	}
}

func init() {
	agent.Register("ghosttest-forgetful", "a broken policy that never schedules (ghosttest's own tests)",
		func(s *agent.Setup) (agent.Policy, error) {
			ch, err := s.Enclave.MakeChannel(s.Params.QueueElems) // ghOSt wants a default queue (ENXIO)
			if err != nil {
				return nil, err
			}
			ch.SetEnclaveDefault()
			return forgetful{}, nil
		})
}

// TestCompareWithBaseline: a run compared with its own result passes;
// compared with a baseline of a much faster run, it regresses.
func TestCompareWithBaseline(t *testing.T) {
	dir := t.TempDir()
	r := ghosttest.Run(t, "fifo-central", "requests")
	self := filepath.Join(dir, "self.json")
	writeResult(t, self, r)
	ghosttest.CompareWithBaseline(t, r, self, "")

	faster := ghosttest.Run(t, "fifo-central", "requests", "workload.group[0].service.mean_us=5")
	fast := filepath.Join(dir, "fast.json")
	writeResult(t, fast, faster)
	rec := &recorder{TB: t}
	ghosttest.CompareWithBaseline(rec, r, fast, "")
	if len(rec.errs) == 0 {
		t.Errorf("a 10× slower service did not regress against the faster baseline")
	}
}

func writeResult(t *testing.T, file string, r *ghosttest.Result) {
	t.Helper()
	b, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Example runs a policy on a scenario outside a test, as a program
// would; in a test, Run(t, ...) and the Require methods assert instead.
func Example() {
	r, err := ghosttest.RunScenario("fifo-central", "requests")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s on %s: p99 below 1 ms: %v, no ghOSt task left waiting 5 ms: %v\n",
		r.Policy, r.Scenario.Name, r.Latency["all"].P99 < int64(time.Millisecond), r.Ghost.LongestRunnableWaitNs < int64(ghosttest.LostTaskWait))
	// Output:
	// fifo-central on requests: p99 below 1 ms: true, no ghOSt task left waiting 5 ms: true
}

// ExampleScenarios lists the scenarios a policy can be run on.
func ExampleScenarios() {
	for _, s := range ghosttest.Scenarios() {
		fmt.Println(s.Name)
	}
	// Output:
	// requests
	// churn
	// crash
	// upgrade
	// search
}
