package microbench

import (
	"fmt"

	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/kernel"
)

// CPUs used on the machine: the agent's, the first target's (same socket,
// not an SMT sibling of the agent's), and the CFS helper's (away from both).
const (
	agentCPU  = 2
	targetCPU = 3
	helperCPU = 20
)

// runUntil runs the rig's engine until done() or a simulated second.
func (r *rig) runUntil(done func() bool) error {
	e := r.k.Engine()
	for !done() {
		if e.Now() > sim.Second {
			return fmt.Errorf("did not finish within a simulated second")
		}
		e.Run(e.Now() + sim.Millisecond)
		if err := r.k.Err(); err != nil {
			return err
		}
	}
	return nil
}

// waker is a CFS thread on helperCPU that wakes the tasks every period
// (the event that makes a blocked ghOSt task runnable again).
func (r *rig) waker(period sim.Time, tasks *[]*kernel.Task) error {
	_, err := r.k.Spawn(kernel.TaskSpec{
		Name: "waker", Class: kernel.ClassCFS, CPU: helperCPU, Affinity: kernel.SetOf(helperCPU), NUMAHome: -1,
		Program: func(th *kernel.Thread) {
			for {
				th.Sleep(period)
				for _, t := range *tasks {
					th.Wake(t)
				}
			}
		},
	})
	return err
}

// localAgent measures rows 1 and 3 with a per-CPU agent on agentCPU
// whose queue wakes it: row 1 from the post of a task's BLOCKED to the
// agent having dequeued it (post + switch to the agent + dequeue); row 3
// from the agent's Commit of the task on its own CPU to the task running.
func (r *rig) localAgent(n int) ([]float64, error) {
	k := r.k
	e, err := k.CreateEnclave(kernel.SetOf(agentCPU), kernel.EnclaveConfig{})
	if err != nil {
		return nil, err
	}
	q, err := e.CreateQueue(1024, agentCPU)
	if err != nil {
		return nil, err
	}
	q.SetDefault()
	var row1, row3 []sim.Time
	var t0 sim.Time
	var g *kernel.Task
	if _, err := e.StartAgents("mb", func(a *kernel.AgentThread) {
		for {
			if _, err := a.Associate(q, a.Task().Gtid(), a.Barrier()); err == nil {
				break
			}
		}
		var seq uint32
		runnable := false
		for !a.Finished() {
			b := a.Barrier()
			for {
				m, ok := a.Consume(q)
				if !ok {
					break
				}
				if !m.Type.IsTaskMsg() {
					continue
				}
				seq = m.Seqnum
				switch m.Type {
				case kernel.MsgTaskNew:
					runnable = m.Runnable
				case kernel.MsgTaskWakeup, kernel.MsgTaskPreempt, kernel.MsgTaskYield:
					runnable = true
				case kernel.MsgTaskBlocked:
					runnable = false
					row1 = append(row1, a.Now()-r.lastPost(kernel.MsgTaskBlocked, m.Gtid))
				case kernel.MsgTaskDead:
					runnable = false
				}
			}
			if !runnable {
				a.LocalYield(b, 0)
				continue
			}
			if err := a.Open(agentCPU, kernel.Txn{Gtid: g.Gtid(), TaskBarrier: seq, AgentBarrier: b, CommitFlags: kernel.CommitAtTxnCommit}); err != nil {
				panic(err)
			}
			t0 = a.Now()
			a.Commit(kernel.SetOf(agentCPU))
			if a.TxnState(agentCPU).State == kernel.TxnComplete {
				runnable = false
			}
		}
	}); err != nil {
		return nil, err
	}
	done := false
	g, err = k.Spawn(kernel.TaskSpec{Name: "g", Class: kernel.ClassGhost, Enclave: e, CPU: agentCPU, NUMAHome: -1,
		Program: func(th *kernel.Thread) {
			for i := 0; ; i++ {
				if i > 0 {
					row3 = append(row3, th.Now()-t0)
				}
				th.Run(sim.Us(1))
				if i == n {
					done = true
					th.Block()
				}
				th.Block()
			}
		}})
	if err != nil {
		return nil, err
	}
	tasks := []*kernel.Task{g}
	if err := r.waker(30*sim.Microsecond, &tasks); err != nil {
		return nil, err
	}
	if err := r.runUntil(func() bool { return done }); err != nil {
		return nil, err
	}
	return []float64{mean(row1), mean(row3)}, nil
}

// globalDelivery measures row 2: a global agent spinning on a polling
// queue on agentCPU, a task on targetCPU blocking; from the post of
// BLOCKED to the agent having dequeued it.
func (r *rig) globalDelivery(n int) ([]float64, error) {
	k := r.k
	e, err := k.CreateEnclave(kernel.SetOf(agentCPU, targetCPU), kernel.EnclaveConfig{})
	if err != nil {
		return nil, err
	}
	q, err := e.CreateQueue(4096)
	if err != nil {
		return nil, err
	}
	q.SetDefault()
	var row2 []sim.Time
	var g *kernel.Task
	if _, err := e.StartAgents("mb", func(a *kernel.AgentThread) {
		if a.CPU() != agentCPU {
			for !a.Finished() {
				a.LocalYield(a.Barrier(), 0)
			}
			return
		}
		var seq uint32
		runnable := false
		for !a.Finished() {
			for {
				m, ok := a.Consume(q)
				if !ok {
					break
				}
				if !m.Type.IsTaskMsg() || m.Gtid != g.Gtid() {
					continue
				}
				seq = m.Seqnum
				switch m.Type {
				case kernel.MsgTaskNew:
					runnable = m.Runnable
				case kernel.MsgTaskWakeup:
					runnable = true
				case kernel.MsgTaskBlocked:
					runnable = false
					row2 = append(row2, a.Now()-r.lastPost(kernel.MsgTaskBlocked, m.Gtid))
				}
			}
			if runnable {
				if err := a.Open(targetCPU, kernel.Txn{Gtid: g.Gtid(), TaskBarrier: seq, CommitFlags: kernel.CommitAtTxnCommit}); err != nil {
					panic(err)
				}
				a.Commit(kernel.SetOf(targetCPU))
				if a.TxnState(targetCPU).State == kernel.TxnComplete {
					runnable = false
				}
			}
			a.Poll(q, sim.Never)
		}
	}); err != nil {
		return nil, err
	}
	done := false
	g, err = k.Spawn(kernel.TaskSpec{Name: "g", Class: kernel.ClassGhost, Enclave: e, CPU: targetCPU, NUMAHome: -1,
		Program: func(th *kernel.Thread) {
			for i := 0; ; i++ {
				th.Run(sim.Us(1))
				if i == n {
					done = true
				}
				th.Block()
			}
		}})
	if err != nil {
		return nil, err
	}
	tasks := []*kernel.Task{g}
	if err := r.waker(30*sim.Microsecond, &tasks); err != nil {
		return nil, err
	}
	if err := r.runUntil(func() bool { return done }); err != nil {
		return nil, err
	}
	return []float64{mean(row2)}, nil
}

// remote measures a remote schedule of nt tasks on nt CPUs in one commit
// (rows 4–6 for 1, 7–9 for 10), by a global agent on agentCPU, as the
// paper describes it: the agent commits and sends the IPIs; each target
// handles its IPI and switches. Each target runs a filler ghOSt task when
// the commit comes, so it is busy and needs the IPI (an idle, polling
// target would be woken without one); the commit elides the filler's
// PREEMPT, which the agent knows of. Agent overhead: the commit call;
// target overhead: IPI arrival to the task running; end-to-end: the
// commit call to the last task running.
func (r *rig) remote(n, nt int) ([]float64, error) {
	k := r.k
	targets := make([]int, nt)
	set := kernel.SetOf(agentCPU)
	for i := range targets {
		targets[i] = targetCPU + i
		set.Add(targets[i])
	}
	e, err := k.CreateEnclave(set, kernel.EnclaveConfig{})
	if err != nil {
		return nil, err
	}
	q, err := e.CreateQueue(4096)
	if err != nil {
		return nil, err
	}
	q.SetDefault()
	var agentOv, targetOv, e2e []sim.Time
	var t0 sim.Time
	gs := make([]*kernel.Task, nt)
	fs := make([]*kernel.Task, nt)
	ran := make([]sim.Time, nt) // when g[i] last got on its CPU
	seq := map[kernel.Gtid]uint32{}
	state := map[kernel.Gtid]kernel.MsgType{}
	round, resumed := 0, 0
	if _, err := e.StartAgents("mb", func(a *kernel.AgentThread) {
		if a.CPU() != agentCPU {
			for !a.Finished() {
				a.LocalYield(a.Barrier(), 0)
			}
			return
		}
		for !a.Finished() {
			for {
				m, ok := a.Consume(q)
				if !ok {
					break
				}
				if m.Type.IsTaskMsg() {
					seq[m.Gtid] = m.Seqnum
					if m.Type != kernel.MsgTaskNew || m.Runnable {
						state[m.Gtid] = m.Type
					}
				}
			}
			all := func(ts []*kernel.Task, want kernel.MsgType) bool {
				for _, t := range ts {
					if state[t.Gtid()] != want {
						return false
					}
				}
				return true
			}
			commit := func(ts []*kernel.Task, flags kernel.RunFlags) {
				mask := kernel.CPUSet{}
				for i, t := range ts {
					if err := a.Open(targets[i], kernel.Txn{Gtid: t.Gtid(), TaskBarrier: seq[t.Gtid()], RunFlags: flags, CommitFlags: kernel.CommitAtTxnCommit}); err != nil {
						panic(err)
					}
					mask.Add(targets[i])
				}
				a.Commit(mask)
				for i, t := range ts {
					if st := a.TxnState(targets[i]).State; st != kernel.TxnComplete {
						panic(fmt.Sprintf("commit of %v to cpu%d: %v", t, targets[i], st))
					}
					state[t.Gtid()] = 0 // running
				}
			}
			switch {
			case all(fs, kernel.MsgTaskNew) || all(fs, kernel.MsgTaskPreempt):
				commit(fs, 0) // fillers onto the targets
			case fillersRunning(k, fs) && (all(gs, kernel.MsgTaskNew) || all(gs, kernel.MsgTaskWakeup)):
				t0 = a.Now()
				resumed = 0
				commit(gs, kernel.RunElidePreempt)
				agentOv = append(agentOv, a.Now()-t0)
				round++
			case all(gs, kernel.MsgTaskBlocked) && !fillersRunning(k, fs):
				for _, f := range fs {
					state[f.Gtid()] = kernel.MsgTaskPreempt // displaced silently: runnable again
				}
				continue
			}
			a.Poll(q, a.Now()+sim.Us(5))
		}
	}); err != nil {
		return nil, err
	}
	for i := range fs {
		fs[i], err = k.Spawn(kernel.TaskSpec{Name: fmt.Sprintf("filler%d", i), Class: kernel.ClassGhost, Enclave: e, CPU: targets[i], NUMAHome: -1,
			Program: func(th *kernel.Thread) {
				for {
					th.Run(sim.Ms(1))
				}
			}})
		if err != nil {
			return nil, err
		}
	}
	done := false
	for i := range gs {
		i := i
		gs[i], err = k.Spawn(kernel.TaskSpec{Name: fmt.Sprintf("g%d", i), Class: kernel.ClassGhost, Enclave: e, CPU: targets[i], NUMAHome: -1,
			Program: func(th *kernel.Thread) {
				for {
					ran[i] = th.Now()
					resumed++
					if round > 1 { // round 1 warms up
						targetOv = append(targetOv, ran[i]-r.lastIPI(targets[i]))
						if resumed == nt {
							e2e = append(e2e, ran[i]-t0)
						}
					}
					if round > n {
						done = true
					}
					th.Run(sim.Us(1))
					th.Block()
				}
			}})
		if err != nil {
			return nil, err
		}
	}
	if err := r.waker(50*sim.Microsecond, &gs); err != nil {
		return nil, err
	}
	if err := r.runUntil(func() bool { return done }); err != nil {
		return nil, err
	}
	if len(agentOv) > 1 {
		agentOv = agentOv[1:]
	}
	return []float64{mean(agentOv), mean(targetOv), mean(e2e)}, nil
}

// fillersRunning reports whether every filler is on its CPU.
func fillersRunning(k *kernel.Kernel, fs []*kernel.Task) bool {
	for _, f := range fs {
		if f.State() != kernel.TaskRunning {
			return false
		}
	}
	return true
}

// kernelRows measures rows 10–12: a system call (sched_yield with nothing
// else to run), and the switch of two threads on one CPU handing it back
// and forth with wake + block, in the minimal-switch class and in CFS:
// per round two switches and four system calls.
func (r *rig) kernelRows(n int) ([]float64, error) {
	k := r.k
	var syscall float64
	done := 0
	if _, err := k.Spawn(kernel.TaskSpec{Name: "yield", Class: kernel.ClassCFS, CPU: helperCPU, Affinity: kernel.SetOf(helperCPU), NUMAHome: -1,
		Program: func(th *kernel.Thread) {
			th.Run(sim.Us(1))
			start := th.Now()
			for i := 0; i < n; i++ {
				th.Yield()
			}
			syscall = (th.Now() - start).NsFloat() / float64(n)
			done++
		}}); err != nil {
		return nil, err
	}
	pingPong := func(class kernel.Class, cpu int, out *float64) error {
		var a, b *kernel.Task
		var err error
		a, err = k.Spawn(kernel.TaskSpec{Name: "ping", Class: class, CPU: cpu, Affinity: kernel.SetOf(cpu), NUMAHome: -1,
			Program: func(th *kernel.Thread) {
				th.Block()
				start := th.Now()
				for i := 0; i < n; i++ {
					th.Wake(b)
					th.Block()
				}
				perRound := (th.Now() - start).NsFloat() / float64(n)
				*out = (perRound - 4*syscall) / 2
				done++
			}})
		if err != nil {
			return err
		}
		b, err = k.Spawn(kernel.TaskSpec{Name: "pong", Class: class, CPU: cpu, Affinity: kernel.SetOf(cpu), NUMAHome: -1,
			Program: func(th *kernel.Thread) {
				th.Wake(a)
				for {
					th.Block()
					th.Wake(a)
				}
			}})
		return err
	}
	var minSwitch, cfsSwitch float64
	if err := r.runUntil(func() bool { return done == 1 }); err != nil {
		return nil, err
	}
	if err := pingPong(kernel.ClassRT, helperCPU+1, &minSwitch); err != nil {
		return nil, err
	}
	if err := pingPong(kernel.ClassCFS, helperCPU+2, &cfsSwitch); err != nil {
		return nil, err
	}
	if err := r.runUntil(func() bool { return done == 3 }); err != nil {
		return nil, err
	}
	return []float64{syscall, minSwitch, cfsSwitch}, nil
}
