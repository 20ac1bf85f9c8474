package agent_test

import (
	"fmt"
	"sync"

	"github.com/ghostsim/ghostsim/experiment"
	"github.com/ghostsim/ghostsim/sim/agent"
)

// minimal is a complete ghOSt policy: one global agent takes every runnable
// task in arrival order and runs it on the first idle CPU, with one group
// commit per round. The library holds the loop, the runqueue, the per-CPU
// table and the commit; the policy holds its decisions. Real policies
// (package policies) add preemption, placement and the hot handoff.
type minimal struct {
	enc   *agent.Enclave
	loop  *agent.CentralLoop[task]
	rq    agent.RunQueue[*task] // a FIFO
	cpus  agent.CPUs[*task]     // the task committed to each CPU
	round agent.Round[*task]
}

// task embeds agent.Task: gtid, seqnum, run state, CPU, runqueue place.
type task struct {
	agent.Task
}

// Enqueue is the policy's one decision about messages (agent.Queue): a
// task that became runnable goes to the back, one that lost its CPU to
// the front. The library's handler (agent.Queueing) checks each message
// against the task's state, keeps the CPU table and takes blocked, dead
// and departed tasks out of the queue.
func (p *minimal) Enqueue(a *agent.Agent, t *task, m agent.Message, c agent.Cause) {
	if c == agent.CausePreempt {
		p.rq.PushFront(a, t)
	} else {
		p.rq.Push(a, t)
	}
}

// Run is every agent thread's body: the library's global-agent loop
// (drain the channel, Schedule, poll; the other agents sleep; hot handoff
// and discovery included) around the policy's own decisions.
func (p *minimal) Run(a *agent.Agent) {
	p.loop.Run(a, agent.NewQueueing(a, "example-minimal", p, &p.cpus), p)
}

// Schedule commits the head of the queue to each idle CPU in one group
// commit.
func (p *minimal) Schedule(a *agent.Agent) int {
	p.round.Start()
	cpus := p.enc.CPUs()
	for cpu := cpus.First(); cpu >= 0 && p.rq.Len() > 0; cpu = cpus.Next(cpu + 1) {
		if cpu == p.loop.Global.CPU() || p.cpus.Of(cpu) != nil {
			continue
		}
		t, _ := p.rq.Pop(a)
		p.round.Run(a, cpu, t)
	}
	return p.round.Commit(a, "example-minimal", func(t *task, cpu int, ok bool) {
		if ok {
			p.cpus.Assign(cpu, t, a.Now())
		} else {
			p.rq.PushFront(a, t) // stale or busy: try again next round
		}
	})
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
		agent.Register("example-minimal", "a global FIFO in 50 lines", func(s *agent.Setup) (agent.Policy, error) {
			// A polled channel, the enclave's default; the global role;
			// the task table.
			loop, err := agent.NewCentralLoop(s, func(agent.Gtid) *task { return &task{} })
			if err != nil {
				return nil, err
			}
			return &minimal{enc: s.Enclave, loop: loop, cpus: agent.NewCPUs[*task](s.Enclave.Topology().NumCPUs())}, nil
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
