package agent

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// qTask is a policy's task as Queueing's tests see it.
type qTask struct{ Task }

// qPolicy is a Queue that logs each Enqueue and queues FIFO, preempted
// tasks at the front.
type qPolicy struct {
	rq  RunQueue[*qTask]
	log []string
}

func (p *qPolicy) Enqueue(a *Agent, t *qTask, m Message, c Cause) {
	p.log = append(p.log, fmt.Sprintf("enqueue %d %v seq %d", t.Gtid, c, t.Seqnum))
	if c == CausePreempt {
		p.rq.PushFront(a, t)
	} else {
		p.rq.Push(a, t)
	}
}

// qStep is one message to a task (by index), or a commit of it to a CPU
// ("run"), with what the task must look like afterwards.
type qStep struct {
	msg       string // new, new-blocked, wakeup, blocked, preempt, yield, dead, departed, run
	task      int
	cpu       int // for run
	state     RunState
	onCPU     int // the task's CPU afterwards (-1: none)
	queued    bool
	wantLog   string // the Enqueue it causes, "" for none
	wantCrash string
}

// TestQueueing scripts each message through the library's handler and
// checks the task's state, CPU and queue after it, the Enqueue it causes,
// and the crash a message the state machine forbids causes.
func TestQueueing(t *testing.T) {
	tests := []struct {
		name  string
		steps []qStep
	}{
		{"a task's life", []qStep{
			{msg: "new", task: 0, state: Queued, onCPU: -1, queued: true, wantLog: "enqueue 1 new seq 1"},
			{msg: "run", task: 0, cpu: 2, state: OnCPU, onCPU: 2},
			{msg: "preempt", task: 0, state: Queued, onCPU: -1, queued: true, wantLog: "enqueue 1 preempt seq 2"},
			{msg: "run", task: 0, cpu: 3, state: OnCPU, onCPU: 3},
			{msg: "yield", task: 0, state: Queued, onCPU: -1, queued: true, wantLog: "enqueue 1 yield seq 3"},
			{msg: "run", task: 0, cpu: 3, state: OnCPU, onCPU: 3},
			{msg: "blocked", task: 0, state: Blocked, onCPU: -1},
			{msg: "wakeup", task: 0, state: Queued, onCPU: -1, queued: true, wantLog: "enqueue 1 wakeup seq 5"},
			{msg: "run", task: 0, cpu: 1, state: OnCPU, onCPU: 1},
			{msg: "blocked", task: 0, state: Blocked, onCPU: -1},
			{msg: "dead", task: 0, state: Blocked, onCPU: -1},
		}},
		{"a blocked new task waits for its wakeup", []qStep{
			{msg: "new-blocked", task: 0, state: Blocked, onCPU: -1},
			{msg: "wakeup", task: 0, state: Queued, onCPU: -1, queued: true, wantLog: "enqueue 1 wakeup seq 2"},
		}},
		{"blocked while queued leaves the queue", []qStep{
			{msg: "new", task: 0, state: Queued, onCPU: -1, queued: true, wantLog: "enqueue 1 new seq 1"},
			{msg: "new", task: 1, state: Queued, onCPU: -1, queued: true, wantLog: "enqueue 2 new seq 1"},
			{msg: "blocked", task: 0, state: Blocked, onCPU: -1},
			{msg: "run", task: 1, cpu: 0, state: OnCPU, onCPU: 0},
		}},
		{"departed on its CPU frees the CPU", []qStep{
			{msg: "new", task: 0, state: Queued, onCPU: -1, queued: true, wantLog: "enqueue 1 new seq 1"},
			{msg: "run", task: 0, cpu: 4, state: OnCPU, onCPU: 4},
			{msg: "departed", task: 0, state: OnCPU, onCPU: -1},
		}},
		{"a wakeup of a queued task crashes", []qStep{
			{msg: "new", task: 0, state: Queued, onCPU: -1, queued: true, wantLog: "enqueue 1 new seq 1"},
			{msg: "wakeup", task: 0, wantCrash: "pol: TASK_WAKEUP for task 1 in state queued"},
		}},
		{"death of a running task crashes", []qStep{
			{msg: "new", task: 0, state: Queued, onCPU: -1, queued: true, wantLog: "enqueue 1 new seq 1"},
			{msg: "run", task: 0, cpu: 0, state: OnCPU, onCPU: 0},
			{msg: "dead", task: 0, wantCrash: "pol: TASK_DEAD for task 1 in state on-cpu"},
		}},
		{"a preemption of a blocked task crashes", []qStep{
			{msg: "new-blocked", task: 0, state: Blocked, onCPU: -1},
			{msg: "preempt", task: 0, wantCrash: "pol: TASK_PREEMPT for task 1 in state blocked"},
		}},
	}
	types := map[string]MsgType{
		"new": MsgTaskNew, "new-blocked": MsgTaskNew, "wakeup": MsgTaskWakeup, "blocked": MsgTaskBlocked,
		"preempt": MsgTaskPreempt, "yield": MsgTaskYield, "dead": MsgTaskDead, "departed": MsgTaskDeparted,
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &qPolicy{}
			cpus := NewCPUs[*qTask](8)
			h := NewQueueing[qTask](nil, "pol", p, &cpus)
			d := NewDispatcher(func(Gtid) *qTask { return &qTask{} }, func(q *qTask) *Task { return &q.Task })
			seq := map[int]uint32{}
			for i, st := range tt.steps {
				g := Gtid(st.task + 1)
				if st.msg == "run" {
					tk := d.Task(g)
					if !p.rq.Remove(nil, tk) {
						t.Fatalf("step %d: run of task %d, which is not queued", i, g)
					}
					cpus.Assign(st.cpu, tk, 0)
				} else {
					seq[st.task]++
					m := Message{Type: types[st.msg], Gtid: g, Seqnum: seq[st.task], Runnable: st.msg == "new"}
					crash := func() (msg any) {
						defer func() { msg = recover() }()
						d.Dispatch(m, h)
						return nil
					}()
					if st.wantCrash != "" || crash != nil {
						if fmt.Sprint(crash) != st.wantCrash {
							t.Fatalf("step %d (%s): crash %v, want %q", i, st.msg, crash, st.wantCrash)
						}
						continue
					}
				}
				var got []string
				if n := len(p.log); n > 0 && st.wantLog != "" {
					got = p.log[n-1:]
				}
				if st.wantLog != "" && (len(got) == 0 || got[0] != st.wantLog) {
					t.Errorf("step %d (%s): log %q, want last %q", i, st.msg, p.log, st.wantLog)
				}
				if st.msg == "dead" || st.msg == "departed" {
					if d.Task(g) != nil {
						t.Errorf("step %d: task %d still tracked", i, g)
					}
				}
				tk := findTask(d, g, p, &cpus)
				if tk == nil {
					continue
				}
				type view struct {
					State  RunState
					CPU    int
					Queued bool
				}
				if diff := cmp.Diff(view{st.state, st.onCPU, st.queued}, view{tk.State, tk.CPU(), p.rq.Contains(tk)}); diff != "" {
					t.Errorf("step %d (%s) task %d (-want +got):\n%s", i, st.msg, g, diff)
				}
			}
			// Every Enqueue the script expects happened, in order, and no other.
			var want []string
			for _, st := range tt.steps {
				if st.wantLog != "" {
					want = append(want, st.wantLog)
				}
			}
			if diff := cmp.Diff(want, p.log); diff != "" {
				t.Errorf("Enqueue calls (-want +got):\n%s", diff)
			}
		})
	}
}

// findTask returns task g: tracked by the dispatcher, or (after DEAD or
// DEPARTED) the last one the queue or table knew.
func findTask(d *Dispatcher[qTask], g Gtid, p *qPolicy, cpus *CPUs[*qTask]) *qTask {
	if tk := d.Task(g); tk != nil {
		return tk
	}
	for i := 0; i < p.rq.Len(); i++ {
		if p.rq.At(i).Gtid == g {
			return p.rq.At(i)
		}
	}
	for c := range 8 {
		if tk := cpus.Of(c); tk != nil && tk.Gtid == g {
			return tk
		}
	}
	return nil
}
