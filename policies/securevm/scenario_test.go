package securevm_test

import (
	"testing"

	"github.com/ghostsim/ghostsim/ghosttest"
	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/kernel"
)

// TestScenario pins securevm's decisions on two VMs' vCPUs in a golden
// trace (testdata/scenario.txt; go test -update rewrites it): per-core
// agents commit both SMT siblings of a core to one VM with sync groups.
func TestScenario(t *testing.T) {
	k := ghosttest.NewKernel(t, "securevm", ghosttest.KernelConfig{
		Sets: []string{"machine.cpus=8", "machine.cores_per_socket=2", "machine.cores_per_ccx=2"},
		CPUs: "0-7", VMIsolation: true,
	})
	us := sim.Microsecond
	vm := func(v int) kernel.TaskSpec { return kernel.TaskSpec{CPU: -1, NUMAHome: -1, VM: v} }
	a := k.Spawn("vm1.0", func(th *kernel.Thread) { th.Run(30 * us); th.Block(); th.Run(10 * us) }, vm(1))
	b := k.Spawn("vm1.1", func(th *kernel.Thread) { th.Run(20 * us); th.Yield(); th.Run(20 * us) }, vm(1))
	c := k.Spawn("vm2.0", func(th *kernel.Thread) { th.Run(60 * us) }, vm(2))
	d := k.Spawn("vm2.1", func(th *kernel.Thread) { th.Run(40 * us) }, vm(2))
	e := k.Spawn("vm3.0", func(th *kernel.Thread) { th.Run(10 * us) }, vm(3))
	k.At(90*us, "wake vm1.0", func() { k.Wake(a) })
	k.Run(400 * us)
	k.RequireDone(a, b, c, d, e)
	k.Trace.Compare(t, "testdata/scenario.txt", `
securevm on 4 cores x 2 SMT (the sibling of cpuN is cpuN+4): VM 1's vCPUs
(vm1.0 runs 30us and blocks, vm1.1 yields after 20us), VM 2's two vCPUs and
VM 3's one; no core runs two VMs at once. vm1.0 is woken at 90us.`)
}
