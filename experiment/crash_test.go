package experiment_test

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ghostsim/ghostsim/experiment"
	"github.com/ghostsim/ghostsim/results"
	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/agent"
)

// Two policies that fail, for the crash reports (issue 14, part 5):
// test-panicky panics in its own code 5 ms into the run; test-stall is a
// working centralized FIFO whose global agent stops draining its 64-slot
// channel for 2 ms at 5 ms, so the channel overflows and the agent
// library's Consume panics, as ghost-userspace's Channel::Peek CHECK-fails.
func init() {
	agent.Register("test-panicky", "test: panics 5 ms into the run", func(s *agent.Setup) (agent.Policy, error) {
		ch, err := s.Enclave.MakeChannel(s.Params.QueueElems)
		if err != nil {
			return nil, err
		}
		ch.SetEnclaveDefault()
		return &panicky{global: s.Enclave.CPUs().First()}, nil
	})
	agent.Register("test-stall", "test: a FIFO whose global agent stalls at 5 ms and overflows its channel", newStall)
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

// explode indexes past a slice: a policy bug as a user would write one.
func (p *panicky) explode(now agent.Time) {
	var perCPU []int
	_ = perCPU[int(now/sim.Millisecond)]
}

type stallTask struct {
	agent.Task
	cpu    int
	queued bool
}

type stall struct {
	enc     *agent.Enclave
	global  *agent.Global
	loop    agent.CentralLoop[stallTask]
	queue   []*stallTask
	running map[int]*stallTask
	reqs    []*agent.RunRequest
	picked  []*stallTask
	stalled bool
}

func newStall(s *agent.Setup) (agent.Policy, error) {
	ch, err := s.Enclave.MakeChannel(64)
	if err != nil {
		return nil, err
	}
	ch.SetEnclaveDefault()
	p := &stall{enc: s.Enclave, global: agent.NewGlobal(s.Enclave, s.Params.GlobalCPU), running: map[int]*stallTask{}}
	d := agent.NewDispatcher(func(agent.Gtid) *stallTask { return &stallTask{cpu: -1} }, func(t *stallTask) *agent.Task { return &t.Task })
	p.loop = agent.CentralLoop[stallTask]{Global: p.global, Channel: ch, Dispatcher: d}
	return p, nil
}

func (p *stall) Run(a *agent.Agent) { p.loop.Run(a, &stallHandler{p: p}, p) }

type stallHandler struct {
	p *stall
}

func (h *stallHandler) TaskNew(t *stallTask, m agent.Message) {
	if m.Runnable {
		h.p.push(t)
	}
}
func (h *stallHandler) TaskRunnable(t *stallTask, m agent.Message)  { h.p.push(t) }
func (h *stallHandler) TaskBlocked(t *stallTask, m agent.Message)   { h.p.off(t) }
func (h *stallHandler) TaskPreempted(t *stallTask, m agent.Message) { h.p.off(t); h.p.push(t) }
func (h *stallHandler) TaskYield(t *stallTask, m agent.Message)     { h.p.off(t); h.p.push(t) }
func (h *stallHandler) TaskDead(t *stallTask, m agent.Message)      { h.p.forget(t) }
func (h *stallHandler) TaskDeparted(t *stallTask, m agent.Message)  { h.p.forget(t) }

func (p *stall) push(t *stallTask) {
	if !t.queued {
		p.queue, t.queued = append(p.queue, t), true
	}
}

func (p *stall) off(t *stallTask) {
	if t.cpu >= 0 && p.running[t.cpu] == t {
		delete(p.running, t.cpu)
	}
	t.cpu = -1
}

func (p *stall) forget(t *stallTask) {
	p.off(t)
	if i := slices.Index(p.queue, t); i >= 0 {
		p.queue = slices.Delete(p.queue, i, i+1)
	}
	t.queued = false
}

// Schedule runs the oldest runnable tasks on the idle CPUs, except once:
// at 5 ms the global agent spins 2 ms without looking at its channel.
func (p *stall) Schedule(a *agent.Agent) int {
	if !p.stalled && a.Now() >= 5*sim.Millisecond {
		p.stalled = true
		a.Spin(2 * sim.Millisecond)
		return 0
	}
	var idle agent.CPUSet
	cpus := p.enc.CPUs()
	for cpu := cpus.First(); cpu >= 0; cpu = cpus.Next(cpu + 1) {
		if cpu != p.global.CPU() && p.running[cpu] == nil {
			idle.Add(cpu)
		}
	}
	idle = a.AvailCPUs(idle)
	p.reqs, p.picked = p.reqs[:0], p.picked[:0]
	for len(p.queue) > 0 && !idle.Empty() {
		t := p.queue[0]
		p.queue, t.queued = p.queue[1:], false
		cpu := idle.First()
		idle.Remove(cpu)
		r := a.RunRequest(cpu)
		r.Open(agent.RunRequestOptions{Target: t.Gtid, TargetBarrier: t.Seqnum, CommitFlags: agent.CommitAtTxnCommit})
		p.reqs, p.picked = append(p.reqs, r), append(p.picked, t)
	}
	a.CommitRunRequests(p.reqs)
	for i, r := range p.reqs {
		t := p.picked[i]
		if r.State() == agent.TxnComplete {
			t.cpu, p.running[r.CPU()] = r.CPU(), t
			continue
		}
		p.push(t)
	}
	return len(p.reqs)
}

func (p *stall) NextWake(agent.Time) agent.Time { return agent.Never }

// crashRun is the request server of the fault tests under policy, with
// more -set overrides.
func crashRun(t *testing.T, policy string, sets ...string) *results.Result {
	t.Helper()
	base := []string{
		"enclave.cpus=0-4",
		"workload.group=[{name = \"srv\", threads = 8, class = \"ghost\", program = \"requests\", " +
			"arrival = {dist = \"exponential\", rate_per_s = 100000.0}, service = {dist = \"exponential\", mean_us = 10.0}}]",
		"run.duration_ms=20", "run.warmup_ms=0",
	}
	return runExperiment(t, []string{"skylake112"}, slices.Concat(base, sets), experiment.Options{Workload: "synthetic", Policy: policy, Check: true})
}

// TestPolicyPanicReported: a panic in a policy is in the result — its
// simulated time, the panic's message and the stack's first frame in the
// policy (not the agent library's or the kernel's) — with what became of
// the enclave (destroyed, its threads on CFS, which finish the requests).
func TestPolicyPanicReported(t *testing.T) {
	r := crashRun(t, "test-panicky")
	if r.Ghost.AgentCrashes != 1 || len(r.Ghost.AgentCrashReports) != 1 {
		t.Fatalf("agent_crashes %d, reports %+v; want one", r.Ghost.AgentCrashes, r.Ghost.AgentCrashReports)
	}
	c := r.Ghost.AgentCrashReports[0]
	if c.AtNs < 5e6 || c.AtNs > 5.01e6 {
		t.Errorf("crashed at %d ns, want 5 ms", c.AtNs)
	}
	if c.Injected || c.Policy != "test-panicky" || !r.Ghost.PolicyFailed() {
		t.Errorf("report %+v: want the policy's own crash", c)
	}
	if !strings.Contains(c.Panic, "index out of range [5] with length 0") {
		t.Errorf("panic %q, want the runtime's index error", c.Panic)
	}
	if !regexp.MustCompile(`^experiment_test\.\(\*panicky\)\.explode at experiment/crash_test\.go:\d+$`).MatchString(c.Frame) {
		t.Errorf("frame %q, want experiment_test.(*panicky).explode at experiment/crash_test.go:LINE", c.Frame)
	}
	if c.Outcome != results.OutcomeCFS || c.EnclaveDestroyCause != "owner_exit" || c.EnclaveDestroyedAtNs != c.AtNs {
		t.Errorf("outcome %q, destroyed by %q at %d; want cfs, owner_exit at the crash", c.Outcome, c.EnclaveDestroyCause, c.EnclaveDestroyedAtNs)
	}
	if done := r.Metrics["requests_completed"]; done < 1000 {
		t.Errorf("%v requests completed: the threads should finish them under CFS", done)
	}
}

// TestQueueOverflowReported: a channel that overflows at run time is
// counted in ghost.queue_overflows and kills the agent; the report blames
// the policy's frame that called the library.
func TestQueueOverflowReported(t *testing.T) {
	r := crashRun(t, "test-stall", "enclave.cpus=0-8", "workload.group[0].arrival.rate_per_s=600000")
	if r.Ghost.QueueOverflows == 0 || len(r.Ghost.AgentCrashReports) != 1 {
		t.Fatalf("queue_overflows %d, crash reports %+v; want overflows and one crash", r.Ghost.QueueOverflows, r.Ghost.AgentCrashReports)
	}
	c := r.Ghost.AgentCrashReports[0]
	if c.Injected || !strings.HasPrefix(c.Panic, "agent: channel overflow: ") || c.AtNs < 7e6 {
		t.Errorf("report %+v: want the channel overflow's panic after the stall", c)
	}
	if !regexp.MustCompile(`^experiment_test\.\(\*stall\)\.Run at experiment/crash_test\.go:\d+$`).MatchString(c.Frame) {
		t.Errorf("frame %q, want the test policy's Run", c.Frame)
	}
	t.Logf("%+v, overflows %d, dropped %d", c, r.Ghost.QueueOverflows, r.Ghost.MessagesDropped)
}

// TestInjectedCrashReported: a crash the config injects is reported as
// injected; the policy did not fail.
func TestInjectedCrashReported(t *testing.T) {
	r := crashRun(t, "fifo-central", "fault.agent_crash_at_ms=5")
	if len(r.Ghost.AgentCrashReports) != 1 {
		t.Fatalf("crash reports %+v, want one", r.Ghost.AgentCrashReports)
	}
	c := r.Ghost.AgentCrashReports[0]
	if !c.Injected || c.Frame != "" || c.AtNs != 5e6 || c.Outcome != results.OutcomeCFS || r.Ghost.PolicyFailed() {
		t.Errorf("report %+v: want injected at 5 ms, then cfs", c)
	}
	r = crashRun(t, "fifo-central", "fault.agent_crash_at_ms=5", "enclave.ephemeral=false")
	if c := r.Ghost.AgentCrashReports; len(c) != 1 || c[0].Outcome != results.OutcomeStranded || c[0].EnclaveDestroyCause != "" {
		t.Errorf("persistent enclave: reports %+v, want one stranded", c)
	}
	r = crashRun(t, "fifo-central")
	if r.Ghost.AgentCrashReports != nil || r.Ghost.QueueOverflows != 0 || r.Ghost.MessagesDropped != 0 {
		t.Errorf("no fault: reports %+v, overflows %d, dropped %d; want none", r.Ghost.AgentCrashReports, r.Ghost.QueueOverflows, r.Ghost.MessagesDropped)
	}
}

// TestLaunchOverflowRefused: threads whose TASK_NEW messages cannot all
// fit the policy's channel at launch (7 slots each, before any agent
// runs) are refused up front, naming policy.queue_elems and the limit,
// instead of a run whose agent dies at once: 8 threads in 8 or 16 slots,
// and 9363 threads in the largest channel, 65536 slots (9362 run), which
// names the group's threads, since the channel cannot grow.
func TestLaunchOverflowRefused(t *testing.T) {
	for _, tt := range []struct {
		sets []string
		want string
	}{
		{[]string{"policy.queue_elems=8"}, "8 ghOSt threads enter the enclave at launch, before its agents run; their TASK_NEW messages (7 slots each) overflow the policy's channel of 8 slots, which holds 1"},
		{[]string{"policy.queue_elems=16"}, "channel of 16 slots, which holds 2, and a lost message is fatal to the agent (as in ghost-userspace): raise it (a power of two up to 65536, which holds 9362) or run fewer ghOSt threads"},
		{[]string{"workload.group[0].threads=9363", "run.duration_ms=1"}, "9363 ghOSt threads enter the enclave at launch, before its agents run; their TASK_NEW messages (7 slots each) overflow the policy's channel of 65536 slots, which holds 9362, and a lost message is fatal to the agent (as in ghost-userspace): 65536 is the kernel's largest channel (GHOST_MAX_QUEUE_ELEMS); run at most 9362 ghOSt threads in the enclave"},
		{[]string{"enclave=[{name = \"e\", cpus = \"0-4\", policy_params = {queue_elems = 16}}]"}, "channel of 16 slots"},
	} {
		sets := slices.Concat([]string{
			"enclave.cpus=0-4", "run.duration_ms=5", "run.warmup_ms=0",
			"workload.group=[{name = \"srv\", threads = 8, class = \"ghost\", program = \"requests\", " +
				"arrival = {dist = \"exponential\", rate_per_s = 100000.0}, service = {dist = \"exponential\", mean_us = 10.0}}]",
		}, tt.sets)
		if strings.HasPrefix(tt.sets[0], "enclave=") {
			sets = slices.Delete(sets, 0, 1)
		}
		spec, _, err := experiment.Load([]string{"skylake112"}, sets)
		if err != nil {
			t.Fatal(err)
		}
		_, err = experiment.Run(spec, experiment.Options{Workload: "synthetic", Policy: "fifo-central"})
		var ke *sim.KeyError
		key := "policy.queue_elems"
		switch {
		case strings.HasPrefix(tt.sets[0], "enclave="):
			key = "enclave[0].policy_params.queue_elems"
		case strings.HasPrefix(tt.sets[0], "workload.group[0].threads="):
			key = "workload.group[0].threads" // the channel cannot grow
		}
		if !errors.As(err, &ke) || ke.Key != key || !strings.Contains(ke.Msg, tt.want) {
			t.Errorf("%v: error %v; want %s: ...%s...", tt.sets, err, key, tt.want)
		}
	}
	r := runExperiment(t, []string{"xeon48", "synthetic-requests"}, []string{`workload.group[0].class="ghost"`, "enclave.cpus=0-8",
		"workload.group[0].threads=9362", "run.duration_ms=2", "run.warmup_ms=0"}, experiment.Options{Workload: "synthetic", Policy: "fifo-central"})
	if r.Ghost.AgentCrashes != 0 || r.Ghost.QueueOverflows != 0 {
		t.Errorf("9362 threads: agent_crashes %d, queue_overflows %d; want 0", r.Ghost.AgentCrashes, r.Ghost.QueueOverflows)
	}
}
