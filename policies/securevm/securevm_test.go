package securevm_test

import (
	"fmt"
	"testing"

	"github.com/ghostsim/ghostsim/configs"
	_ "github.com/ghostsim/ghostsim/policies/securevm"
	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/agent"
	"github.com/ghostsim/ghostsim/sim/hw"
	"github.com/ghostsim/ghostsim/sim/kernel"
)

// rig is a small skylake (2 sockets × 2 cores × SMT2: the sibling of c is
// c+4) with the invariant checker on, VM isolation required, one enclave
// of all 8 CPUs and the securevm agents.
type rig struct {
	t    *testing.T
	e    *sim.Engine
	k    *kernel.Kernel
	enc  *kernel.Enclave
	proc *agent.Process
}

func newRig(t *testing.T, sets ...string) *rig {
	t.Helper()
	spec := struct {
		hw.Spec
		Kernel kernel.Params `toml:"kernel"`
	}{Kernel: kernel.DefaultParams()}
	if _, err := configs.Load(&spec, []string{"skylake112"}, append([]string{
		"machine.cpus=8", "machine.cores_per_socket=2", "machine.cores_per_ccx=2",
	}, sets...)); err != nil {
		t.Fatal(err)
	}
	m, err := hw.New(spec.Spec)
	if err != nil {
		t.Fatal(err)
	}
	e := sim.NewEngine(1)
	t.Cleanup(e.Close)
	k, err := kernel.New(e, m, kernel.Config{Params: spec.Kernel, Check: true})
	if err != nil {
		t.Fatal(err)
	}
	k.SetVMIsolation(true)
	enc, err := k.CreateEnclave(kernel.RangeSet(0, 8), kernel.EnclaveConfig{})
	if err != nil {
		t.Fatal(err)
	}
	proc, err := agent.Launch(k, enc, "securevm", agent.DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	return &rig{t: t, e: e, k: k, enc: enc, proc: proc}
}

// vcpus spawns n vCPUs of each of vms VMs, each running work then exiting.
func (r *rig) vcpus(vms, n int, work sim.Time) []*kernel.Task {
	var out []*kernel.Task
	for v := 1; v <= vms; v++ {
		for i := 0; i < n; i++ {
			t, err := r.k.Spawn(kernel.TaskSpec{
				Name: fmt.Sprintf("vm%d.%d", v, i), Class: kernel.ClassGhost, Enclave: r.enc, CPU: -1,
				NUMAHome: -1, VM: v, Program: func(th *kernel.Thread) { th.Run(work) },
			})
			if err != nil {
				r.t.Fatal(err)
			}
			out = append(out, t)
		}
	}
	return out
}

func (r *rig) run(until sim.Time) {
	r.t.Helper()
	r.e.Run(until)
	if crashed, err := r.proc.Crashed(); crashed {
		r.t.Fatalf("agent crashed: %v", err)
	}
}

// TestOneVCPUVMsShareCores: 6 one-vCPU VMs on 4 cores: every vCPU
// finishes, no two VMs ever share a core (the checker, after every
// event), and the work is shared: all finish within a few periods of
// 6/4 × their solo time.
func TestOneVCPUVMsShareCores(t *testing.T) {
	r := newRig(t)
	vs := r.vcpus(6, 1, sim.Ms(100))
	r.run(sim.Ms(400))
	for _, v := range vs {
		if v.State() != kernel.TaskDead {
			t.Errorf("%v is %v after 400 ms (ran %v)", v, v.State(), v.Runtime())
		}
	}
}
