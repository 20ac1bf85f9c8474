package agent

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ghostsim/ghostsim/sim"
)

func TestFIFO(t *testing.T) {
	var q FIFO[int]
	for i := 1; i <= 20; i++ { // grows past its first capacity
		q.PushBack(i)
	}
	q.PushFront(0)
	if !q.Remove(10) || q.Remove(99) {
		t.Fatal("Remove: want true for 10, false for 99")
	}
	var got []int
	for q.Len() > 0 {
		x, _ := q.PopFront()
		got = append(got, x)
	}
	want := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if _, ok := q.PopFront(); ok {
		t.Error("PopFront on empty queue returned ok")
	}
}

type testTask struct {
	Task
	events []string
}

type recorder struct {
}

func (recorder) TaskNew(t *testTask, m Message)       { t.events = append(t.events, "new") }
func (recorder) TaskRunnable(t *testTask, m Message)  { t.events = append(t.events, "runnable") }
func (recorder) TaskBlocked(t *testTask, m Message)   { t.events = append(t.events, "blocked") }
func (recorder) TaskPreempted(t *testTask, m Message) { t.events = append(t.events, "preempted") }
func (recorder) TaskYield(t *testTask, m Message)     { t.events = append(t.events, "yield") }
func (recorder) TaskDead(t *testTask, m Message)      { t.events = append(t.events, "dead") }
func (recorder) TaskDeparted(t *testTask, m Message)  { t.events = append(t.events, "departed") }

func TestDispatcherTracksTasks(t *testing.T) {
	d := NewDispatcher(func(Gtid) *testTask { return &testTask{} }, func(t *testTask) *Task { return &t.Task })
	h := recorder{}
	d.Dispatch(Message{Type: MsgTaskNew, Gtid: 5, Seqnum: 1}, h)
	task := d.Task(5)
	d.Dispatch(Message{Type: MsgTaskBlocked, Gtid: 5, Seqnum: 2}, h)
	d.Dispatch(Message{Type: MsgTaskWakeup, Gtid: 5, Seqnum: 4}, h)  // a gap is fine
	d.Dispatch(Message{Type: MsgTaskPreempt, Gtid: 9, Seqnum: 1}, h) // unknown: dropped
	if task.Seqnum != 4 || d.Dropped != 1 {
		t.Errorf("seqnum %d, dropped %d; want 4, 1", task.Seqnum, d.Dropped)
	}
	d.Dispatch(Message{Type: MsgTaskDead, Gtid: 5, Seqnum: 5}, h)
	if d.Task(5) != nil || d.Len() != 0 {
		t.Error("TASK_DEAD did not free the task")
	}
	if diff := cmp.Diff([]string{"new", "blocked", "runnable", "dead"}, task.events); diff != "" {
		t.Errorf("callbacks (-want +got):\n%s", diff)
	}
}

// TestDispatcherRejectsOldSeqnum: a message older than the last one
// processed is an agent bug; the panic crashes the agent, not ghostsim.
func TestDispatcherRejectsOldSeqnum(t *testing.T) {
	d := NewDispatcher(func(Gtid) *testTask { return &testTask{} }, func(t *testTask) *Task { return &t.Task })
	d.Dispatch(Message{Type: MsgTaskNew, Gtid: 1, Seqnum: 3}, recorder{})
	defer func() {
		if p := recover(); p == nil || !strings.Contains(p.(string), "seqnum 2 after 3") {
			t.Errorf("recover() = %v, want a seqnum panic", p)
		}
	}()
	d.Dispatch(Message{Type: MsgTaskBlocked, Gtid: 1, Seqnum: 2}, recorder{})
}

func TestParamsValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Params)
		key  string
	}{
		{"defaults", func(*Params) {}, ""},
		{"negative slice", func(p *Params) { p.TimeSliceUs = -1 }, "policy.time_slice_us"},
		{"queue not a power of two", func(p *Params) { p.QueueElems = 1000 }, "policy.queue_elems"},
		{"queue too big", func(p *Params) { p.QueueElems = 1 << 17 }, "policy.queue_elems"},
		{"negative op cost", func(p *Params) { p.ContainerOpCycles = -3 }, "policy.container_op_cycles"},
	}
	for _, tt := range tests {
		p := DefaultParams()
		tt.mod(&p)
		err := p.Validate()
		var ke *sim.KeyError
		switch {
		case tt.key == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.key != "" && (!errors.As(err, &ke) || ke.Key != tt.key):
			t.Errorf("%s: error %v, want key %s", tt.name, err, tt.key)
		}
	}
	if got := (&Params{TimeSliceUs: 30}).TimeSlice(); got != 30*Microsecond {
		t.Errorf("TimeSlice = %v, want 30us", got)
	}
}

func TestRoutineFailure(t *testing.T) {
	if !RoutineFailure(TxnTargetStale) || !RoutineFailure(TxnCPUUnavail) || RoutineFailure(TxnState(-9)) {
		t.Error("RoutineFailure: stale and CPU_UNAVAIL are routine, INVALID_FLAGS is not")
	}
	// LocalEnclave::CompleteRunRequest does not list NOT_RUNNABLE: an
	// agent bug must not hide.
	if RoutineFailure(TxnTargetNotRunnable) {
		t.Error("RoutineFailure: TARGET_NOT_RUNNABLE is an agent bug, not routine")
	}
}

// affinityRecorder also takes the optional TASK_AFFINITY_CHANGED.
type affinityRecorder struct{ recorder }

func (affinityRecorder) TaskAffinityChanged(t *testTask, m Message) {
	t.events = append(t.events, "affinity")
}

// TestOptionalHandlers: an optional message reaches a handler that
// implements its interface; one that does not only advances the task's
// sequence number.
func TestOptionalHandlers(t *testing.T) {
	for _, tt := range []struct {
		name string
		h    TaskHandler[testTask]
		want []string
	}{
		{"without", recorder{}, []string{"new"}},
		{"with", affinityRecorder{}, []string{"new", "affinity"}},
	} {
		d := NewDispatcher(func(Gtid) *testTask { return &testTask{} }, func(t *testTask) *Task { return &t.Task })
		d.Dispatch(Message{Type: MsgTaskNew, Gtid: 5, Seqnum: 1}, tt.h)
		d.Dispatch(Message{Type: MsgTaskAffinityChanged, Gtid: 5, Seqnum: 2}, tt.h)
		task := d.Task(5)
		if diff := cmp.Diff(tt.want, task.events); diff != "" || task.Seqnum != 2 {
			t.Errorf("%s: events (-want +got):\n%s seqnum %d, want 2", tt.name, diff, task.Seqnum)
		}
	}
}
