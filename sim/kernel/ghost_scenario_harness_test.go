package kernel

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ghostsim/ghostsim/sim"
)

// This file is the harness of the ghOSt scenario tests: a recorder of the
// kernel's typed trace events (Kernel.SetTraceEvents: messages when posted
// or dropped, transactions' final states, context switches, the watchdog,
// an enclave's destruction, the BPF hook), each kind rendered in one place
// (scenario.event), merged with notes from scripted agents into one stable
// text, compared with a golden file under testdata/ghost/. Regenerate the
// golden files with
//
//	go test ./sim/kernel -run Scenario -rewrite
//
// and read every changed line against docs/GHOST-SEMANTICS.md before
// keeping it. Each line is
//
//	<time> cpu<N> <event>
//
// where <event> is one of
//
//	post qQ MSG_... gtid=G (name) seq=S [payload]   a message reached queue Q
//	drop MSG_... gtid=G (name) seq=S: why            produced (barrier bumped) but not delivered
//	commit gtid=G (name) TXN_...                     a transaction on cpuN reached its final state
//	switch prev(state) -> next                       a context switch on cpuN
//	agent: ...                                       what a scripted agent did or saw
//	--- ...                                          an action of the test itself
//	watchdog: ...                                    the watchdog fired
//	enclave N: last ctl fd closed, ...               an ephemeral enclave dies with its owner
//
// Most scenarios are scripts (testdata/scripts/*.txt, run by
// TestScenarioScripts in ghost_script_test.go), whose commands drive this
// harness and whose expected output is this trace. Those that stay in Go
// need a callback or a check a script cannot say:
//
//   - §9.8 global-agent-handoff: its global agent is an algorithm of its
//     own (BOOST_PRIO, handing the role to another CPU's agent).
//   - §9.14 cpu-tick: its agent routes its own CPU's messages and queues
//     messages, not tasks.
//   - §9.15 cost-placement, group-commit-idle-targets: times checked
//     against the machine's costs (line transfers, IPIs, commit work).
//   - priority-changed: a probe run finds the instant of the second.
//   - txn-final-states: a table of attempts, each noted with its
//     padded description.
//   - bpf-pnt-races, spawn-ghost-child, affinity-of-ghost-tasks: a BPF
//     program, a thread's clone and affinity masks written in Go.

// rewriting reports whether the test runs with -rewrite, the flag
// cockroachdb/datadriven defines: the golden files of the Go scenarios
// and the expected output of the scenario scripts (ghost_script_test.go)
// are rewritten together.
func rewriting() bool {
	f := flag.Lookup("rewrite")
	return f != nil && f.Value.String() == "true"
}

// scenario is one scripted ghOSt scenario: a kernel, an enclave, tasks and
// agents written for the scenario, and the recorded trace.
type scenario struct {
	t     *testing.T
	k     *Kernel
	e     *Enclave
	lines []string
	hid   sim.HandlerID
	acts  []func()
	procs []*AgentProcess
	// crashOK lists processes whose crash is part of the scenario.
	crashOK map[*AgentProcess]bool
	// postInfo, when set, adds to each posted message's line.
	postInfo func(m Message) string
	// commits and switches record the trace's commits and context
	// switches for assertions.
	commits  []commitRecord
	switches []SwitchRecord
	// onCommit, when set, sees every transaction reaching a final state.
	onCommit func(commitRecord)
}

// commitRecord is a transaction reaching its final state on a CPU.
type commitRecord struct {
	at    sim.Time
	cpu   int
	gtid  Gtid
	state TxnState
}

// newScenario builds a kernel on machine with an enclave of cpus and the
// recorder attached. The invariant checker runs after every event.
func newScenario(t *testing.T, machine string, cpus CPUSet, cfg EnclaveConfig) *scenario {
	t.Helper()
	k := newTestKernel(t, machine)
	s := &scenario{t: t, k: k, crashOK: map[*AgentProcess]bool{}}
	if !cpus.Empty() {
		e, err := k.CreateEnclave(cpus, cfg)
		if err != nil {
			t.Fatal(err)
		}
		s.e = e
	}
	k.SetTraceEvents(s.event)
	s.hid = k.Engine().Register(sim.HandlerFunc(func(now sim.Time, ev sim.Event) {
		s.acts[ev.A]()
	}))
	return s
}

// at runs f at simulated time when, as an event of its own, after noting
// what in the trace.
func (s *scenario) at(when sim.Time, what string, f func()) {
	s.acts = append(s.acts, func() {
		if what != "" {
			s.line(-1, "--- "+what)
		}
		f()
	})
	s.k.Engine().Schedule(when, s.hid, sim.Event{A: int32(len(s.acts) - 1)})
}

// run runs the simulation up to until.
func (s *scenario) run(until sim.Time) { s.k.Engine().Run(until) }

func (s *scenario) line(cpu int, text string) {
	s.lines = append(s.lines, fmt.Sprintf("%-9v %-5s %s", s.k.Now(), cpuName(cpu), text))
}

// note records a line from test code (a scripted agent) on cpu.
func (s *scenario) note(cpu int, format string, args ...any) {
	s.line(cpu, fmt.Sprintf(format, args...))
}

// event records one kernel trace event as a line, by kind.
func (s *scenario) event(e TraceEvent) {
	var text string
	switch e.Kind {
	case TraceMsgPosted:
		text = fmt.Sprintf("post %s %s", queueName(e.Enclave, e.Queue), s.msg(e.Msg))
		if s.postInfo != nil {
			text += s.postInfo(e.Msg)
		}
	case TraceMsgDropped:
		text = fmt.Sprintf("drop %s: %s", s.msg(e.Msg), e.Reason)
	case TraceTxnFinal:
		text = fmt.Sprintf("commit %s %v", s.gtid(e.Gtid), e.Txn)
		s.commits = append(s.commits, commitRecord{e.At, e.CPU, e.Gtid, e.Txn})
		if s.onCommit != nil {
			defer s.onCommit(s.commits[len(s.commits)-1])
		}
	case TraceSwitch:
		s.switched(SwitchRecord{At: e.At, CPU: e.CPU, Prev: e.Prev, PrevState: e.PrevState, Next: e.Next})
		return
	default: // the watchdog, an enclave's destruction, the BPF hook
		text = e.String()
	}
	s.lines = append(s.lines, fmt.Sprintf("%-9v %-5s %s", e.At, cpuName(e.CPU), text))
}

// queueName names queue id of enclave enc: qN in enclave 0, eEqN in others.
func queueName(enc, id int) string {
	if enc != 0 {
		return fmt.Sprintf("e%dq%d", enc, id)
	}
	return fmt.Sprintf("q%d", id)
}

func cpuName(cpu int) string {
	if cpu < 0 {
		return "cpu-"
	}
	return fmt.Sprintf("cpu%d", cpu)
}

// gtid renders a transaction's or message's gtid with the task's name.
func (s *scenario) gtid(g Gtid) string {
	switch g {
	case GtidNull:
		return "gtid=NULL"
	case GtidAgent:
		return "gtid=AGENT"
	case GtidIdle:
		return "gtid=IDLE"
	}
	if t := s.k.TaskByGtid(g); t != nil {
		return fmt.Sprintf("gtid=%d (%s)", g, t.Name())
	}
	return fmt.Sprintf("gtid=%d", g)
}

// msg renders a message: type, gtid (or CPU), seqnum, and the payload
// fields the scenarios are about.
func (s *scenario) msg(m Message) string {
	if !m.Type.IsTaskMsg() {
		if m.Type == MsgCPUNotIdle {
			return fmt.Sprintf("%v cpu=%d seq=%d next=%s", m.Type, m.CPU, m.Seqnum, s.gtid(m.Gtid))
		}
		return fmt.Sprintf("%v cpu=%d seq=%d", m.Type, m.CPU, m.Seqnum)
	}
	out := fmt.Sprintf("%v %s seq=%d", m.Type, s.gtid(m.Gtid), m.Seqnum)
	switch m.Type {
	case MsgTaskNew:
		if m.Runnable {
			out += " runnable"
		} else {
			out += " blocked"
		}
	case MsgTaskPreempt:
		if m.WasLatched {
			out += " was_latched"
		}
	case MsgTaskDeparted:
		if m.WasCurrent {
			out += " was_current"
		}
	}
	return out
}

func (s *scenario) switched(r SwitchRecord) {
	s.switches = append(s.switches, r)
	name := func(id int) string {
		if id < 0 {
			return "idle"
		}
		return s.k.tasks[id].Name()
	}
	prev := name(r.Prev)
	if r.Prev >= 0 {
		prev += "(" + r.PrevState.String() + ")"
	}
	s.lines = append(s.lines, fmt.Sprintf("%-9v %-5s switch %s -> %s", r.At, cpuName(r.CPU), prev, name(r.Next)))
}

// ghost spawns a ghOSt task of the scenario's enclave queued on cpu.
func (s *scenario) ghost(name string, cpu int, prog func(th *Thread)) *Task {
	return s.ghostIn(s.e, name, cpu, prog)
}

func (s *scenario) ghostIn(e *Enclave, name string, cpu int, prog func(th *Thread)) *Task {
	s.t.Helper()
	return spawn(s.t, s.k, TaskSpec{Name: name, Class: ClassGhost, Enclave: e, CPU: cpu, NUMAHome: -1, Program: prog})
}

// cfs spawns a CFS task pinned to cpu.
func (s *scenario) cfs(name string, cpu int, prog func(th *Thread)) *Task {
	s.t.Helper()
	return spawn(s.t, s.k, TaskSpec{Name: name, Class: ClassCFS, Affinity: SetOf(cpu), CPU: cpu, NUMAHome: -1, Program: prog})
}

// agents starts an agent process on the scenario's enclave: body runs on
// every CPU, with a helper that records what the agent does.
func (s *scenario) agents(name string, body func(a *sagent)) *AgentProcess {
	return s.agentsIn(s.e, name, body)
}

func (s *scenario) agentsIn(e *Enclave, name string, body func(a *sagent)) *AgentProcess {
	s.t.Helper()
	p, err := e.StartAgents(name, func(at *AgentThread) { body(&sagent{AgentThread: at, s: s}) })
	if err != nil {
		s.t.Fatal(err)
	}
	s.procs = append(s.procs, p)
	return p
}

// check compares the recorded trace with testdata/ghost/<name>.txt (or
// rewrites it with -rewrite), after checking that no agent crashed
// unexpectedly and no thread program panicked. doc heads the file: what
// the scenario shows and its reference.
func (s *scenario) check(name, doc string) {
	s.t.Helper()
	for _, p := range s.procs {
		if crashed, err := p.Crashed(); crashed && !s.crashOK[p] {
			var pe *sim.PanicError
			if errors.As(err, &pe) {
				s.t.Fatalf("agent process %s crashed: %v\n%s", p.Name(), pe.Value, pe.Stack)
			}
			s.t.Fatalf("agent process %s crashed: %v", p.Name(), err)
		}
	}
	if err := s.k.Err(); err != nil {
		s.t.Fatalf("thread program panicked: %v", err)
	}
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(doc), "\n") {
		b.WriteString(strings.TrimRight("# "+strings.TrimSpace(l), " ") + "\n")
	}
	for _, l := range s.lines {
		b.WriteString(strings.TrimRight(l, " ") + "\n")
	}
	got := b.String()
	path := filepath.Join("testdata", "ghost", name+".txt")
	if rewriting() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			s.t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			s.t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		s.t.Fatalf("%v (run with -rewrite to create it)", err)
	}
	if diff := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(got, "\n")); diff != "" {
		s.t.Errorf("trace differs from %s (-want +got):\n%s\nrerun: go test ./sim/kernel -run '%s' [-rewrite]", path, diff, s.t.Name())
	}
}

// commitAt returns when gtid g's transaction was first committed on cpu at
// or after from; the test fails if it never was.
func (s *scenario) commitAt(cpu int, g Gtid, from sim.Time) sim.Time {
	s.t.Helper()
	for _, c := range s.commits {
		if c.cpu == cpu && c.gtid == g && c.at >= from {
			return c.at
		}
	}
	s.t.Fatalf("no commit of gtid %d on cpu%d after %v", g, cpu, from)
	return 0
}

// switchAt returns when cpu first switched to x at or after from; the test
// fails if it never did.
func (s *scenario) switchAt(cpu int, x *Task, from sim.Time) sim.Time {
	s.t.Helper()
	for _, r := range s.switches {
		if r.CPU == cpu && r.Next == x.ID() && r.At >= from {
			return r.At
		}
	}
	s.t.Fatalf("no switch to %v on cpu%d after %v", x, cpu, from)
	return 0
}

// sagent is a scripted agent thread: the AgentThread API plus calls that
// record what they did in the scenario's trace.
type sagent struct {
	*AgentThread
	s *scenario
}

func (a *sagent) note(format string, args ...any) {
	if a.s == nil {
		return
	}
	a.s.note(a.CPU(), "agent: "+format, args...)
}

// drain consumes every message of q, noting each.
func (a *sagent) drain(q *Queue) []Message {
	var out []Message
	for {
		m, ok := a.Consume(q)
		if !ok {
			return out
		}
		a.note("got %s", a.s.msg(m))
		out = append(out, m)
	}
}

// wait drains q, and while it is empty yields the CPU (LocalYield with
// the barrier read before draining), returning the first batch.
func (a *sagent) wait(q *Queue) []Message {
	for {
		b := a.Barrier()
		if ms := a.drain(q); len(ms) > 0 {
			return ms
		}
		if err := a.LocalYield(b, 0); err != nil {
			a.note("LocalYield: %v", err)
		}
	}
}

// waitFor drains q until a message of type typ arrives (yielding while it
// is empty) and returns it.
func (a *sagent) waitFor(q *Queue, typ MsgType) Message {
	for {
		for _, m := range a.wait(q) {
			if m.Type == typ {
				return m
			}
		}
	}
}

// pollFor spins on q (Poll) until a message of type typ arrives, and
// returns it.
func (a *sagent) pollFor(q *Queue, typ MsgType) Message {
	for {
		a.Poll(q, sim.Never)
		for _, m := range a.drain(q) {
			if m.Type == typ {
				return m
			}
		}
	}
}

// sleep yields the CPU until the agent is woken (a message to a queue
// that wakes it, or a ping), draining nothing.
func (a *sagent) sleep() {
	for {
		if err := a.LocalYield(a.Barrier(), 0); err == nil {
			return
		}
	}
}

// idle is the body of an agent with nothing to do: it sleeps forever.
func (a *sagent) idle() {
	for !a.Finished() {
		a.sleep()
	}
}

// open publishes tx for cpu, failing the test on error.
func (a *sagent) open(cpu int, tx Txn) {
	if err := a.Open(cpu, tx); err != nil {
		panic(err)
	}
}

// commit opens tx for cpu and commits it alone (the kernel traces the
// final state), returning the final state. A successful local commit
// returns only once the agent is woken again.
func (a *sagent) commit(cpu int, tx Txn) TxnState {
	a.open(cpu, tx)
	a.Commit(SetOf(cpu))
	return a.TxnState(cpu).State
}

// seq returns the current barrier of the task with gtid g as its status
// word shows it.
func (a *sagent) seq(g Gtid) uint32 {
	sw, _ := a.StatusWord(g)
	return sw.Barrier
}

// swFlags renders the ONCPU and RUNNABLE bits of a status word.
func swFlags(sw StatusWord) string {
	return fmt.Sprintf("barrier=%d oncpu=%v runnable=%v", sw.Barrier, sw.OnCPU(), sw.Runnable())
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// wantDead reports each task that has not exited, or exited in a class
// other than class.
func (s *scenario) wantDead(class Class, tasks ...*Task) {
	s.t.Helper()
	for _, x := range tasks {
		if x.State() != TaskDead || x.Class() != class {
			s.t.Errorf("%v is %v in %v, want dead in %v", x, x.State(), x.Class(), class)
		}
	}
}
