package experiment

import (
	"fmt"

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
	params, fault := spec.params(es), spec.fault(es)
	p, err := agent.Launch(k, e, policy, params)
	if err != nil {
		return nil, err
	}
	f := &faults{k: k, e: e, name: es.Name, policy: policy, params: params, proc: p, gap: sim.Ms(fault.UpgradeGapMs)}
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
	gap    sim.Time
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
		f.proc.Kill(true, fmt.Errorf("injected crash at %v", now))
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
		// The new process holds its own fd now.
		f.successor.Close()
		f.successor = nil
	}
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
