package agent_test

import (
	"fmt"
	"sync"

	"github.com/ghostsim/ghostsim/experiment"
	"github.com/ghostsim/ghostsim/sim/agent"
)

// minimal is a complete ghOSt policy: one global agent takes every runnable
// task in arrival order and runs it on the first idle CPU, with one group
// commit per round. Real policies (package policies) add preemption,
// placement and the hot handoff.
type minimal struct {
	enc     *agent.Enclave
	ch      *agent.Channel
	d       *agent.Dispatcher[task]
	global  *agent.Global
	loop    agent.CentralLoop[task]
	rq      agent.FIFO[*task]
	running []*task // by CPU
	reqs    []*agent.RunRequest
	picked  []*task
}

type task struct {
	agent.Task
	cpu int
}

// handler turns messages into runqueue changes.
type handler struct {
	p *minimal
}

func (h handler) TaskNew(t *task, m agent.Message) {
	if m.Runnable {
		h.p.rq.PushBack(t)
	}
}
func (h handler) TaskRunnable(t *task, m agent.Message)  { h.p.rq.PushBack(t) }
func (h handler) TaskBlocked(t *task, m agent.Message)   { h.p.off(t) }
func (h handler) TaskPreempted(t *task, m agent.Message) { h.p.off(t); h.p.rq.PushFront(t) }
func (h handler) TaskYield(t *task, m agent.Message)     { h.p.off(t); h.p.rq.PushBack(t) }
func (h handler) TaskDead(t *task, m agent.Message)      { h.p.off(t); h.p.rq.Remove(t) }
func (h handler) TaskDeparted(t *task, m agent.Message)  { h.p.off(t); h.p.rq.Remove(t) }

func (p *minimal) off(t *task) {
	if t.cpu >= 0 && p.running[t.cpu] == t {
		p.running[t.cpu] = nil
	}
	t.cpu = -1
}

// Run is every agent thread's body: the library's global-agent loop
// (drain the channel, Schedule, poll; the other agents sleep; hot handoff
// and discovery included) around the policy's own decisions.
func (p *minimal) Run(a *agent.Agent) { p.loop.Run(a, &handler{p: p}, p) }

// Schedule commits the head of the queue to each idle CPU in one group
// commit.
func (p *minimal) Schedule(a *agent.Agent) int {
	p.reqs, p.picked = p.reqs[:0], p.picked[:0]
	cpus := p.enc.CPUs()
	for cpu := cpus.First(); cpu >= 0 && p.rq.Len() > 0; cpu = cpus.Next(cpu + 1) {
		if cpu == p.global.CPU() || p.running[cpu] != nil {
			continue
		}
		t, _ := p.rq.PopFront()
		r := a.RunRequest(cpu)
		r.Open(agent.RunRequestOptions{Target: t.Gtid, TargetBarrier: t.Seqnum, CommitFlags: agent.CommitAtTxnCommit})
		p.reqs, p.picked = append(p.reqs, r), append(p.picked, t)
	}
	if len(p.reqs) > 0 {
		a.CommitRunRequests(p.reqs)
	}
	for i, r := range p.reqs {
		if t := p.picked[i]; r.State() == agent.TxnComplete {
			t.cpu, p.running[r.CPU()] = r.CPU(), t
		} else {
			p.rq.PushFront(t) // stale or busy: try again next round
		}
	}
	return len(p.reqs)
}

// NextWake: only a message can free a CPU or queue a task.
func (p *minimal) NextWake(agent.Time) agent.Time { return agent.Never }

// registerOnce registers the example policy once per test binary (go test
// -count=2 runs the example twice; a name may be registered only once).
var registerOnce sync.Once

// Example_registerPolicy registers a policy of one's own and runs it in an
// experiment, as a user's module would (docs/DESIGN.md §5). A module would call
// agent.Register from its package's init function.
func Example_registerPolicy() {
	registerOnce.Do(func() {
		agent.Register("example-minimal", "a global FIFO in 60 lines", func(s *agent.Setup) (agent.Policy, error) {
			ch, err := s.Enclave.MakeChannel(s.Params.QueueElems) // polled: no wakeup CPU
			if err != nil {
				return nil, err
			}
			ch.SetEnclaveDefault()
			p := &minimal{enc: s.Enclave, ch: ch, global: agent.NewGlobal(s.Enclave, s.Params.GlobalCPU),
				running: make([]*task, s.Enclave.Topology().NumCPUs())}
			p.d = agent.NewDispatcher(func(agent.Gtid) *task { return &task{cpu: -1} }, func(t *task) *agent.Task { return &t.Task })
			p.loop = agent.CentralLoop[task]{Global: p.global, Channel: ch, Dispatcher: p.d}
			return p, nil
		})
	})

	spec, _, err := experiment.Load([]string{"skylake112", "synthetic-requests"},
		[]string{`workload.group[0].class="ghost"`, "enclave.cpus=0-8", "run.duration_ms=50"})
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := experiment.Run(spec, experiment.Options{Workload: "synthetic", Policy: "example-minimal"})
	if err != nil {
		fmt.Println(err)
		return
	}
	m := r.Metrics
	fmt.Printf("policy %s: %.0f requests, all accounted for: %v, agent crashes: %d\n",
		r.Policy, m["requests_generated"], m["requests_generated"] == m["requests_completed"]+m["requests_in_flight"], r.Ghost.AgentCrashes)
	// Output:
	// policy example-minimal: 6977 requests, all accounted for: true, agent crashes: 0
}
