package agent

import "testing"

// TestPolicyPackage: which functions of a panicking stack PolicyFrame may
// blame — a policy's (ghostsim's own under policies/, a user's, a test's
// or a command's), never the standard library's or the sim packages'.
func TestPolicyPackage(t *testing.T) {
	tests := []struct {
		fn, pkg string
		policy  bool
	}{
		{"github.com/ghostsim/ghostsim/policies/fifocentral.(*scheduler).Run", "github.com/ghostsim/ghostsim/policies/fifocentral", true},
		{"github.com/ghostsim/ghostsim/policies/search.NewWith.func1", "github.com/ghostsim/ghostsim/policies/search", true},
		{"example.com/mypolicy.(*lifo).Schedule", "example.com/mypolicy", true},
		{"github.com/ghostsim/ghostsim/experiment_test.(*panicky).Run", "github.com/ghostsim/ghostsim/experiment_test", true},
		{"main.(*p).Run", "main", true},
		{"github.com/ghostsim/ghostsim/sim/agent.(*Channel).Consume", "github.com/ghostsim/ghostsim/sim/agent", false},
		{"github.com/ghostsim/ghostsim/sim/agent.(*CentralLoop[...]).Run", "github.com/ghostsim/ghostsim/sim/agent", false},
		{"github.com/ghostsim/ghostsim/sim/kernel.(*Enclave).StartAgents.func1", "github.com/ghostsim/ghostsim/sim/kernel", false},
		{"github.com/ghostsim/ghostsim/sim.NewCoroutine[...].func1", "github.com/ghostsim/ghostsim/sim", false},
		{"runtime.gopanic", "runtime", false},
		{"runtime/debug.Stack", "runtime/debug", false},
		{"sort.Slice", "sort", false},
		{"iter.Pull[...].func1", "iter", false},
	}
	for _, tt := range tests {
		pkg := funcPackage(tt.fn)
		if pkg != tt.pkg || isPolicyPackage(pkg) != tt.policy {
			t.Errorf("%s: package %q (policy %v), want %q (%v)", tt.fn, pkg, isPolicyPackage(pkg), tt.pkg, tt.policy)
		}
	}
	if simPath != "github.com/ghostsim/ghostsim/sim" || modulePath != "github.com/ghostsim/ghostsim" {
		t.Errorf("simPath %q, modulePath %q", simPath, modulePath)
	}
}
