package experiment

import (
	"fmt"
	"maps"
	"slices"

	"github.com/ghostsim/ghostsim/results"
	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/agent"
	"github.com/ghostsim/ghostsim/sim/kernel"
)

// startGhost creates enclave es on cpus with its watchdog and lifetime
// (ephemeral unless ephemeral = false), launches the policy's agent
// process with the enclave's parameters, and schedules its faults. The
// returned faults tracks the live agent process.
func startGhost(spec *Spec, k *kernel.Kernel, es *EnclaveSpec, cpus kernel.CPUSet, policy string) (*faults, error) {
	e, err := k.CreateEnclave(cpus, kernel.EnclaveConfig{
		RunnableTimeout: sim.Ms(es.RunnableTimeoutMs),
		Ephemeral:       es.ephemeral(),
	})
	if err != nil {
		return nil, err
	}
	params, fault := spec.params(es, policy), spec.fault(es)
	read := false
	if opts := params.Options; opts != nil {
		params.Options = func(v any) error { read = true; return opts(v) }
	}
	p, err := agent.Launch(k, e, policy, params)
	if err != nil {
		return nil, err
	}
	if params.Options != nil && !read {
		// A table the policy never reads would do nothing, silently.
		return nil, sim.KeyErrorf(ownTableKey(spec, policy), "policy %s takes no options of its own: remove [policy.%s]", policy, policy)
	}
	f := &faults{k: k, e: e, name: es.Name, policy: policy, params: params, proc: p, procs: []*agent.Process{p}, gap: sim.Ms(fault.UpgradeGapMs)}
	id := k.Engine().Register(f)
	for _, x := range []struct {
		atMs int64
		kind uint16
	}{
		{fault.AgentCrashAtMs, faultCrash},
		{fault.AgentHangAtMs, faultHang},
		{fault.AgentUpgradeAtMs, faultUpgrade},
	} {
		if x.atMs > 0 {
			k.Engine().Schedule(sim.Ms(x.atMs), id, sim.Event{Kind: x.kind})
		}
	}
	return f, nil
}

// ownTableKey is the key at which an error about policy's [policy.NAME]
// table is reported: its first key.
func ownTableKey(spec *Spec, policy string) string {
	key := "policy." + policy
	if keys := slices.Sorted(maps.Keys(spec.Policy.Own[policy])); len(keys) > 0 {
		key += "." + keys[0]
	}
	return key
}

// policyStats returns the live agent process's policy stats, or nil.
func (f *faults) policyStats() *agent.Stats {
	if f == nil || f.proc == nil {
		return nil
	}
	if r, ok := f.proc.Policy.(agent.StatsReporter); ok {
		return r.Stats()
	}
	return nil
}

// Fault kinds.
const (
	faultCrash uint16 = iota
	faultHang
	faultUpgrade
	faultRestart
)

// faults injects agent faults into a run.
type faults struct {
	k      *kernel.Kernel
	e      *kernel.Enclave
	name   string // the enclave's name in the config
	policy string
	params agent.Params
	proc   *agent.Process
	// queueKey is the config key of the policy's channel size, for
	// launchOverflow's error.
	queueKey string
	// threadsKey, when set, is the key of the synthetic group with the
	// most ghOSt threads in the enclave: what to change when the channel
	// is already the largest.
	threadsKey string
	// procs are every agent process launched on the enclave, in order
	// (an upgrade adds one), for the crash reports.
	procs []*agent.Process
	gap   sim.Time
	// successor is the upgrade's new process's fd of the enclave's ctl
	// file, open from the upgrade until the new process runs.
	successor *kernel.Ctl
}

// HandleEvent injects one fault: a crash (the agent process dies as from a
// panic; an ephemeral enclave dies with it and its threads fall back to
// CFS), a hang (it stops scheduling; only the watchdog helps), or an
// in-place upgrade (the new process opens the enclave, the old one exits,
// and the new one attaches after the gap, rebuilding its state by
// discovery).
func (f *faults) HandleEvent(now sim.Time, ev sim.Event) {
	if f.e.Dying() {
		return
	}
	switch ev.Kind {
	case faultCrash:
		f.proc.Kill(true, fmt.Errorf("crash injected at %v by the config (agent_crash_at_ms)", now))
	case faultHang:
		f.proc.Hang()
	case faultUpgrade:
		ctl, err := f.e.OpenCtl()
		if err != nil {
			panic(fmt.Sprintf("upgrade: opening the enclave: %v", err))
		}
		f.successor = ctl
		f.proc.Kill(false, nil)
		f.k.Engine().Schedule(now+f.gap, ev.H(), sim.Event{Kind: faultRestart})
	case faultRestart:
		p, err := agent.Launch(f.k, f.e, f.policy, f.params)
		if err != nil {
			panic(fmt.Sprintf("upgrade: new agent process: %v", err))
		}
		f.proc = p
		f.procs = append(f.procs, p)
		// The new process holds its own fd now.
		f.successor.Close()
		f.successor = nil
	}
}

// launchOverflow refuses a run whose enclave's default queue overflowed
// while the workload launched its threads, before any simulated time
// passed: every thread entering the enclave posts a TASK_NEW (7 slots) to
// it before an agent can run, so with more threads than the ring holds
// messages are lost for certain, which is fatal to the agent (as in
// ghost-userspace: Channel::Peek CHECK-fails on an overflow) and the run
// would measure nothing of the policy. An overflow later in a run is the
// agent's crash, reported as such.
func (f *faults) launchOverflow() error {
	q := f.e.DefaultQueue()
	if q == nil || q.Overflow() == 0 {
		return nil
	}
	slots := kernel.MsgTaskNew.Slots()
	msg := fmt.Sprintf("%d ghOSt threads enter the enclave at launch, before its agents run; their TASK_NEW messages "+
		"(%d slots each) overflow the policy's channel of %d slots, which holds %d, and a lost message is fatal "+
		"to the agent (as in ghost-userspace)", len(f.e.Tasks()), slots, q.Elems(), q.Elems()/slots)
	if q.Elems() < kernel.MaxQueueElems {
		msg += fmt.Sprintf(": raise it (a power of two up to %d, which holds %d) or run fewer ghOSt threads", kernel.MaxQueueElems, kernel.MaxQueueElems/slots)
		return sim.KeyErrorf(f.queueKey, "%s", msg)
	}
	msg += fmt.Sprintf(": %d is the kernel's largest channel (GHOST_MAX_QUEUE_ELEMS); run at most %d ghOSt threads in the enclave", q.Elems(), q.Elems()/slots)
	if f.threadsKey != "" {
		// The channel cannot grow: the threads are what to change.
		return sim.KeyErrorf(f.threadsKey, "%s", msg)
	}
	return sim.KeyErrorf(f.queueKey, "%s", msg)
}

// crashReports describes the crashes of the enclave's agent processes,
// in the order they happened.
func (f *faults) crashReports() []results.AgentCrash {
	var out []results.AgentCrash
	for i, p := range f.procs {
		c, ok := p.Crash()
		if !ok {
			continue
		}
		rc := results.AgentCrash{Enclave: f.name, Policy: f.policy, AtNs: c.At.Ns(), Injected: c.Injected, Panic: c.Message, Frame: c.Frame}
		if i < len(f.procs)-1 {
			rc.Outcome = results.OutcomeSuccessor
		} else if cause, at := f.e.Destroyed(); cause != kernel.NotDestroyed {
			rc.Outcome, rc.EnclaveDestroyCause, rc.EnclaveDestroyedAtNs = results.OutcomeCFS, cause.String(), at.Ns()
		} else {
			rc.Outcome = results.OutcomeStranded
		}
		out = append(out, rc)
	}
	return out
}

// agentTime is the CPU time of every agent thread so far.
func agentTime(k *kernel.Kernel) sim.Time {
	var total sim.Time
	for _, t := range k.Tasks() {
		if t.Class() == kernel.ClassAgent {
			total += t.Runtime()
		}
	}
	return total
}
