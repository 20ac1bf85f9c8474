package kernel

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// fifoAgent is the kernel tests' one FIFO agent, in the two shapes of
// docs/GHOST-SEMANTICS.md §7 (reduced): per-CPU (local, §7.2) — each
// CPU's agent drains its queue and commits the head of its own run queue
// to its own CPU — and centralized (global, §7.3) — one agent polls a
// queue and commits heads to the other CPUs it believes free. Both read
// messages the same way (handle): NEW(runnable), WAKEUP, PREEMPT and YIELD
// make a task runnable; every task message updates the task's barrier.
//
// With spread set (startFIFOPerCPU), a per-CPU agent places each newly
// runnable task on the next CPU round-robin, by associating it with that
// CPU's queue and pinging its agent, as the upstream per-CPU FIFO does.
//
// A scenario's scripted agents note what they consume; without a
// scenario (the smoke, allocation and spawn tests) nothing is recorded
// unless log is set, and the steady state allocates nothing.
type fifoAgent struct {
	seq     map[Gtid]uint32 // last barrier seen per task
	rq      map[int][]Gtid  // runnable tasks by CPU; the global agent's under its own CPU
	running map[int]Gtid    // global: the task last committed to each CPU
	// spread: per-CPU queues and the round-robin order (startFIFOPerCPU).
	queues map[int]*Queue
	cpus   []int
	next   int
	log    *[]string
	// onMsg, when set, sees each message before it is handled.
	onMsg func(a *sagent, m Message)
}

func newFIFO() *fifoAgent {
	return &fifoAgent{seq: map[Gtid]uint32{}, rq: map[int][]Gtid{}, running: map[int]Gtid{}}
}

// know queues tasks the agent starts with, runnable on cpu, their
// barriers read from their status words.
func (f *fifoAgent) know(a *sagent, cpu int, known []Gtid) {
	for _, g := range known {
		f.rq[cpu] = append(f.rq[cpu], g)
		f.seq[g] = a.seq(g)
	}
}

// local is the per-CPU loop of the agent of a.CPU(), reading q: it reads
// its barrier, drains q, and commits the head of its run queue locally
// with that barrier (blocking until woken), or yields when it is empty.
func (f *fifoAgent) local(a *sagent, q *Queue, known ...Gtid) {
	me := a.CPU()
	f.know(a, me, known)
	for !a.Finished() {
		b := a.Barrier()
		f.consume(a, q)
		if len(f.rq[me]) == 0 {
			if err := a.LocalYield(b, 0); err != nil {
				a.note("LocalYield: %v", err)
			}
			continue
		}
		next := f.rq[me][0]
		st := a.commit(me, Txn{Gtid: next, TaskBarrier: f.seq[next], AgentBarrier: b, CommitFlags: CommitAtTxnCommit})
		if st == TxnComplete {
			f.pop(me)
		}
		if f.log != nil {
			*f.log = append(*f.log, fmt.Sprintf("%v cpu%d commit gtid=%d %v", a.Now(), me, next, st))
		}
	}
}

// global is the centralized loop of a.CPU()'s agent: it commits the head
// of the queue to each CPU of cpus it believes free, one
// COMMIT_AT_TXN_COMMIT transaction at a time (a failed head is tried on
// the next CPU), then polls q.
func (f *fifoAgent) global(a *sagent, q *Queue, cpus CPUSet, known ...Gtid) {
	me := a.CPU()
	f.know(a, me, known)
	for !a.Finished() {
		for c := cpus.First(); c >= 0 && len(f.rq[me]) > 0; c = cpus.Next(c + 1) {
			if f.running[c] != 0 {
				continue
			}
			g := f.rq[me][0]
			if a.commit(c, Txn{Gtid: g, TaskBarrier: f.seq[g], CommitFlags: CommitAtTxnCommit}) == TxnComplete {
				f.running[c] = g
				f.pop(me)
			}
		}
		a.Poll(q, sim.Never)
		f.consume(a, q)
	}
}

// consume drains q, noting and handling each message.
func (f *fifoAgent) consume(a *sagent, q *Queue) {
	for {
		m, ok := a.Consume(q)
		if !ok {
			return
		}
		if a.s != nil {
			a.note("got %s", a.s.msg(m))
		} else if f.log != nil {
			*f.log = append(*f.log, fmt.Sprintf("%v cpu%d got %v", a.Now(), a.CPU(), m))
		}
		if f.onMsg != nil {
			f.onMsg(a, m)
		}
		f.handle(a, m)
	}
}

// handle reads one message: its task's barrier, the CPU it no longer
// runs on, and whether it is runnable again.
func (f *fifoAgent) handle(a *sagent, m Message) {
	if !m.Type.IsTaskMsg() {
		return
	}
	g := m.Gtid
	f.seq[g] = m.Seqnum
	for c, r := range f.running {
		if r == g {
			delete(f.running, c)
		}
	}
	switch m.Type {
	case MsgTaskNew:
		if m.Runnable {
			f.place(a, g)
		}
	case MsgTaskWakeup:
		f.place(a, g)
	case MsgTaskPreempt, MsgTaskYield:
		f.rq[a.CPU()] = append(f.rq[a.CPU()], g)
	case MsgTaskDead:
		delete(f.seq, g) // a long run does not keep every dead task
	}
}

// place queues a newly runnable task: on the agent's own run queue, or
// with spread on the next CPU's, associated with that CPU's queue
// (retrying on ESTALE as upstream does) and its agent pinged.
func (f *fifoAgent) place(a *sagent, g Gtid) {
	if f.queues == nil {
		f.rq[a.CPU()] = append(f.rq[a.CPU()], g)
		return
	}
	target := f.cpus[f.next%len(f.cpus)]
	f.next++
	for {
		sw, ok := a.StatusWord(g)
		if !ok {
			return
		}
		if _, err := a.Associate(f.queues[target], g, sw.Barrier); err == nil {
			f.seq[g] = sw.Barrier
			break
		}
	}
	f.rq[target] = append(f.rq[target], g)
	if target != a.CPU() {
		a.Ping(target)
	}
}

// pop removes the head of cpu's run queue in place (no allocation in
// steady state).
func (f *fifoAgent) pop(cpu int) {
	n := copy(f.rq[cpu], f.rq[cpu][1:])
	f.rq[cpu] = f.rq[cpu][:n]
}

// startFIFOPerCPU starts the per-CPU FIFO with spread on every CPU of e:
// a queue per CPU (the first CPU's is the default, where TASK_NEW lands),
// each agent first routing its own CPU's messages to its queue. log, if
// not nil, receives what the agents consume and commit.
func startFIFOPerCPU(t testing.TB, k *Kernel, e *Enclave, log *[]string) *AgentProcess {
	t.Helper()
	f := newFIFO()
	f.queues, f.log = map[int]*Queue{}, log
	for c := e.cpus.First(); c >= 0; c = e.cpus.Next(c + 1) {
		q, err := e.CreateQueue(1024, c)
		if err != nil {
			t.Fatal(err)
		}
		f.queues[c] = q
		f.cpus = append(f.cpus, c)
	}
	f.queues[f.cpus[0]].SetDefault()
	p, err := e.StartAgents("fifo", func(at *AgentThread) {
		a := &sagent{AgentThread: at}
		q := f.queues[a.CPU()]
		for {
			if _, err := a.Associate(q, a.Task().Gtid(), a.Barrier()); err == nil {
				break
			}
		}
		f.local(a, q)
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func joinLines(l []string) string { return strings.Join(l, "\n") }
