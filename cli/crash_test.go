package cli

import (
	"regexp"
	"strings"
	"testing"

	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/agent"
)

// test-buggy panics in its own code 5 ms into the run: a policy's bug.
func init() {
	agent.Register("test-buggy", "test: a policy bug 5 ms into the run", func(s *agent.Setup) (agent.Policy, error) {
		ch, err := s.Enclave.MakeChannel(s.Params.QueueElems)
		if err != nil {
			return nil, err
		}
		ch.SetEnclaveDefault()
		return &panicky{global: s.Enclave.CPUs().First()}, nil
	})
}

type panicky struct{ global int }

func (p *panicky) Run(a *agent.Agent) {
	for !a.Finished() {
		a.Sleep(sim.Millisecond)
		if a.CPU().ID == p.global && a.Now() >= 5*sim.Millisecond {
			p.explode(a.Now())
		}
	}
}

func (p *panicky) explode(now agent.Time) {
	var perCPU []int
	_ = perCPU[int(now/sim.Millisecond)]
}

// panickySyn is the synthetic request server on CPUs 0-8 under test-buggy.
var panickySyn = with(syn, "-set", `workload.group[0].class="ghost"`, "-set", "enclave.cpus=0-8", "-policy", "test-buggy", "-duration", "10ms")

// TestPolicyCrashExits1: an agent that crashed on its own (not injected)
// fails the run: exit 1, the result still written, and on stderr the
// crash's time, panic and policy frame, what became of the enclave, and
// the command that reproduces it.
func TestPolicyCrashExits1(t *testing.T) {
	code, stdout, stderr := ghostsim(t, with(panickySyn, "-json")...)
	want := regexp.MustCompile(`^ghostsim: error: the agent of policy test-buggy crashed at 5\.\d+ms: panic: runtime error: index out of range \[5\] with length 0
ghostsim:   in the policy: cli\.\(\*panicky\)\.explode at cli/crash_test\.go:\d+
ghostsim:   then: the enclave was destroyed at 5\.\d+ms \(an ephemeral enclave whose agent process died with no successor\) and its threads fell back to CFS: from then on they ran under CFS, not the policy
ghostsim: reproduce with: ghostsim .* -policy test-buggy -duration 10ms -json
$`)
	if code != exitFailure || !want.MatchString(stderr) {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 1 and stderr matching\n%s", code, stderr, want)
	}
	if !strings.Contains(stdout, `"agent_crash_reports":[{"policy":"test-buggy","at_ns":5`) || !strings.Contains(stdout, `"outcome":"cfs"`) {
		t.Errorf("stdout lacks the crash report:\n%s", stdout)
	}

	// The summary shows it too; a sweep whose points crash fails the same way.
	code, stdout, _ = ghostsim(t, panickySyn...)
	if code != exitFailure || !regexp.MustCompile(`\n  crash +at 5\.\d+ms, panic: runtime error: index out of range \[5\] with length 0; then cfs\n`).MatchString(stdout) {
		t.Errorf("summary: exit %d, stdout:\n%s", code, stdout)
	}
	code, _, stderr = ghostsim(t, with(panickySyn, "-sweep", "workload.group[0].arrival.rate_per_s=50000,60000", "-j", "1")...)
	if code != exitFailure || strings.Count(stderr, "ghostsim: error at workload.group[0].arrival.rate_per_s=") != 2 || !strings.Contains(stderr, "ghostsim: reproduce with: ghostsim ") {
		t.Errorf("sweep: exit %d, stderr:\n%s\nwant exit 1, a crash per point and the command", code, stderr)
	}
}

// TestInjectedCrashExits0: a crash the config injects is what the run is
// about: exit 0, with a note saying what became of the enclave.
func TestInjectedCrashExits0(t *testing.T) {
	code, _, stderr := ghostsim(t, with(ghostSyn, "-set", "fault.agent_crash_at_ms=5", "-duration", "10ms", "-json")...)
	want := "ghostsim: note: the agent of policy fifo-central crashed at 5ms as the config injected (agent_crash_at_ms); " +
		"the enclave was destroyed at 5ms (an ephemeral enclave whose agent process died with no successor) and its threads fell back to CFS: " +
		"from then on they ran under CFS, not the policy\n"
	if code != exitOK || stderr != want {
		t.Errorf("exit %d, stderr:\n%s\nwant 0 and\n%s", code, stderr, want)
	}
	code, _, stderr = ghostsim(t, with(ghostSyn, "-set", "fault.agent_crash_at_ms=5", "-set", "enclave.ephemeral=false", "-duration", "10ms", "-json")...)
	if code != exitOK || !strings.Contains(stderr, "the enclave is persistent (ephemeral = false) and had no watchdog to destroy it: its threads stayed runnable and were never scheduled again") {
		t.Errorf("persistent: exit %d, stderr:\n%s", code, stderr)
	}
}

// TestQueueElemsTooSmall: a policy channel too small for the threads that
// enter the enclave at launch is refused up front (issue 14, part 4: 8
// and 16 slots crashed the agent with 8 threads and served nothing).
func TestQueueElemsTooSmall(t *testing.T) {
	for _, n := range []string{"8", "16", "32"} {
		code, stdout, stderr := ghostsim(t, with(ghostSyn, "-set", "policy.queue_elems="+n, "-duration", "10ms")...)
		want := "ghostsim: -set #3: policy.queue_elems: 8 ghOSt threads enter the enclave at launch, before its agents run; their TASK_NEW messages (7 slots each) overflow the policy's channel of " + n + " slots"
		if code != exitUsage || stdout != "" || !strings.HasPrefix(stderr, want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("queue_elems %s: exit %d, stderr:\n%s\nwant exit 2 and one line starting\n%s", n, code, stderr, want)
		}
	}
	if code, _, stderr := ghostsim(t, with(ghostSyn, "-set", "policy.queue_elems=64", "-duration", "10ms", "-json")...); code != exitOK || stderr != "" {
		t.Errorf("queue_elems 64: exit %d, stderr:\n%s", code, stderr)
	}
}
