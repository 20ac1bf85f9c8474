package ghosttest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ghostsim/ghostsim/configs"
	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/agent"
	"github.com/ghostsim/ghostsim/sim/hw"
	"github.com/ghostsim/ghostsim/sim/kernel"
)

// Trace records a kernel's typed trace (kernel.Kernel.SetTraceEvents) as
// stable text, one line per event, in the format of the kernel's own
// scenario goldens (sim/kernel/testdata/ghost/):
//
//	<time> cpu<N> post qQ MSG_... gtid=G (name) seq=S   a message reached queue Q (eEqQ: enclave E's)
//	<time> cpu<N> drop MSG_... gtid=G (name) ...: why    produced (barrier bumped) but not delivered
//	<time> cpu<N> commit gtid=G (name) TXN_...           a transaction on cpuN reached its final state
//	<time> cpu<N> switch prev(state) -> next             a context switch
//	<time> cpu-   --- what                               an action of the test (Note, Kernel.At)
//
// and the watchdog's, an enclave's destruction and the BPF hook's lines
// as the kernel words them (kernel.TraceEvent.String). A policy's
// decisions show as its commits and the switches that follow.
type Trace struct {
	k     *kernel.Kernel
	lines []string
}

// RecordTrace starts recording k's trace; it replaces any recorder set
// with SetTraceEvents or SetTrace.
func RecordTrace(k *kernel.Kernel) *Trace {
	tr := &Trace{k: k}
	k.SetTraceEvents(tr.event)
	return tr
}

func (tr *Trace) event(e kernel.TraceEvent) {
	var text string
	switch e.Kind {
	case kernel.TraceMsgPosted:
		q := fmt.Sprintf("q%d", e.Queue)
		if e.Enclave != 0 {
			q = fmt.Sprintf("e%dq%d", e.Enclave, e.Queue)
		}
		text = "post " + q + " " + tr.msg(e.Msg)
	case kernel.TraceMsgDropped:
		text = "drop " + tr.msg(e.Msg) + ": " + e.Reason
	case kernel.TraceTxnFinal:
		text = fmt.Sprintf("commit %s %v", tr.gtid(e.Gtid), e.Txn)
	case kernel.TraceSwitch:
		prev := tr.task(e.Prev)
		if e.Prev >= 0 {
			prev += "(" + e.PrevState.String() + ")"
		}
		text = "switch " + prev + " -> " + tr.task(e.Next)
	default:
		text = e.String()
	}
	tr.add(e.At, e.CPU, text)
}

func (tr *Trace) add(at sim.Time, cpu int, text string) {
	c := "cpu-"
	if cpu >= 0 {
		c = fmt.Sprintf("cpu%d", cpu)
	}
	tr.lines = append(tr.lines, strings.TrimRight(fmt.Sprintf("%-9v %-5s %s", at, c, text), " "))
}

// Note records a line of the test's own ("--- " and the text) at the
// current time.
func (tr *Trace) Note(format string, args ...any) {
	tr.add(tr.k.Now(), -1, "--- "+fmt.Sprintf(format, args...))
}

func (tr *Trace) task(id int) string {
	if id < 0 {
		return "idle"
	}
	return tr.k.Task(id).Name()
}

// gtid renders a gtid with its task's name.
func (tr *Trace) gtid(g kernel.Gtid) string {
	switch g {
	case kernel.GtidNull:
		return "gtid=NULL"
	case kernel.GtidAgent:
		return "gtid=AGENT"
	case kernel.GtidIdle:
		return "gtid=IDLE"
	}
	if t := tr.k.TaskByGtid(g); t != nil {
		return fmt.Sprintf("gtid=%d (%s)", g, t.Name())
	}
	return fmt.Sprintf("gtid=%d", g)
}

// msg renders a message: its type, task (or CPU) and seqnum, and whether
// a TASK_NEW is runnable, a PREEMPT was of a latched task and a DEPARTED
// of the current one.
func (tr *Trace) msg(m kernel.Message) string {
	if !m.Type.IsTaskMsg() {
		if m.Type == kernel.MsgCPUNotIdle {
			return fmt.Sprintf("%v cpu=%d seq=%d next=%s", m.Type, m.CPU, m.Seqnum, tr.gtid(m.Gtid))
		}
		return fmt.Sprintf("%v cpu=%d seq=%d", m.Type, m.CPU, m.Seqnum)
	}
	out := fmt.Sprintf("%v %s seq=%d", m.Type, tr.gtid(m.Gtid), m.Seqnum)
	switch {
	case m.Type == kernel.MsgTaskNew && m.Runnable:
		out += " runnable"
	case m.Type == kernel.MsgTaskNew:
		out += " blocked"
	case m.Type == kernel.MsgTaskPreempt && m.WasLatched:
		out += " was_latched"
	case m.Type == kernel.MsgTaskDeparted && m.WasCurrent:
		out += " was_current"
	}
	return out
}

// Lines returns the recorded lines.
func (tr *Trace) Lines() []string { return tr.lines }

// String returns the recorded lines, each ending in a newline.
func (tr *Trace) String() string {
	var b strings.Builder
	for _, l := range tr.lines {
		b.WriteString(l + "\n")
	}
	return b.String()
}

// Compare compares the trace, headed by doc's lines as "# " comments
// (what the scenario shows), with the golden file (a path under the
// test's testdata, such as "testdata/preempt.txt") and fails t with a
// diff if they differ. With `go test -update` it writes the file instead.
func (tr *Trace) Compare(t testing.TB, file, doc string) {
	t.Helper()
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(doc), "\n") {
		b.WriteString(strings.TrimRight("# "+strings.TrimSpace(l), " ") + "\n")
	}
	b.WriteString(tr.String())
	got := b.String()
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatalf("ghosttest: %v", err)
		}
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatalf("ghosttest: %v", err)
		}
		t.Logf("ghosttest: wrote %s", file)
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("ghosttest: %v (create it with go test -update)", err)
	}
	if diff := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(got, "\n")); diff != "" {
		t.Errorf("ghosttest: trace differs from %s (-want +got):\n%s\nif the change is intended, rewrite it with go test -run '%s' -update", file, diff, t.Name())
	}
}

// KernelConfig describes the small machine a Kernel builds.
type KernelConfig struct {
	// Machine is an embedded machine config (default "skylake112");
	// Sets are -set overrides of it ("machine.cpus=8").
	Machine string
	Sets    []string
	// CPUs is the enclave's CPU list (default "0-3"): a centralized
	// policy's global agent takes the first.
	CPUs string
	// Params are the policy's parameters (default agent.DefaultParams).
	Params *agent.Params
	// VMIsolation turns on the kernel's VM isolation (securevm).
	VMIsolation bool
}

// Kernel is a kernel on a small machine with the invariant checker after
// every event, one enclave running a registered policy's agents, and its
// trace recorded: the rig of a policy's golden scenarios.
//
//	k := ghosttest.NewKernel(t, "fifo-central", ghosttest.KernelConfig{CPUs: "0-2"})
//	a := k.Spawn("A", func(th *kernel.Thread) { th.Run(50 * sim.Microsecond); th.Block() })
//	k.At(100*sim.Microsecond, "wake A", func() { k.Wake(a) })
//	k.Run(300 * sim.Microsecond)
//	k.Trace.Compare(t, "testdata/scenario.txt", "what the scenario shows")
type Kernel struct {
	*kernel.Kernel
	Enclave *kernel.Enclave
	Agents  *agent.Process
	Trace   *Trace

	t    testing.TB
	eng  *sim.Engine
	hid  sim.HandlerID
	acts []func()
}

// NewKernel builds the kernel, the enclave and the policy's agent
// process, with the trace recorded from the start. It fails t on a bad
// config or policy.
func NewKernel(t testing.TB, policy string, cfg KernelConfig) *Kernel {
	t.Helper()
	if cfg.Machine == "" {
		cfg.Machine = "skylake112"
	}
	if cfg.CPUs == "" {
		cfg.CPUs = "0-3"
	}
	params := agent.DefaultParams()
	if cfg.Params != nil {
		params = *cfg.Params
	}
	spec := struct {
		hw.Spec
		Kernel kernel.Params `toml:"kernel"`
	}{Kernel: kernel.DefaultParams()}
	meta, err := configs.Load(&spec, []string{cfg.Machine}, cfg.Sets)
	if err != nil {
		t.Fatalf("ghosttest: %v", err)
	}
	if err := spec.Spec.Validate(); err != nil {
		t.Fatalf("ghosttest: %v", meta.Wrap(err))
	}
	m, err := hw.New(spec.Spec)
	if err != nil {
		t.Fatalf("ghosttest: %v", err)
	}
	eng := sim.NewEngine(1)
	t.Cleanup(eng.Close)
	kk, err := kernel.New(eng, m, kernel.Config{Params: spec.Kernel, Check: true})
	if err != nil {
		t.Fatalf("ghosttest: %v", err)
	}
	kk.SetVMIsolation(cfg.VMIsolation)
	cpus, err := kernel.ParseCPUList(cfg.CPUs, m.NumCPUs())
	if err != nil {
		t.Fatalf("ghosttest: %v", err)
	}
	k := &Kernel{Kernel: kk, t: t, eng: eng, Trace: RecordTrace(kk)}
	if k.Enclave, err = kk.CreateEnclave(cpus, kernel.EnclaveConfig{}); err != nil {
		t.Fatalf("ghosttest: %v", err)
	}
	if k.Agents, err = agent.Launch(kk, k.Enclave, policy, params); err != nil {
		t.Fatalf("ghosttest: %v", err)
	}
	k.hid = eng.Register(sim.HandlerFunc(func(now sim.Time, ev sim.Event) { k.acts[ev.A]() }))
	return k
}

// Spawn spawns a ghOSt task of the enclave, queued on the enclave's
// first CPU; spec, if given, sets more (its Name, Class, Enclave,
// Program are the call's).
func (k *Kernel) Spawn(name string, prog func(th *kernel.Thread), spec ...kernel.TaskSpec) *kernel.Task {
	k.t.Helper()
	s := kernel.TaskSpec{CPU: -1, NUMAHome: -1}
	if len(spec) > 0 {
		s = spec[0]
	}
	s.Name, s.Class, s.Enclave, s.Program = name, kernel.ClassGhost, k.Enclave, prog
	x, err := k.Kernel.Spawn(s)
	if err != nil {
		k.t.Fatalf("ghosttest: spawn %s: %v", name, err)
	}
	return x
}

// SpawnCFS spawns a CFS task pinned to cpu.
func (k *Kernel) SpawnCFS(name string, cpu int, prog func(th *kernel.Thread)) *kernel.Task {
	k.t.Helper()
	x, err := k.Kernel.Spawn(kernel.TaskSpec{Name: name, Class: kernel.ClassCFS, Affinity: kernel.SetOf(cpu), CPU: cpu, NUMAHome: -1, Program: prog})
	if err != nil {
		k.t.Fatalf("ghosttest: spawn %s: %v", name, err)
	}
	return x
}

// At runs f at simulated time when, as an event of its own, noting what
// in the trace first (nothing if it is empty).
func (k *Kernel) At(when sim.Time, what string, f func()) {
	k.acts = append(k.acts, func() {
		if what != "" {
			k.Trace.Note("%s", what)
		}
		f()
	})
	k.eng.Schedule(when, k.hid, sim.Event{A: int32(len(k.acts) - 1)})
}

// Run runs the simulation up to until, then fails the test if the agent
// process crashed or a thread program panicked.
func (k *Kernel) Run(until sim.Time) {
	k.t.Helper()
	k.eng.Run(until)
	if c, crashed := k.Agents.Crash(); crashed {
		k.t.Fatalf("ghosttest: the agent crashed at %v: %s (in the policy: %s)", c.At, c.Message, c.Frame)
	}
	if err := k.Err(); err != nil {
		k.t.Fatalf("ghosttest: a thread program panicked: %v", err)
	}
}

// RequireDone fails the test unless every task given has exited.
func (k *Kernel) RequireDone(tasks ...*kernel.Task) {
	k.t.Helper()
	for _, x := range tasks {
		if x.State() != kernel.TaskDead {
			k.t.Errorf("ghosttest: %v is %v, want dead", x, x.State())
		}
	}
}
