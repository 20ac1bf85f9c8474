package cli

import "testing"

// TestVMDeterminism: the vm workload (Table 4's 32 vCPUs on 25 cores) over
// two lengths of the benchmark, under each of Table 4's schedulers (CFS,
// in-kernel core scheduling, the securevm policy with its sync-group
// commits).
func TestVMDeterminism(t *testing.T) {
	for _, sys := range []struct {
		name string
		args []string
	}{
		{"cfs", nil},
		{"core_sched", []string{"-set", "kernel.core_sched=true", "-set", "kernel.vm_flush=true"}},
		{"securevm", []string{"-policy", "securevm", "-set", "kernel.vm_flush=true"}},
	} {
		t.Run(sys.name, func(t *testing.T) {
			args := append([]string{"-config", "skylake112", "-config", "vm.toml", "-workload", "vm",
				"-sweep", "workload.vm.scale=0.0005,0.001", "-json", "-q"}, sys.args...)
			checkSweepDeterminism(t, args...)
		})
	}
}
