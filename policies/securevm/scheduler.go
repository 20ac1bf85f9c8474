// Package securevm is the paper's secure VM core-scheduling policy
// ("securevm", §4.5, Fig 9): ghOSt schedules whole physical cores so that
// the two SMT siblings of a core only ever run vCPUs of one VM.
//
// Per-core model (Fig 9): both siblings of a core post their messages to
// one channel, which wakes the agent of the CPU that produced the message
// (the channel's two wakeup CPUs). At any time one agent per core is
// active: it claims the core in the policy's shared memory, and the
// other, if awake, yields. The active agent decides for both CPUs and
// commits both transactions as one sync group (CommitSyncRequests), which
// succeeds or fails as a whole; it commits with the agent barrier read
// before draining, so a group never commits over a pending message (§3.2).
// A CPU without a vCPU of the core's VM gets the idle task.
//
// Policy (similar to Tableau, the paper's [23]): every runnable vCPU gets
// c out of every period p. With U = min(1, cores / vCPUs) the share of a
// core per vCPU and a latency bound L = 20 ms, Tableau's planner takes the
// largest p with 2(p − c) ≤ L, c = U·p (tableau-tools schedgen/task.py).
// Cores pick by EDF among vCPUs with budget left; time beyond the budgets
// (slack) goes to the vCPU that has run least, a quantum at a time.
// Runqueues span one NUMA node (a VM's vCPUs queue on its home node); an
// idle core takes work from its node's runqueue first and spills to the
// other node's when its own has nothing. Where upstream's policy is not
// public, the choices are this package's; docs/WORKLOADS.md §4 ("What
// ghostsim chose") gives each with its reason.
package securevm

import (
	"github.com/ghostsim/ghostsim/sim/agent"
)

func init() {
	agent.Register("securevm", "per-core agents with sync-group commits: both siblings run one VM (paper §4.5, Fig 9)", New)
}

// Tableau's latency bound and the limits of its candidate periods.
const (
	latencyBound = 20 * agent.Millisecond
	maxPeriod    = 100 * agent.Millisecond
	slackQuantum = 5 * agent.Millisecond
)

// vcpu is the policy's view of a ghOSt task: a vCPU of a VM. Its State
// (agent.Task's) is Blocked (new and blocked, or dead), Queued (on its
// node's runqueue, or in flight in a sync group not yet settled) or
// OnCPU (a core's current vCPU once a group put it there, still while the
// PREEMPT of a group that displaced it is on its way); every message
// handler checks it with Expect, so a message the policy does not expect
// in that state is an agent crash, as in the other policies.
type vcpu struct {
	agent.Task
	vm       int
	node     int            // home runqueue
	cpu      int            // CPU it runs on (policy's view), -1 if none
	queued   bool           // on its node's runqueue
	inflight bool           // assigned by a sync group not yet resolved
	dead     bool           // gone: never queue again
	deadline agent.Time     // end of the current period
	budget   agent.Time     // guaranteed time left in the period
	runtime  agent.Time     // CPU time the policy has seen it get
	start    agent.Time     // when its current run was accounted from
	slackAt  agent.Time     // when it last started running on slack
	ch       *agent.Channel // the channel its messages go to
	// offByAgent: its CPU's own agent preempted it to decide; it stays
	// the core's current vCPU for that decision.
	offByAgent bool
}

// core is one physical core: its two CPUs, its channel and the active
// agent's claim.
type core struct {
	cpus  [2]int // cpus[1] = -1 on a machine without SMT
	node  int
	ch    *agent.Channel
	owner int // CPU whose agent is active, -1 if none
	phase int // of the owner: deciding or committed
	cur   [2]*vcpu
	// pending is the last sync group committed, until resolved.
	pending  bool
	assign   [2]*vcpu
	idleCore bool // both CPUs idle with nothing to run (policy's view)
}

const (
	deciding = iota
	committed
)

// scheduler is shared by the process's agent threads.
type scheduler struct {
	enc   *agent.Enclave
	p     agent.Params
	d     *agent.Dispatcher[vcpu]
	cores []*core
	byCPU []*core // core of each CPU
	// reqs are each agent's run requests for its core's CPUs (a
	// RunRequest belongs to the agent thread that drives it).
	reqs  [][2]*agent.RunRequest
	rq    [][]*vcpu
	nodes int
	live  int // vCPUs not dead
	stats *agent.Stats
	def   *agent.Channel
	// counters
	cSync, cSyncFail, cSpill, cSwitch, cKeep int
}

// New makes one channel per core, waking the agent of the CPU whose
// message it is, and takes the first core's as the enclave's default.
func New(s *agent.Setup) (agent.Policy, error) {
	topo := s.Enclave.Topology()
	n := topo.NumCPUs()
	sc := &scheduler{enc: s.Enclave, p: s.Params, byCPU: make([]*core, n), reqs: make([][2]*agent.RunRequest, n), nodes: topo.NumNUMA(), stats: agent.NewStats()}
	sc.rq = make([][]*vcpu, sc.nodes)
	set := s.Enclave.CPUs()
	for c := set.First(); c >= 0; c = set.Next(c + 1) {
		if sc.byCPU[c] != nil {
			continue
		}
		co := &core{cpus: [2]int{c, -1}, node: topo.CPU(c).Socket, owner: -1, idleCore: true}
		wake := []int{c}
		for _, sib := range topo.Siblings(c) {
			if set.Has(sib) && co.cpus[1] < 0 {
				co.cpus[1] = sib
				wake = append(wake, sib)
			}
		}
		ch, err := s.Enclave.MakeChannel(s.Params.QueueElems, wake...)
		if err != nil {
			return nil, err
		}
		co.ch = ch
		for _, x := range co.cpus {
			if x >= 0 {
				sc.byCPU[x] = co
			}
		}
		sc.cores = append(sc.cores, co)
	}
	sc.cores[0].ch.SetEnclaveDefault()
	sc.def = sc.cores[0].ch
	s.Enclave.SetDeliverTicks(true)
	sc.d = agent.NewDispatcher(func(g agent.Gtid) *vcpu { return &vcpu{cpu: -1} }, func(t *vcpu) *agent.Task { return &t.Task })
	sc.cSync = sc.stats.Counter("sync_commits")
	sc.cSyncFail = sc.stats.Counter("sync_failures")
	sc.cSpill = sc.stats.Counter("spills")
	sc.cSwitch = sc.stats.Counter("vm_switches")
	sc.cKeep = sc.stats.Counter("keeps")
	return sc, nil
}

// Stats returns the policy's counters (agent.StatsReporter).
func (s *scheduler) Stats() *agent.Stats { return s.stats }

// share returns the period and budget of the Tableau rule for the
// current number of live vCPUs.
func (s *scheduler) share() (period, budget agent.Time) {
	if s.live <= len(s.cores) {
		return maxPeriod, maxPeriod
	}
	// U = cores/live; p = L / (2(1 − U)) = L·live / (2(live − cores)).
	p := latencyBound * agent.Time(s.live) / agent.Time(2*(s.live-len(s.cores)))
	p = min(p, maxPeriod)
	return p, p * agent.Time(len(s.cores)) / agent.Time(s.live)
}

// replenish starts v's new period if the last one is over.
func (s *scheduler) replenish(v *vcpu, now agent.Time) {
	if now < v.deadline {
		return
	}
	p, c := s.share()
	v.deadline += p * ((now-v.deadline)/p + 1)
	if v.deadline <= now { // first period
		v.deadline = now + p
	}
	v.budget = c
}

// enqueue puts v on its home node's runqueue and wakes an idle core.
func (s *scheduler) enqueue(a *agent.Agent, v *vcpu) {
	if v.queued || v.dead || v.inflight {
		return
	}
	v.offByAgent = false
	a.ChargeCycles(s.p.ContainerOpCycles)
	v.queued = true
	v.cpu = -1
	v.State = agent.Queued
	s.rq[v.node] = append(s.rq[v.node], v)
	// An idle core of the node, else of any node, picks it up.
	for pass := 0; pass < 2; pass++ {
		for _, co := range s.cores {
			if co.idleCore && (pass == 1 || co.node == v.node) {
				co.idleCore = false
				if co.cpus[0] != a.CPU().ID && co.cpus[1] != a.CPU().ID {
					a.Ping(co.cpus[0])
				}
				return
			}
		}
	}
}

func (s *scheduler) dequeue(v *vcpu) {
	q := s.rq[v.node]
	for i, x := range q {
		if x == v {
			copy(q[i:], q[i+1:])
			q[len(q)-1] = nil
			s.rq[v.node] = q[:len(q)-1]
			break
		}
	}
	v.queued = false
}

// best returns the queued vCPU of node n to run next, of VM vm if vm >
// 0: the earliest deadline among those with budget, else the one that
// has run least; nil if none.
func (s *scheduler) best(a *agent.Agent, n, vm int, now agent.Time) *vcpu {
	var edf, slack *vcpu
	q := s.rq[n]
	a.ChargeCycles(s.p.ContainerOpCycles * int64(len(q)))
	for _, v := range q {
		if vm > 0 && v.vm != vm {
			continue
		}
		s.replenish(v, now)
		if v.budget > 0 {
			if edf == nil || v.deadline < edf.deadline || (v.deadline == edf.deadline && v.Gtid < edf.Gtid) {
				edf = v
			}
		} else if slack == nil || v.runtime < slack.runtime || (v.runtime == slack.runtime && v.Gtid < slack.Gtid) {
			slack = v
		}
	}
	if edf != nil {
		return edf
	}
	return slack
}
