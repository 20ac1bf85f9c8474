package kernel

import (
	"fmt"
	"strings"
	"testing"
)

// fifoPerCPU is a scripted per-CPU FIFO agent for kernel tests, written as
// docs/GHOST-SEMANTICS.md §7.2 describes the upstream one: each CPU's agent
// reads its barrier, drains its own queue, and commits the head of its
// FIFO locally (blocking), or yields. TASK_NEW lands on the default
// queue (CPU first's), whose agent places tasks round-robin by
// associating them with the target CPU's queue and pinging it.
type fifoPerCPU struct {
	queues map[int]*Queue
	rq     map[int][]Gtid
	seq    map[Gtid]uint32 // last seqnum seen per task
	next   int
	cpus   []int
	log    *[]string
}

func startFifoPerCPU(t *testing.T, k *Kernel, e *Enclave, log *[]string) *AgentProcess {
	t.Helper()
	f := &fifoPerCPU{queues: map[int]*Queue{}, rq: map[int][]Gtid{}, seq: map[Gtid]uint32{}, log: log}
	for c := e.cpus.First(); c >= 0; c = e.cpus.Next(c + 1) {
		q, err := e.CreateQueue(1024, c)
		if err != nil {
			t.Fatal(err)
		}
		f.queues[c] = q
		f.cpus = append(f.cpus, c)
	}
	f.queues[f.cpus[0]].SetDefault()
	p, err := e.StartAgents("fifo", f.agent)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (f *fifoPerCPU) agent(a *AgentThread) {
	me := a.CPU()
	q := f.queues[me]
	// Route this CPU's messages to its own queue.
	for {
		if _, err := a.Associate(q, a.Task().Gtid(), a.Barrier()); err == nil {
			break
		}
	}
	var current Gtid
	for !a.Finished() {
		barrier := a.Barrier()
		for {
			m, ok := a.Consume(q)
			if !ok {
				break
			}
			f.handle(a, me, m, &current)
		}
		if len(f.rq[me]) == 0 {
			a.LocalYield(barrier, 0)
			continue
		}
		next := f.rq[me][0]
		if err := a.Open(me, Txn{Gtid: next, TaskBarrier: f.seq[next], AgentBarrier: barrier, CommitFlags: CommitAtTxnCommit}); err != nil {
			panic(err)
		}
		a.Commit(SetOf(me))
		tx := a.TxnState(me)
		if tx.State == TxnComplete {
			n := copy(f.rq[me], f.rq[me][1:])
			f.rq[me] = f.rq[me][:n]
			current = next
		}
		if f.log != nil {
			*f.log = append(*f.log, fmt.Sprintf("%v cpu%d commit gtid=%d %v", a.Now(), me, next, tx.State))
		}
	}
}

func (f *fifoPerCPU) handle(a *AgentThread, me int, m Message, current *Gtid) {
	if f.log != nil {
		*f.log = append(*f.log, fmt.Sprintf("%v cpu%d got %v", a.Now(), me, m))
	}
	if !m.Type.IsTaskMsg() {
		return
	}
	g := m.Gtid
	f.seq[g] = m.Seqnum
	switch m.Type {
	case MsgTaskNew:
		if m.Runnable {
			f.place(a, g)
		}
	case MsgTaskWakeup:
		f.place(a, g)
	case MsgTaskPreempt, MsgTaskYield:
		f.rq[me] = append(f.rq[me], g)
		if *current == g {
			*current = 0
		}
	case MsgTaskBlocked, MsgTaskDead, MsgTaskDeparted:
		if *current == g {
			*current = 0
		}
	}
}

// place gives a newly runnable task a CPU: round-robin, associated with
// that CPU's queue (retrying on ESTALE as upstream does), queued, pinged.
func (f *fifoPerCPU) place(a *AgentThread, g Gtid) {
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

func joinLines(l []string) string { return strings.Join(l, "\n") }
