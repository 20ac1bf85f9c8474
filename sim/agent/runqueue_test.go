package agent

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// rqTask is a policy's task type as the tests see it.
type rqTask struct {
	Task
	runtime int64
}

// rqOp is one step of a RunQueue script: op on task (by index) with
// front/requeue variants; the tasks' runtimes key a heap.
type rqOp struct {
	op   string // push, front, requeue, remove, pop
	task int
}

// TestRunQueue scripts each kind of queue and checks what comes out, in
// order, and the membership and state it leaves in the tasks.
func TestRunQueue(t *testing.T) {
	runtimes := []int64{30, 10, 20, 10}
	tests := []struct {
		name     string
		heap     bool
		ops      []rqOp
		wantPops []int  // task indices popped, in order, by the script's pops and the final drain
		wantIn   []bool // Contains after the script, by task
	}{
		{
			name:     "fifo back and front",
			ops:      []rqOp{{"push", 0}, {"push", 1}, {"front", 2}, {"push", 1}, {"push", 3}},
			wantPops: []int{2, 0, 1, 3},
			wantIn:   []bool{true, true, true, true},
		},
		{
			name:     "fifo push of a queued task does not move it",
			ops:      []rqOp{{"push", 0}, {"push", 1}, {"front", 1}},
			wantPops: []int{0, 1},
			wantIn:   []bool{true, true, false, false},
		},
		{
			name:     "fifo requeue goes to the front",
			ops:      []rqOp{{"push", 0}, {"push", 1}, {"push", 2}, {"pop", 0}, {"requeue", 0}},
			wantPops: []int{0, 0, 1, 2},
			wantIn:   []bool{true, true, true, false},
		},
		{
			name:     "fifo remove",
			ops:      []rqOp{{"push", 0}, {"push", 1}, {"push", 2}, {"remove", 1}, {"remove", 3}},
			wantPops: []int{0, 2},
			wantIn:   []bool{true, false, true, false},
		},
		{
			name:     "heap least key first, ties in push order",
			heap:     true,
			ops:      []rqOp{{"push", 0}, {"push", 1}, {"push", 2}, {"push", 3}},
			wantPops: []int{1, 3, 2, 0},
			wantIn:   []bool{true, true, true, true},
		},
		{
			name: "heap requeue keeps the place among equal keys",
			heap: true,
			// 1 and 3 share key 10; 1 popped and put back is still ahead of 3.
			ops:      []rqOp{{"push", 1}, {"push", 3}, {"push", 0}, {"pop", 0}, {"requeue", 1}},
			wantPops: []int{1, 1, 3, 0},
			wantIn:   []bool{true, true, false, true},
		},
		{
			name:     "heap remove",
			heap:     true,
			ops:      []rqOp{{"push", 0}, {"push", 1}, {"push", 2}, {"remove", 1}},
			wantPops: []int{2, 0},
			wantIn:   []bool{true, false, true, false},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tasks := make([]*rqTask, len(runtimes))
			index := map[*rqTask]int{}
			for i, r := range runtimes {
				tasks[i] = &rqTask{Task: Task{Gtid: Gtid(i + 1)}, runtime: r}
				index[tasks[i]] = i
			}
			var q RunQueue[*rqTask]
			if tt.heap {
				q.Key = func(t *rqTask) int64 { return t.runtime }
			}
			var pops []int
			for _, op := range tt.ops {
				x := tasks[op.task]
				switch op.op {
				case "push":
					q.Push(nil, x)
				case "front":
					q.PushFront(nil, x)
				case "requeue":
					q.Requeue(nil, x)
				case "remove":
					q.Remove(nil, x)
				case "pop":
					p, ok := q.Pop(nil)
					if !ok {
						t.Fatal("pop: empty")
					}
					pops = append(pops, index[p])
				}
			}
			var in []bool
			for _, x := range tasks {
				in = append(in, q.Contains(x))
				if q.Contains(x) != x.Queued() {
					t.Errorf("task %d: Contains %v, Queued %v", x.Gtid, q.Contains(x), x.Queued())
				}
				if q.Contains(x) && x.State != Queued {
					t.Errorf("task %d queued in state %v", x.Gtid, x.State)
				}
			}
			for q.Len() > 0 {
				p, _ := q.Pop(nil)
				pops = append(pops, index[p])
			}
			if diff := cmp.Diff(tt.wantPops, pops); diff != "" {
				t.Errorf("pops (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantIn, in); diff != "" {
				t.Errorf("Contains after the script (-want +got):\n%s", diff)
			}
			for _, x := range tasks {
				if x.Queued() {
					t.Errorf("task %d still queued after the drain", x.Gtid)
				}
			}
		})
	}
}

// TestRunQueueOneQueueAtATime: a task in one RunQueue is not pushed into
// another, and Remove from a queue it is not in does nothing.
func TestRunQueueOneQueueAtATime(t *testing.T) {
	var a, b RunQueue[*rqTask]
	x := &rqTask{Task: Task{Gtid: 1}}
	if !a.Push(nil, x) || b.Push(nil, x) || b.PushFront(nil, x) || b.Requeue(nil, x) {
		t.Fatal("want only the first push to queue the task")
	}
	if b.Remove(nil, x) || !a.Contains(x) || b.Contains(x) {
		t.Fatal("Remove from the other queue must leave the task in the first")
	}
	if !a.Remove(nil, x) || x.Queued() || !b.Push(nil, x) || !b.Contains(x) {
		t.Fatal("after its removal the task can join the other queue")
	}
}

// TestCPUs scripts a per-CPU table: what each step displaces, clears and
// leaves behind.
func TestCPUs(t *testing.T) {
	type step struct {
		op   string // assign, clear
		cpu  int
		task int
		now  Time
	}
	tests := []struct {
		name string
		ops  []step
		// want: per step, the task displaced by an assign or the CPU a
		// clear freed (-1: none).
		want     []int
		wantCPU  []int // each task's CPU() after the script
		wantBusy []int
	}{
		{
			name:     "assign and clear",
			ops:      []step{{"assign", 1, 0, 5}, {"assign", 2, 1, 6}, {"clear", 0, 0, 0}},
			want:     []int{-1, -1, 1},
			wantCPU:  []int{-1, 2, -1},
			wantBusy: []int{2},
		},
		{
			name:     "an assign displaces the CPU's task",
			ops:      []step{{"assign", 1, 0, 5}, {"assign", 1, 1, 6}, {"clear", 0, 0, 0}},
			want:     []int{-1, 0, -1}, // the displaced task holds no CPU any more
			wantCPU:  []int{-1, 1, -1},
			wantBusy: []int{1},
		},
		{
			name:     "a task moves: its old CPU is freed",
			ops:      []step{{"assign", 1, 0, 5}, {"assign", 3, 0, 6}},
			want:     []int{-1, -1},
			wantCPU:  []int{3, -1, -1},
			wantBusy: []int{3},
		},
		{
			name:     "reassigning the same task displaces nothing",
			ops:      []step{{"assign", 1, 0, 5}, {"assign", 1, 0, 6}},
			want:     []int{-1, -1},
			wantCPU:  []int{1, -1, -1},
			wantBusy: []int{1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tasks := []*rqTask{{Task: Task{Gtid: 1}}, {Task: Task{Gtid: 2}}, {Task: Task{Gtid: 3}}}
			index := map[*rqTask]int{nil: -1}
			for i, x := range tasks {
				index[x] = i
			}
			c := NewCPUs[*rqTask](4)
			var got []int
			for _, s := range tt.ops {
				switch s.op {
				case "assign":
					got = append(got, index[c.Assign(s.cpu, tasks[s.task], s.now)])
					if tasks[s.task].State != OnCPU || c.Since(s.cpu) != s.now || c.Of(s.cpu) != tasks[s.task] {
						t.Errorf("after assign %+v: state %v, since %v", s, tasks[s.task].State, c.Since(s.cpu))
					}
				case "clear":
					got = append(got, c.Clear(tasks[s.task]))
				}
			}
			var cpus []int
			for _, x := range tasks {
				cpus = append(cpus, x.CPU())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("step results (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantCPU, cpus); diff != "" {
				t.Errorf("CPU() (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantBusy, c.Busy().Slice()); diff != "" {
				t.Errorf("Busy (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCPUsExpiry(t *testing.T) {
	tasks := []*rqTask{{Task: Task{Gtid: 1}, runtime: 1}, {Task: Task{Gtid: 2}, runtime: 2}}
	c := NewCPUs[*rqTask](4)
	c.Assign(0, tasks[0], 100)
	c.Assign(3, tasks[1], 50)
	only1 := func(t *rqTask) bool { return t.runtime == 1 }
	tests := []struct {
		name  string
		slice Time
		match func(*rqTask) bool
		want  Time
	}{
		{"no slice", 0, nil, Never},
		{"earliest of all", 30, nil, 80},
		{"earliest of those matching", 30, only1, 130},
		{"none matching", 30, func(*rqTask) bool { return false }, Never},
	}
	for _, tt := range tests {
		if got := c.Expiry(tt.slice, tt.match); got != tt.want {
			t.Errorf("%s: Expiry = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestRunQueueNoAllocs: pushing, popping and requeueing a grown queue
// does not allocate (the policies' per-message paths).
func TestRunQueueNoAllocs(t *testing.T) {
	tasks := make([]*rqTask, 64)
	for i := range tasks {
		tasks[i] = &rqTask{Task: Task{Gtid: Gtid(i + 1)}, runtime: int64(i % 7)}
	}
	for _, heap := range []bool{false, true} {
		var q RunQueue[*rqTask]
		if heap {
			q.Key = func(t *rqTask) int64 { return t.runtime }
		}
		cycle := func() {
			for _, x := range tasks {
				q.Push(nil, x)
			}
			x, _ := q.Pop(nil)
			q.Requeue(nil, x)
			q.Remove(nil, tasks[5])
			for q.Len() > 0 {
				q.Pop(nil)
			}
		}
		cycle() // grow
		if n := testing.AllocsPerRun(20, cycle); n != 0 {
			t.Errorf("heap=%v: %v allocations per cycle", heap, n)
		}
	}
}

// TestTaskExpect: a message the state does not allow panics (an agent
// crash) naming the policy, the message, the task and its state.
func TestTaskExpect(t *testing.T) {
	tests := []struct {
		state RunState
		ok    []RunState
		want  any
	}{
		{Blocked, []RunState{Blocked}, nil},
		{Queued, []RunState{OnCPU, Queued}, nil},
		{OnCPU, []RunState{Blocked}, "my-policy: TASK_WAKEUP for task 7 in state on-cpu"},
		{Queued, nil, "my-policy: TASK_WAKEUP for task 7 in state queued"},
	}
	for _, tt := range tests {
		x := &rqTask{Task: Task{Gtid: 7, State: tt.state}}
		got := func() (r any) {
			defer func() { r = recover() }()
			x.Expect("my-policy", "TASK_WAKEUP", tt.ok...)
			return nil
		}()
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("state %v, allowed %v (-want +got):\n%s", tt.state, tt.ok, diff)
		}
	}
}
