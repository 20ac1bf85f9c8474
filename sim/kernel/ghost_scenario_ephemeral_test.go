package kernel

import (
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// Scenarios of an enclave's lifetime: an ephemeral enclave dies with the
// last open fd of its ctl file, so an agent crash with no successor
// falls back to CFS, while an in-place upgrade (whose new process opens
// the enclave before the old one dies) keeps it; a persistent enclave
// outlives its agents.
//
// Reference: docs/GHOST-SEMANTICS.md §5.1 (ctl "create ... ephemeral"), §5.6,
// §5.7; paper §3.1 ("if one or several of the agents crash, the system
// will fall back to the default scheduler") and §3.4.
//
// The scenarios themselves are scripts: testdata/scripts/ephemeral-crash.txt
// (with the persistent enclave that outlives the crash) and
// ephemeral-upgrade.txt.

// TestStartAgentsOnDestroyedEnclave: an ephemeral enclave destroyed by
// its owner's exit refuses new agents.
func TestStartAgentsOnDestroyedEnclave(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1), EnclaveConfig{Ephemeral: true})
	q, _ := s.e.CreateQueue(64)
	q.SetDefault()
	p := s.agents("old", func(a *sagent) { a.idle() })
	s.crashOK[p] = true
	s.at(sim.Us(10), "", func() { p.Kill(true, nil) })
	s.run(sim.Us(20))
	if cause, at := s.e.Destroyed(); cause != DestroyOwnerExit || at != sim.Us(10) {
		t.Fatalf("destroyed by %q at %v, want owner_exit at 10us", cause, at)
	}
	if _, err := s.e.StartAgents("late", func(*AgentThread) {}); err == nil {
		t.Errorf("agents started on a destroyed enclave")
	}
}
