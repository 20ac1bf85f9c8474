package agent_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ghostsim/ghostsim/sim/agent"
)

// seqTask and seqHandler record the task's seqnum each handler sees.
type seqTask struct{ agent.Task }

type seqHandler struct{ seen []uint32 }

func (h *seqHandler) see(t *seqTask)                                  { h.seen = append(h.seen, t.Seqnum) }
func (h *seqHandler) TaskNew(t *seqTask, m agent.Message)             { h.see(t) }
func (h *seqHandler) TaskRunnable(t *seqTask, m agent.Message)        { h.see(t) }
func (h *seqHandler) TaskBlocked(t *seqTask, m agent.Message)         { h.see(t) }
func (h *seqHandler) TaskPreempted(t *seqTask, m agent.Message)       { h.see(t) }
func (h *seqHandler) TaskYield(t *seqTask, m agent.Message)           { h.see(t) }
func (h *seqHandler) TaskDead(t *seqTask, m agent.Message)            { h.see(t) }
func (h *seqHandler) TaskDeparted(t *seqTask, m agent.Message)        { h.see(t) }
func (h *seqHandler) TaskPriorityChanged(t *seqTask, m agent.Message) { h.see(t) }

// TestHandlersSeeTheirMessagesSeqnum: inside every handler the task's
// Seqnum is the message's, so a handler that associates, commits or
// publishes the task does so at the barrier it handles. Before, the
// dispatcher advanced it after the handler: fifo-percpu placed a task at
// its first wakeup with the previous seqnum (ESTALE, the task never ran)
// and search's fast path never published a thread from a handler.
func TestHandlersSeeTheirMessagesSeqnum(t *testing.T) {
	d := agent.NewDispatcher(func(agent.Gtid) *seqTask { return &seqTask{} }, func(t *seqTask) *agent.Task { return &t.Task })
	h := &seqHandler{}
	for _, m := range []agent.Message{
		{Type: agent.MsgTaskNew, Gtid: 7, Seqnum: 1},
		{Type: agent.MsgTaskWakeup, Gtid: 7, Seqnum: 3}, // 2 went elsewhere
		{Type: agent.MsgTaskPreempt, Gtid: 7, Seqnum: 4},
		{Type: agent.MsgTaskPriorityChanged, Gtid: 7, Seqnum: 5},
		{Type: agent.MsgTaskYield, Gtid: 7, Seqnum: 6},
		{Type: agent.MsgTaskBlocked, Gtid: 7, Seqnum: 7},
		{Type: agent.MsgTaskDead, Gtid: 7, Seqnum: 8},
	} {
		d.Dispatch(m, h)
	}
	if diff := cmp.Diff([]uint32{1, 3, 4, 5, 6, 7, 8}, h.seen); diff != "" {
		t.Errorf("seqnums seen by the handlers (-want +got):\n%s", diff)
	}
}
