package kernel

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/ghostsim/ghostsim/sim"
)

// TestScenarioScripts runs the scenario scripts of testdata/scripts/: each
// file is a cockroachdb/datadriven script whose commands build a kernel,
// an enclave, queues, tasks and scripted agents, run the simulation and
// print the scenario harness's trace (ghost_scenario_harness_test.go)
// under `----`. Rewrite the expected output with
//
//	go test ./sim/kernel -run ScenarioScripts -rewrite
//
// and read every changed line against docs/GHOST-SEMANTICS.md before
// keeping it. The commands, each handled in one place (scriptRun.world
// and agentEnv.step):
//
//	machine NAME                      start a new scenario on an embedded machine config
//	enclave cpus=LIST [ticks] [cpu-availability] [commit-at-tick] [wake-on-waker-cpu]
//	        [ephemeral] [runnable-timeout=T]
//	                                  the enclave (the first creates the kernel)
//	queue name=Q size=N [wake=CPU] [default] [enclave=I]
//	spawn name=X class=ghost|cfs cpu=N [work=T | prog=(STEP, ...)] [enclave=I]
//	                                  a task; STEP is run T, block, sleep T, yield,
//	                                  set-class C, set-nice N, wake X, set-class-of X C
//	agent name=P [enclave=I] [policy=fifo queue=Q cpus=LIST [global=CPU [adopt[=note]]]]
//	                                  an agent process; with no policy, its input gives
//	                                  each CPU's steps ("cpu N: STEP" or "cpu N:" and
//	                                  indented steps); a CPU not listed idles
//	at T [what=(TEXT)]                the input's commands, as an event at T ("--- TEXT")
//	wake X | kill P [crash] | hang P | destroy [enclave=I] | enter X [enclave=I]
//	close-queue Q | set-default Q | post-info MODE | open-ctl | close-ctl
//	kill-on-commit P gtid=X after=T [what=(TEXT)]
//	                                  crash P T after X's first COMPLETE commit (inside the ioctl)
//	run-until T                       run the simulation up to T
//	trace                             the trace lines recorded since the last trace
//	tasks                             every task's state, class and last CPU
//	stats | enclaves                  the kernel's fault counters; each enclave and agent process
//
// The agent steps (agentEnv.step), one a line; "VAR = STEP" keeps a step's
// result, and any world command runs inline:
//
//	idle | sleep | finished           sleep until finished; until woken; a.Finished()
//	fifo Q [known=(X, ...)]           the tests' FIFO agent, per-CPU (ghost_fifo_test.go)
//	global-fifo Q cpus=LIST [known=(X, ...)]
//	                                  the same, centralized over cpus
//	run T                             compute for T
//	poll Q | drain Q                  Poll until a message; consume every message (noted)
//	wait-for Q TYPE | poll-for Q TYPE drain until a message of TYPE (LocalYield or Poll between)
//	collect Q N [type=TYPE]           poll and drain until N messages (of TYPE)
//	collect-seqs Q N                  poll and drain until N tasks were heard of: $s.NAME seqnums
//	barrier | seq X                   the agent barrier; X's barrier from its status word
//	commit CPU TXN | open CPU TXN     TXN: gtid=X [seq=V|sw] [agent-barrier=V]
//	                                  [run-flags=(F, ...)] [flags=(F, ...)|none]
//	                                  (COMMIT_AT_TXN_COMMIT unless flags= says)
//	group-commit|submit|sync-commit cpus=LIST
//	txn CPU | abort CPU | ping CPU    the slot's state; Abort; Ping
//	local-yield [barrier=V]           LocalYield (its error)
//	status-word X | agent-status-word CPU
//	associate Q X seq=V | discover    ASSOCIATE_QUEUE ($r.status, $r.err); every status word
//	adopt Q [note]                    discover, associate with Q, the runnable tasks' gtids
//	all-dead X... | overflow Q | qlen Q
//	note TEXT                         an agent line; {VAR.FIELD} is replaced by its value
//	at +T what=(TEXT) do=(COMMAND)    a world command as an event T from now
//	loop ... end | for VAR in $LIST ... end | break-if $V VALUE
//	fail TEXT                         panic (an agent crash the trace check reports)
//
// Values: $VAR.FIELD (a message's seq, gtid, cpu, wake_up_cpu, ...; a
// status word's barrier, oncpu, runnable, avail, flags; a txn's state,
// commit_time, cpu_seqnum; a task's gtid, cpu, state), a task's name (its
// gtid), NULL, IDLE, AGENT, numbers.
//
// The Go scenarios that stay in Go need callbacks or checks a script
// cannot say; ghost_scenario_harness_test.go lists them.
func TestScenarioScripts(t *testing.T) {
	datadriven.Walk(t, filepath.Join("testdata", "scripts"), func(t *testing.T, path string) {
		r := &scriptRun{t: t}
		datadriven.RunTest(t, path, func(t *testing.T, td *datadriven.TestData) string {
			return r.world(td.Cmd, td.CmdArgs, td.Input)
		})
	})
}

// scriptRun is one script's state: the scenario and its named objects.
type scriptRun struct {
	t        *testing.T
	machine  string
	s        *scenario
	enclaves []*Enclave
	tasks    map[string]*Task
	order    []*Task
	queues   map[string]*Queue
	procs    map[string]*AgentProcess
	mark     int    // recorded lines already printed by trace
	ctl      []*Ctl // ctl fds opened by open-ctl, oldest first
}

// args reads a command's arguments.
type args []datadriven.CmdArg

// get returns key's value (several joined with ", ", as written).
func (a args) get(key string) (string, bool) {
	for _, x := range a {
		if x.Key == key {
			return strings.Join(x.Vals, ", "), true
		}
	}
	return "", false
}

func (a args) vals(key string) []string {
	for _, x := range a {
		if x.Key == key {
			return x.Vals
		}
	}
	return nil
}

func (a args) must(key string) string {
	v, ok := a.get(key)
	if !ok {
		panic(fmt.Sprintf("missing %s=", key))
	}
	return v
}

func (a args) has(key string) bool {
	_, ok := a.get(key)
	return ok
}

// positional returns the arguments written without a value.
func (a args) positional() []string {
	var out []string
	for _, x := range a {
		if len(x.Vals) == 0 {
			out = append(out, x.Key)
		}
	}
	return out
}

// pos returns the i-th argument written without a value.
func (a args) pos(i int) string {
	for _, x := range a {
		if len(x.Vals) == 0 {
			if i == 0 {
				return x.Key
			}
			i--
		}
	}
	panic(fmt.Sprintf("missing argument %d", i+1))
}

var durRE = regexp.MustCompile(`^(\d+)(ps|ns|us|ms|s)$`)

// parseTime reads "30us", "500ns", "1ms", "2s" or "1000ps".
func parseTime(s string) sim.Time {
	m := durRE.FindStringSubmatch(s)
	if m == nil {
		panic(fmt.Sprintf("bad time %q", s))
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	unit := map[string]sim.Time{"ps": sim.Picosecond, "ns": sim.Nanosecond, "us": sim.Microsecond, "ms": sim.Millisecond, "s": sim.Second}[m[2]]
	return sim.Time(n) * unit
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(fmt.Sprintf("bad number %q", s))
	}
	return n
}

func (r *scriptRun) cpus(list string) CPUSet {
	set, err := ParseCPUList(list, 1<<20)
	if err != nil {
		panic(err)
	}
	return set
}

func (r *scriptRun) enclave(a args) *Enclave {
	if v, ok := a.get("enclave"); ok {
		return r.enclaves[atoi(v)]
	}
	return r.enclaves[0]
}

func (r *scriptRun) task(name string) *Task {
	x, ok := r.tasks[name]
	if !ok {
		panic(fmt.Sprintf("no task %q", name))
	}
	return x
}

func (r *scriptRun) queue(name string) *Queue {
	q, ok := r.queues[name]
	if !ok {
		panic(fmt.Sprintf("no queue %q", name))
	}
	return q
}

func (r *scriptRun) proc(name string) *AgentProcess {
	p, ok := r.procs[name]
	if !ok {
		panic(fmt.Sprintf("no agent process %q", name))
	}
	return p
}

// world runs one command of the script (or of an at's input, or an agent
// step that is not an agent call) and returns its output.
func (r *scriptRun) world(cmd string, cargs []datadriven.CmdArg, input string) string {
	a := args(cargs)
	switch cmd {
	case "machine":
		*r = scriptRun{t: r.t, machine: a.pos(0), tasks: map[string]*Task{}, queues: map[string]*Queue{}, procs: map[string]*AgentProcess{}}
	case "enclave":
		r.createEnclave(a)
	case "queue":
		var wake []int
		if v, ok := a.get("wake"); ok {
			wake = append(wake, atoi(v))
		}
		q, err := r.enclave(a).CreateQueue(atoi(a.must("size")), wake...)
		if err != nil {
			panic(err)
		}
		r.queues[a.must("name")] = q
		if a.has("default") {
			q.SetDefault()
		}
	case "spawn":
		r.spawn(a)
	case "agent":
		r.startAgents(a, input)
	case "at":
		what := ""
		if v, ok := a.get("what"); ok {
			what = v
		}
		r.s.at(parseTime(a.pos(0)), what, func() { r.runLines(input) })
	case "wake":
		r.s.k.Wake(r.task(a.pos(0)))
	case "kill":
		p := r.proc(a.pos(0))
		crash := a.has("crash")
		if crash {
			r.s.crashOK[p] = true
		}
		p.Kill(crash, nil)
	case "hang":
		r.proc(a.pos(0)).Hang()
	case "destroy":
		r.s.k.DestroyEnclave(r.enclave(a))
	case "enter":
		if err := r.s.k.EnterEnclave(r.task(a.pos(0)), r.enclave(a)); err != nil {
			panic(err)
		}
	case "close-queue":
		r.queue(a.pos(0)).Close()
	case "open-ctl":
		ctl, err := r.enclave(a).OpenCtl()
		if err != nil {
			panic(err)
		}
		r.ctl = append(r.ctl, ctl)
	case "close-ctl":
		r.ctl[0].Close()
		r.ctl = r.ctl[1:]
	case "set-default":
		r.queue(a.pos(0)).SetDefault()
	case "kill-on-commit":
		// Kill P (a crash) after= the first COMPLETE commit of gtid=,
		// from the trace's commit callback: inside the committing ioctl.
		p, x, after := r.proc(a.pos(0)), r.task(a.must("gtid")), parseTime(a.must("after"))
		what, _ := a.get("what")
		r.s.crashOK[p] = true
		r.s.onCommit = func(c commitRecord) {
			if c.gtid == x.Gtid() && c.state == TxnComplete && r.s.onCommit != nil {
				r.s.onCommit = nil
				r.s.at(c.at+after, what, func() { p.Kill(true, nil) })
			}
		}
	case "post-info":
		r.s.postInfo = postInfo(r.s, a.pos(0))
	case "run-until":
		r.s.run(parseTime(a.pos(0)))
	case "trace":
		return r.trace()
	case "stats":
		st := r.s.k.Stats()
		return fmt.Sprintf("agent crashes %d, watchdog destroys %d, enclave destroys %d\n", st.AgentCrashes, st.WatchdogDestroys, st.EnclaveDestroys)
	case "enclaves":
		var b strings.Builder
		for i, e := range r.enclaves {
			switch cause, at := e.Destroyed(); {
			case e.Dying():
				fmt.Fprintf(&b, "enclave %d: destroyed (%v) at %v\n", i, cause, at)
			default:
				fmt.Fprintf(&b, "enclave %d: alive\n", i)
			}
		}
		for _, p := range r.s.procs {
			crashed, _ := p.Crashed()
			fmt.Fprintf(&b, "agent process %s: alive=%v crashed=%v\n", p.Name(), p.Alive(), crashed)
		}
		return b.String()
	case "tasks":
		var b strings.Builder
		for _, x := range r.order {
			fmt.Fprintf(&b, "%s: %v in %v, last on cpu%d\n", x.Name(), x.State(), x.Class(), x.LastCPU())
		}
		return b.String()
	default:
		panic(fmt.Sprintf("unknown command %q", cmd))
	}
	return ""
}

// runLines runs world commands, one a line.
func (r *scriptRun) runLines(input string) {
	for _, l := range strings.Split(input, "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		cmd, cargs, err := datadriven.ParseLine(l)
		if err != nil {
			panic(err)
		}
		r.world(cmd, cargs, "")
	}
}

func (r *scriptRun) createEnclave(a args) {
	cfg := EnclaveConfig{
		DeliverTicks:           a.has("ticks"),
		DeliverCPUAvailability: a.has("cpu-availability"),
		CommitAtTick:           a.has("commit-at-tick"),
		WakeOnWakerCPU:         a.has("wake-on-waker-cpu"),
		Ephemeral:              a.has("ephemeral"),
	}
	if v, ok := a.get("runnable-timeout"); ok {
		cfg.RunnableTimeout = parseTime(v)
	}
	cpus := r.cpus(a.must("cpus"))
	if r.s == nil {
		if r.machine == "" {
			panic("enclave before machine")
		}
		r.s = newScenario(r.t, r.machine, cpus, cfg)
		r.enclaves = append(r.enclaves, r.s.e)
		return
	}
	e, err := r.s.k.CreateEnclave(cpus, cfg)
	if err != nil {
		panic(err)
	}
	r.enclaves = append(r.enclaves, e)
}

func (r *scriptRun) spawn(a args) {
	name := a.must("name")
	var prog []string
	if v, ok := a.get("work"); ok {
		prog = []string{"run " + v}
	}
	prog = append(prog, a.vals("prog")...)
	body := func(th *Thread) {
		for _, p := range prog {
			r.threadStep(th, strings.Fields(p))
		}
	}
	cpu := atoi(a.must("cpu"))
	var x *Task
	switch a.must("class") {
	case "ghost":
		x = r.s.ghostIn(r.enclave(a), name, cpu, body)
	case "cfs":
		x = r.s.cfs(name, cpu, body)
	default:
		panic("class must be ghost or cfs")
	}
	r.tasks[name] = x
	r.order = append(r.order, x)
}

// threadStep runs one step of a task's program.
func (r *scriptRun) threadStep(th *Thread, f []string) {
	class := func(s string) Class {
		c, ok := ParseClass(s)
		if !ok {
			panic(fmt.Sprintf("bad class %q", s))
		}
		return c
	}
	switch f[0] {
	case "run":
		th.Run(parseTime(f[1]))
	case "block":
		th.Block()
	case "sleep":
		th.Sleep(parseTime(f[1]))
	case "yield":
		th.Yield()
	case "set-class":
		th.SetClass(class(f[1]))
	case "set-nice":
		th.SetNice(atoi(f[1]))
	case "wake":
		th.Wake(r.task(f[1]))
	case "set-class-of":
		th.SetClassOf(r.task(f[1]), class(f[2]))
	default:
		panic(fmt.Sprintf("unknown program step %q", f[0]))
	}
}

// trace checks that no agent crashed unexpectedly and no program
// panicked, then returns the lines recorded since the last trace.
func (r *scriptRun) trace() string {
	s := r.s
	for _, p := range s.procs {
		if crashed, err := p.Crashed(); crashed && !s.crashOK[p] {
			r.t.Fatalf("agent process %s crashed: %v", p.Name(), err)
		}
	}
	if err := s.k.Err(); err != nil {
		r.t.Fatalf("thread program panicked: %v", err)
	}
	var b strings.Builder
	for _, l := range s.lines[r.mark:] {
		b.WriteString(strings.TrimRight(l, " ") + "\n")
	}
	r.mark = len(s.lines)
	return b.String()
}

// postInfo returns what the scenario adds to a posted message's line:
// the task's status word at the post (status-word), or payload fields.
func postInfo(s *scenario, mode string) func(Message) string {
	switch mode {
	case "status-word":
		return func(m Message) string {
			return " [at post: " + swFlags(s.k.TaskByGtid(m.Gtid).g.sw) + "]"
		}
	case "nice":
		return func(m Message) string {
			if m.Type == MsgTaskNew || m.Type == MsgTaskPriorityChanged {
				return fmt.Sprintf(" nice=%d", m.Nice)
			}
			return ""
		}
	case "cpu-seqnum":
		return func(m Message) string {
			switch m.Type {
			case MsgTaskBlocked, MsgTaskPreempt, MsgTaskDeparted:
				return fmt.Sprintf(" cpu=%d cpu_seqnum=%d", m.CPU, m.CPUSeqnum)
			}
			return ""
		}
	case "on-cpu":
		return func(m Message) string {
			if m.Type == MsgTaskOnCPU {
				return fmt.Sprintf(" commit_time=%v cpu_seqnum=%d", m.CommitTime, m.CPUSeqnum)
			}
			return ""
		}
	case "wakeup":
		return func(m Message) string {
			if m.Type == MsgTaskWakeup {
				return fmt.Sprintf(" last_ran_cpu=%d wake_up_cpu=%d waker_cpu=%d", m.LastRanCPU, m.WakeUpCPU, m.WakerCPU)
			}
			return ""
		}
	}
	panic(fmt.Sprintf("unknown post-info %q", mode))
}

// step is one parsed agent step: "[VAR =] VERB ARGS", with the body of a
// loop or for.
type step struct {
	bind, verb string
	args       args
	cargs      []datadriven.CmdArg
	raw        string // the text after the verb
	body       []step
}

var cpuBlockRE = regexp.MustCompile(`^cpu\s+([0-9,-]+):\s*(.*)$`)
var bindRE = regexp.MustCompile(`^([A-Za-z_]\w*)\s*=\s+(.*)$`)

// startAgents starts an agent process: the FIFO agent, or each CPU's
// steps from input.
func (r *scriptRun) startAgents(a args, input string) {
	e := r.enclave(a)
	blocks := map[int][]step{}
	if a.has("policy") {
		if p := a.must("policy"); p != "fifo" {
			panic(fmt.Sprintf("unknown policy %q", p))
		}
		q, cpus := a.must("queue"), r.cpus(a.must("cpus"))
		if g, ok := a.get("global"); ok {
			steps := []string{"global-fifo " + q + " cpus=" + a.must("cpus")}
			if v, ok := a.get("adopt"); ok {
				// A new agent process: discover and adopt the tasks first.
				steps = []string{"k = adopt " + q + " " + v, steps[0] + " known=$k"}
			}
			blocks[atoi(g)] = parseSteps(steps)
		} else {
			for c := cpus.First(); c >= 0; c = cpus.Next(c + 1) {
				blocks[c] = parseSteps([]string{"fifo " + q})
			}
		}
	} else {
		var cur []int
		lines := map[int][]string{}
		for _, l := range strings.Split(input, "\n") {
			if strings.TrimSpace(l) == "" {
				continue
			}
			if m := cpuBlockRE.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
				cur = nil
				set := r.cpus(m[1])
				for c := set.First(); c >= 0; c = set.Next(c + 1) {
					cur = append(cur, c)
				}
				if m[2] == "" {
					continue
				}
				l = m[2]
			}
			for _, c := range cur {
				lines[c] = append(lines[c], l)
			}
		}
		for c, ls := range lines {
			blocks[c] = parseSteps(ls)
		}
	}
	p := r.s.agentsIn(e, a.must("name"), func(ag *sagent) {
		steps, ok := blocks[ag.CPU()]
		if !ok {
			ag.idle()
			return
		}
		env := &agentEnv{r: r, a: ag, vars: map[string]any{}}
		env.run(steps)
	})
	r.procs[a.must("name")] = p
}

// parseSteps parses agent steps, a loop or for running to its end.
func parseSteps(lines []string) []step {
	steps, rest := parseBlock(lines)
	if len(rest) > 0 {
		panic(fmt.Sprintf("unmatched %q", rest[0]))
	}
	return steps
}

func parseBlock(lines []string) ([]step, []string) {
	var out []step
	for len(lines) > 0 {
		l := strings.TrimSpace(lines[0])
		lines = lines[1:]
		if l == "end" {
			return out, append([]string{"end"}, lines...)
		}
		var st step
		if m := bindRE.FindStringSubmatch(l); m != nil {
			st.bind, l = m[1], m[2]
		}
		st.verb, st.raw, _ = strings.Cut(l, " ")
		if st.verb != "note" {
			_, cargs, err := datadriven.ParseLine(l)
			if err != nil {
				panic(err)
			}
			st.cargs, st.args = cargs, args(cargs)
		}
		if st.verb == "loop" || st.verb == "for" {
			var rest []string
			st.body, rest = parseBlock(lines)
			if len(rest) == 0 {
				panic(fmt.Sprintf("%s without end", st.verb))
			}
			lines = rest[1:]
		}
		out = append(out, st)
	}
	return out, nil
}

// agentEnv runs one agent thread's steps.
type agentEnv struct {
	r    *scriptRun
	a    *sagent
	vars map[string]any
}

// assoc is an associate step's result.
type assoc struct {
	status int
	err    error
}

// run runs steps; it reports whether a break-if broke out.
func (x *agentEnv) run(steps []step) bool {
	for _, st := range steps {
		switch st.verb {
		case "loop":
			for !x.run(st.body) {
			}
			continue
		case "for":
			list := x.value(st.args.pos(2))
			for _, v := range listOf(list) {
				x.vars[st.args.pos(0)] = v
				if x.run(st.body) {
					break
				}
			}
			continue
		case "break-if":
			if fmt.Sprint(x.value(st.args.pos(0))) == st.args.pos(1) {
				return true
			}
			continue
		}
		v := x.step(st)
		if st.bind != "" {
			x.vars[st.bind] = v
		}
	}
	return false
}

func listOf(v any) []any {
	var out []any
	switch l := v.(type) {
	case []Message:
		for _, m := range l {
			out = append(out, m)
		}
	case []StatusWord:
		for _, sw := range l {
			out = append(out, sw)
		}
	default:
		panic(fmt.Sprintf("cannot iterate over %T", v))
	}
	return out
}

// step runs one agent call and returns its result.
func (x *agentEnv) step(st step) any {
	a, r, g := x.a, x.r, st.args
	switch st.verb {
	case "idle":
		a.idle()
	case "sleep":
		a.sleep()
	case "fifo":
		newFIFO().local(a, r.queue(g.pos(0)), x.gtids(g.vals("known"))...)
	case "global-fifo":
		newFIFO().global(a, r.queue(g.pos(0)), r.cpus(g.must("cpus")), x.gtids(g.vals("known"))...)
	case "run":
		a.Run(parseTime(g.pos(0)))
	case "drain":
		return a.drain(r.queue(g.pos(0)))
	case "wait-for":
		return a.waitFor(r.queue(g.pos(0)), msgType(g.pos(1)))
	case "poll-for":
		return a.pollFor(r.queue(g.pos(0)), msgType(g.pos(1)))
	case "poll":
		a.Poll(r.queue(g.pos(0)), sim.Never)
	case "collect":
		// Poll and drain until n messages (of type=, if given) came.
		q, n := r.queue(g.pos(0)), atoi(g.pos(1))
		var out []Message
		for got := 0; got < n; {
			a.Poll(q, sim.Never)
			for _, m := range a.drain(q) {
				if v, ok := g.get("type"); !ok || m.Type == msgType(v) {
					got++
				}
				out = append(out, m)
			}
		}
		return out
	case "collect-seqs":
		// Poll and drain until n tasks were heard of; each task's last
		// seqnum, by name.
		q, n := r.queue(g.pos(0)), atoi(g.pos(1))
		seqs := map[string]uint32{}
		for len(seqs) < n {
			a.Poll(q, sim.Never)
			for _, m := range a.drain(q) {
				seqs[r.s.k.TaskByGtid(m.Gtid).Name()] = m.Seqnum
			}
		}
		return seqs
	case "finished":
		return a.Finished()
	case "fail":
		panic(st.raw)
	case "all-dead":
		for _, n := range g.positional() {
			if r.task(n).State() != TaskDead {
				return false
			}
		}
		return true
	case "overflow":
		return r.queue(g.pos(0)).Overflow()
	case "qlen":
		return r.queue(g.pos(0)).Len()
	case "barrier":
		return a.Barrier()
	case "seq":
		return a.seq(x.gtid(g.pos(0)))
	case "commit":
		return a.commit(x.int(g.pos(0)), x.txn(g))
	case "open":
		a.open(x.int(g.pos(0)), x.txn(g))
	case "group-commit":
		a.Commit(r.cpus(g.must("cpus")))
	case "submit":
		a.Submit(r.cpus(g.must("cpus")))
	case "sync-commit":
		return a.SyncCommit(r.cpus(g.must("cpus")))
	case "txn":
		return a.TxnState(atoi(g.pos(0)))
	case "abort":
		return a.Abort(atoi(g.pos(0)))
	case "local-yield":
		var b uint32
		if v, ok := g.get("barrier"); ok {
			b = x.u32(v)
		} else {
			b = a.Barrier()
		}
		return a.LocalYield(b, 0)
	case "status-word":
		sw, _ := a.StatusWord(x.gtid(g.pos(0)))
		return sw
	case "agent-status-word":
		return a.AgentStatusWord(atoi(g.pos(0)))
	case "associate":
		st, err := a.Associate(r.queue(g.pos(0)), x.gtid(g.pos(1)), x.u32(g.must("seq")))
		return assoc{st, err}
	case "discover":
		return a.Discover()
	case "adopt":
		// Discover every task, associate it with Q at its barrier and
		// return the runnable ones (with note, noting each), as a new
		// agent process does after an upgrade or a crash.
		q := r.queue(g.pos(0))
		var known []Gtid
		for _, sw := range a.Discover() {
			st, err := a.Associate(q, sw.Gtid, sw.Barrier)
			if g.has("note") {
				a.note("discovered gtid=%d barrier=%d runnable=%v; associate: status=%d err=%v", sw.Gtid, sw.Barrier, sw.Runnable(), st, err)
			}
			if err == nil && sw.Runnable() {
				known = append(known, sw.Gtid)
			}
		}
		return known
	case "ping":
		return a.Ping(atoi(g.pos(0)))
	case "note":
		a.note("%s", x.interpolate(st.raw))
	case "at":
		when := strings.TrimPrefix(g.pos(0), "+")
		what, _ := g.get("what")
		do := g.must("do")
		a.s.at(a.Now()+parseTime(when), what, func() { r.runLines(do) })
	default:
		return r.world(st.verb, st.cargs, "")
	}
	return nil
}

var interpRE = regexp.MustCompile(`\{([^{}]+)\}`)

// interpolate replaces each {VAR.FIELD} of a note with its value (%v).
func (x *agentEnv) interpolate(s string) string {
	return interpRE.ReplaceAllStringFunc(s, func(m string) string {
		return fmt.Sprint(x.value("$" + m[1:len(m)-1]))
	})
}

// value evaluates $VAR.FIELD...; anything else is itself.
func (x *agentEnv) value(s string) any {
	if !strings.HasPrefix(s, "$") {
		return s
	}
	path := strings.Split(s[1:], ".")
	v, ok := x.vars[path[0]]
	if !ok {
		if t, ok := x.r.tasks[path[0]]; ok {
			v = t
		} else {
			panic(fmt.Sprintf("no variable %q", path[0]))
		}
	}
	for _, f := range path[1:] {
		v = field(v, f)
	}
	return v
}

// field returns a value's field as the scripts name it.
func field(v any, f string) any {
	switch v := v.(type) {
	case Message:
		switch f {
		case "seq":
			return v.Seqnum
		case "gtid":
			return v.Gtid
		case "cpu":
			return v.CPU
		case "type":
			return v.Type
		case "last_ran_cpu":
			return v.LastRanCPU
		case "wake_up_cpu":
			return v.WakeUpCPU
		case "waker_cpu":
			return v.WakerCPU
		}
	case []Message:
		switch f {
		case "n":
			return len(v)
		case "last":
			return v[len(v)-1]
		}
		return v[atoi(f)]
	case StatusWord:
		switch f {
		case "gtid":
			return v.Gtid
		case "barrier":
			return v.Barrier
		case "oncpu":
			return v.OnCPU()
		case "runnable":
			return v.Runnable()
		case "avail":
			return v.CPUAvail()
		case "flags":
			return swFlags(v)
		}
	case Txn:
		switch f {
		case "state":
			return v.State
		case "commit_time":
			return v.CommitTime
		case "cpu_seqnum":
			return v.CPUSeqnum
		}
	case map[string]uint32:
		if n, ok := v[f]; ok {
			return n
		}
	case assoc:
		switch f {
		case "status":
			return v.status
		case "err":
			return v.err
		}
	case *Task:
		switch f {
		case "gtid":
			return v.Gtid()
		case "cpu":
			return v.CPU()
		case "state":
			return v.State()
		}
	}
	panic(fmt.Sprintf("no field %q of %T", f, v))
}

// gtid evaluates a gtid: $VAR.FIELD, a task's name, NULL, IDLE, AGENT or
// a number.
func (x *agentEnv) gtid(s string) Gtid {
	switch s {
	case "NULL":
		return GtidNull
	case "IDLE":
		return GtidIdle
	case "AGENT":
		return GtidAgent
	}
	if t, ok := x.r.tasks[s]; ok {
		return t.Gtid()
	}
	switch v := x.value(s).(type) {
	case Gtid:
		return v
	case string:
		return Gtid(atoi(v))
	default:
		panic(fmt.Sprintf("%s is a %T, not a gtid", s, v))
	}
}

func (x *agentEnv) gtids(names []string) []Gtid {
	var out []Gtid
	for _, n := range names {
		if l, ok := x.value(n).([]Gtid); ok {
			out = append(out, l...)
			continue
		}
		out = append(out, x.gtid(n))
	}
	return out
}

// int evaluates a CPU number.
func (x *agentEnv) int(s string) int {
	switch v := x.value(s).(type) {
	case int:
		return v
	case string:
		return atoi(v)
	default:
		panic(fmt.Sprintf("%s is a %T, not a number", s, v))
	}
}

// u32 evaluates a barrier or seqnum.
func (x *agentEnv) u32(s string) uint32 {
	switch v := x.value(s).(type) {
	case uint32:
		return v
	case string:
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			panic(fmt.Sprintf("bad barrier %q", v))
		}
		return uint32(n)
	default:
		panic(fmt.Sprintf("%s is a %T, not a barrier", s, v))
	}
}

var runFlagNames = map[string]RunFlags{
	"RTLA_ON_PREEMPT": RunRTLAOnPreempt, "RTLA_ON_BLOCKED": RunRTLAOnBlocked, "RTLA_ON_YIELD": RunRTLAOnYield,
	"RTLA_ON_IDLE": RunRTLAOnIdle, "NEED_CPU_NOT_IDLE": RunNeedCPUNotIdle, "ELIDE_PREEMPT": RunElidePreempt,
	"SEND_TASK_ON_CPU": RunSendTaskOnCPU, "DEFER_LATCHED_PREEMPTION_BY_AGENT": RunDeferLatchedAgt,
	"DO_NOT_PREEMPT": RunDoNotPreempt,
}

var commitFlagNames = map[string]CommitFlags{
	"COMMIT_AT_SCHEDULE": CommitAtSchedule, "COMMIT_AT_TXN_COMMIT": CommitAtTxnCommit,
	"ALLOW_TASK_ONCPU": AllowTaskOnCPU, "ELIDE_AGENT_BARRIER_INC": ElideAgentBarrierInc,
	"INC_AGENT_BARRIER_ON_FAILURE": IncAgentBarrierOnFailure,
}

// txn reads a transaction: gtid=, seq= (sw: the task's status word),
// agent-barrier=, run-flags=(...), flags=(...) (COMMIT_AT_TXN_COMMIT
// unless given; none for none).
func (x *agentEnv) txn(g args) Txn {
	tx := Txn{Gtid: x.gtid(g.must("gtid")), CommitFlags: CommitAtTxnCommit}
	if v, ok := g.get("seq"); ok {
		if v == "sw" {
			tx.TaskBarrier = x.a.seq(tx.Gtid)
		} else {
			tx.TaskBarrier = x.u32(v)
		}
	}
	if v, ok := g.get("agent-barrier"); ok {
		tx.AgentBarrier = x.u32(v)
	}
	for _, f := range g.vals("run-flags") {
		rf, ok := runFlagNames[f]
		if !ok {
			panic(fmt.Sprintf("unknown run flag %q", f))
		}
		tx.RunFlags |= rf
	}
	if fs := g.vals("flags"); fs != nil {
		tx.CommitFlags = 0
		for _, f := range fs {
			if f == "none" {
				continue
			}
			cf, ok := commitFlagNames[f]
			if !ok {
				panic(fmt.Sprintf("unknown commit flag %q", f))
			}
			tx.CommitFlags |= cf
		}
	}
	return tx
}

// msgType reads a message type by its ABI name.
func msgType(s string) MsgType {
	for t := MsgType(0); t < 256; t++ {
		if t.String() == s {
			return t
		}
	}
	panic(fmt.Sprintf("unknown message type %q", s))
}
