package kernel

import (
	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/hw"
)

// This file is an agent spinning on its queue (a poll that keeps the CPU):
// when it starts, when a message or a status-word change ends it (after
// the line reaches the agent's CPU), and how it stops.

// startSpin makes agent t spin on q until a message arrives or until.
func (k *Kernel) startSpin(c *cpuState, t *Task, q *Queue, until sim.Time) {
	g := t.g
	g.spinning = true
	k.poll.add(k.eng.Now(), 1)
	g.spinQ = q
	q.spinners = append(q.spinners, t)
	t.inOp = true // the poll is still in progress
	k.setActivity(c, hw.SiblingSpinning)
	if until != sim.Never {
		g.spinEnd.Arm(k.eng, until, k.id, sim.Event{Kind: evSpinEnd, A: int32(t.id)})
	}
}

// endSpinOn tells spinning agent a that a message from CPU from is being
// written to q: it notices once the message is written and the ring's
// line reaches its CPU (the read that Consume then needs no more).
func (k *Kernel) endSpinOn(a *Task, q *Queue, from int) {
	if !a.g.spinning {
		return
	}
	at := k.eng.Now()
	if from >= 0 {
		at += k.costs.GhostMsgProduce + k.readCost(&q.line, a.g.agentCPU)
	}
	if cur, armed := a.g.spinEnd.Armed(); armed && cur <= at {
		return
	}
	a.g.spinEnd.Arm(k.eng, at, k.id, sim.Event{Kind: evSpinEnd, A: int32(a.id)})
}

// endSpin tells spinning agent a that a status word it watches changed on
// CPU from: it notices when the line reaches its CPU.
func (k *Kernel) endSpin(a *Task, from int) {
	if !a.g.spinning {
		return
	}
	at := k.eng.Now()
	if from >= 0 {
		at += k.m.LineTransfer(from, a.g.agentCPU, -1)
	}
	if cur, armed := a.g.spinEnd.Armed(); armed && cur <= at {
		return
	}
	a.g.spinEnd.Arm(k.eng, at, k.id, sim.Event{Kind: evSpinEnd, A: int32(a.id)})
}

// finishSpin ends a spinning poll: the agent's program goes on.
func (k *Kernel) finishSpin(t *Task) {
	if !t.g.spinning {
		return
	}
	k.stopSpin(t)
	t.inOp = false
	c := &k.cpus[t.cpu]
	if c.curr == t {
		k.setActivity(c, hw.SiblingComputing)
		k.resumeCurrent(c, k.eng.Now())
	}
}

// stopSpin takes t out of spinning without resuming it.
func (k *Kernel) stopSpin(t *Task) {
	g := t.g
	if g.spinning {
		k.poll.add(k.eng.Now(), -1)
	}
	g.spinning = false
	g.spinEnd.Stop()
	if g.spinQ != nil {
		g.spinQ.spinners = removeTask(g.spinQ.spinners, t)
		g.spinQ = nil
	}
}
