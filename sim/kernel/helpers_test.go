package kernel

import (
	"testing"

	"github.com/ghostsim/ghostsim/configs"
	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/hw"
)

// testSpec is the part of an experiment config the kernel tests need.
type testSpec struct {
	hw.Spec
	Kernel Params `toml:"kernel"`
}

// newTestKernel builds a kernel on an embedded machine config with the
// invariant checker on. sets are -set style overrides.
func newTestKernel(t testing.TB, machine string, sets ...string) *Kernel {
	t.Helper()
	spec := testSpec{Kernel: DefaultParams()}
	meta, err := configs.Load(&spec, []string{machine}, sets)
	if err != nil {
		t.Fatal(err)
	}
	if err := spec.Spec.Validate(); err != nil {
		t.Fatal(meta.Wrap(err))
	}
	m, err := hw.New(spec.Spec)
	if err != nil {
		t.Fatal(err)
	}
	e := sim.NewEngine(1)
	t.Cleanup(e.Close)
	k, err := New(e, m, Config{Params: spec.Kernel, Check: true})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// spawn spawns a task or fails the test.
func spawn(t testing.TB, k *Kernel, spec TaskSpec) *Task {
	t.Helper()
	task, err := k.Spawn(spec)
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// hog is a program that computes forever in 1 ms chunks.
func hog(th *Thread) {
	for {
		th.Run(sim.Ms(1))
	}
}
