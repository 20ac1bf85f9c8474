package agent

import (
	"fmt"
	"testing"

	"github.com/ghostsim/ghostsim/configs"
	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/hw"
	"github.com/ghostsim/ghostsim/sim/kernel"
)

// testKernel builds a kernel on an embedded machine config with the
// invariant checker on.
func testKernel(t *testing.T, machine string) *kernel.Kernel {
	t.Helper()
	spec := struct {
		hw.Spec
		Kernel kernel.Params `toml:"kernel"`
	}{Kernel: kernel.DefaultParams()}
	if _, err := configs.Load(&spec, []string{machine}, nil); err != nil {
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
	return k
}

// TestSyncGroupOwnership: the agent side of sync-group ownership, as
// ghost-userspace's LocalRunRequest::Open, LocalRunRequest::Abort and
// LocalEnclave::CommitSyncRequests do it:
//   - CPU 0 can own a slot (SyncGroup with SyncGroupOwner 0);
//   - an open for another group waits while the slot is owned, and goes
//     on once the owner releases it (here by Abort);
//   - an open without an owner on an owned slot is an agent bug (CHECK);
//   - a failed group's ownership is released once the group is final,
//     a successful one's by the kernel.
func TestSyncGroupOwnership(t *testing.T) {
	k := testKernel(t, "skylake112")
	e, err := k.CreateEnclave(SetOf(0, 1, 2, 3), kernel.EnclaveConfig{})
	if err != nil {
		t.Fatal(err)
	}
	q, _ := e.CreateQueue(64)
	q.SetDefault()
	enc := &Enclave{e: e, m: k.Machine(), topo: newTopology(k.Machine())}
	var log []string
	note := func(a *Agent, format string, args ...any) {
		log = append(log, fmt.Sprintf("%v cpu%d: %s", a.Now(), a.CPU().ID, fmt.Sprintf(format, args...)))
	}
	owners := func(a *Agent, cpus ...int) []int {
		var out []int
		for _, c := range cpus {
			out = append(out, a.kt.TxnState(c).SyncGroupOwner)
		}
		return out
	}
	var abortAt, openAt sim.Time
	var unownedPanic any
	body := func(a *Agent) {
		switch a.CPU().ID {
		case 0:
			r1, r2 := a.RunRequest(1), a.RunRequest(2)
			// A group that fails: the NULL gtid is fine, a task gtid that
			// does not exist is TARGET_NOT_FOUND.
			r1.Open(RunRequestOptions{Target: GtidNull, CommitFlags: CommitAtTxnCommit, SyncGroup: true, SyncGroupOwner: 0})
			r2.Open(RunRequestOptions{Target: 999, CommitFlags: CommitAtTxnCommit, SyncGroup: true, SyncGroupOwner: 0})
			note(a, "opened cpu1, cpu2 owned by cpu0: owners %v", owners(a, 1, 2))
			ok := a.CommitSyncRequests([]*RunRequest{r1, r2})
			note(a, "failed group ok=%v: owners %v", ok, owners(a, 1, 2))
			// A group that succeeds: the kernel releases it.
			r1.Open(RunRequestOptions{Target: GtidNull, CommitFlags: CommitAtTxnCommit, SyncGroup: true, SyncGroupOwner: 0})
			r2.Open(RunRequestOptions{Target: GtidNull, CommitFlags: CommitAtTxnCommit, SyncGroup: true, SyncGroupOwner: 0})
			ok = a.CommitSyncRequests([]*RunRequest{r1, r2})
			note(a, "successful group ok=%v: owners %v", ok, owners(a, 1, 2))
			// Hold cpu3's slot for a while, then abort (releasing it).
			r3 := a.RunRequest(3)
			r3.Open(RunRequestOptions{Target: GtidNull, CommitFlags: CommitAtTxnCommit, SyncGroup: true, SyncGroupOwner: 0})
			note(a, "holds cpu3: owners %v", owners(a, 3))
			a.Spin(20 * Microsecond)
			r3.Abort()
			abortAt = a.Now()
			note(a, "aborted cpu3: owners %v", owners(a, 3))
		case 1:
			a.Spin(10 * Microsecond)
			r3 := a.RunRequest(3)
			note(a, "opens cpu3 for its own group")
			r3.Open(RunRequestOptions{Target: GtidNull, CommitFlags: CommitAtTxnCommit, SyncGroup: true, SyncGroupOwner: 1})
			openAt = a.Now()
			note(a, "opened cpu3: owners %v", owners(a, 3))
			func() {
				defer func() { unownedPanic = recover() }()
				a.Spin(10 * Microsecond)
				// An open without an owner of a slot that a group owns
				// (even this agent's own) is CHECK(!sync_group_owned()).
				a.RunRequest(3).Open(RunRequestOptions{Target: GtidNull})
			}()
			r3.Abort()
		}
		for !a.Finished() {
			_ = a.LocalYield(a.Barrier(), 0)
		}
	}
	if _, err := e.StartAgents("sg", func(kt *kernel.AgentThread) {
		body(&Agent{kt: kt, enc: enc, cpu: enc.topo.CPU(kt.CPU())})
	}); err != nil {
		t.Fatal(err)
	}
	k.Engine().Run(sim.Us(100))
	for _, l := range log {
		t.Log(l)
	}
	want := []string{
		"opened cpu1, cpu2 owned by cpu0: owners [0 0]",
		"failed group ok=false: owners [-1 -1]",
		"successful group ok=true: owners [-1 -1]",
		"holds cpu3: owners [0]",
		"aborted cpu3: owners [-1]",
	}
	for _, w := range want {
		found := false
		for _, l := range log {
			if len(l) >= len(w) && l[len(l)-len(w):] == w {
				found = true
			}
		}
		if !found {
			t.Errorf("missing %q", w)
		}
	}
	if openAt < abortAt || abortAt == 0 {
		t.Errorf("cpu1 opened cpu3's slot at %v, while cpu0 owned it until %v: want after", openAt, abortAt)
	}
	if unownedPanic == nil {
		t.Error("an open without an owner on an owned slot did not panic")
	}
}
