package experiment_test

import (
	"math"
	"strings"
	"testing"

	"github.com/ghostsim/ghostsim/experiment"
	"github.com/ghostsim/ghostsim/results"
)

// TestEnclaveIsolation is the paper's claim of §3.4 and Fig 2 on the
// example config two-enclaves.toml: two enclaves side by side, each with
// its own policy and a request server, and the "batch" enclave's agent
// crashes at 100 ms. The "web" server's p99 stays within noise of a run
// without the crash, and the batch server's threads, their ephemeral
// enclave destroyed with its agent, finish their requests under CFS.
func TestEnclaveIsolation(t *testing.T) {
	run := func(sets ...string) *results.Result {
		return runExperiment(t, []string{"skylake112", "two-enclaves.toml"}, sets, experiment.Options{Workload: "synthetic"})
	}
	crash := run()
	calm := run("enclave[1].fault.agent_crash_at_ms=0")
	if crash.Policy != "fifo-central+fifo-percpu" {
		t.Errorf("policy %q, want fifo-central+fifo-percpu", crash.Policy)
	}
	want := []results.Enclave{
		{Name: "web", CPUs: "0-4", Policy: "fifo-central", Ephemeral: true},
		{Name: "batch", CPUs: "5-9", Policy: "fifo-percpu", Ephemeral: true, AgentCrashed: true, DestroyCause: "owner_exit", DestroyedAtNs: 100e6},
	}
	if got := crash.Ghost.Enclaves; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("enclaves %+v, want %+v", got, want)
	}
	if crash.Ghost.EnclaveDestroys != 1 || crash.Ghost.AgentCrashes != 1 || calm.Ghost.EnclaveDestroys != 0 {
		t.Errorf("crash run: %d destroys, %d crashes; calm run: %d destroys", crash.Ghost.EnclaveDestroys, crash.Ghost.AgentCrashes, calm.Ghost.EnclaveDestroys)
	}
	web, web0 := crash.Latency["web"], calm.Latency["web"]
	if web.Count == 0 || math.Abs(float64(web.P99-web0.P99)) > 0.05*float64(web0.P99) {
		t.Errorf("web p99 %d ns with the batch agent's crash, %d ns without: more than 5%% apart", web.P99, web0.P99)
	}
	for _, r := range []*results.Result{crash, calm} {
		gen, done := r.Metrics["batch.requests_generated"], r.Metrics["batch.requests_completed"]
		if gen == 0 || gen-done > 100 || r.Saturated {
			t.Errorf("batch: %v generated, %v completed, saturated %v: its threads did not keep up", gen, done, r.Saturated)
		}
	}
	t.Logf("web p99 %d ns (calm %d ns); batch p99 %d ns (calm %d ns)", web.P99, web0.P99, crash.Latency["batch"].P99, calm.Latency["batch"].P99)
}

// TestEnclaveConfigErrors: the [[enclave]] list is checked up front.
func TestEnclaveConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		sets []string
		want string
	}{
		{[]string{`enclave[1].cpus="3-9"`}, "enclave[1].cpus"},
		{[]string{`enclave[1].name="web"`}, "enclave[1].name"},
		{[]string{`enclave[0].policy="nope"`}, "enclave[0].policy"},
		{[]string{`workload.group[1].enclave="nope"`}, "workload.group[1].enclave"},
		{[]string{`fault.agent_crash_at_ms=5`}, "fault"},
		{[]string{`enclave.cpus="0-3"`}, "list of 2 tables"},
		{[]string{`enclave[1].policy_params.queue_elems=3`}, "enclave[1].policy_params.queue_elems"},
	} {
		spec, meta, err := experiment.Load([]string{"skylake112", "two-enclaves.toml"}, tt.sets)
		if err == nil {
			err = meta.Wrap(experiment.CheckRun(spec, "synthetic", ""))
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error %v, want one naming %s", tt.sets, err, tt.want)
		}
	}
}

// TestPolicyFlagWithOwnPolicies: -policy with enclaves that all name
// their own policy would schedule nothing, so it is refused at the first
// enclave's policy; the label names the enclaves' policies, -policy
// filling an enclave that names none.
func TestPolicyFlagWithOwnPolicies(t *testing.T) {
	spec, meta, err := experiment.Load([]string{"skylake112", "two-enclaves.toml"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = meta.Wrap(experiment.CheckRun(spec, "synthetic", "search"))
	if err == nil || !strings.Contains(err.Error(), "enclave[0].policy: every enclave names its own policy, so -policy search would schedule nothing") {
		t.Errorf("-policy search over two enclaves with their own policies: %v", err)
	}
	if got := spec.PolicyLabel(""); got != "fifo-central+fifo-percpu" {
		t.Errorf("label %q, want fifo-central+fifo-percpu", got)
	}
	spec, meta, err = experiment.Load([]string{"skylake112", "two-enclaves.toml"}, []string{`enclave[1].policy=""`})
	if err != nil {
		t.Fatal(err)
	}
	if err := meta.Wrap(experiment.CheckRun(spec, "synthetic", "fifo-central")); err != nil {
		t.Errorf("-policy filling enclave[1]: %v", err)
	}
	if got := spec.PolicyLabel("fifo-percpu"); got != "fifo-central+fifo-percpu" {
		t.Errorf("label with -policy filling enclave[1]: %q", got)
	}
}
