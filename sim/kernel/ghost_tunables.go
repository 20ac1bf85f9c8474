package kernel

// SetDeliverTicks sets the enclave's deliver_ticks tunable (written by an
// agent through ghostfs, Enclave::SetDeliverTicks in ghost-userspace's
// lib/enclave.h): MSG_CPU_TICK on each tick of a CPU running a ghOSt task
// or its agent.
func (e *Enclave) SetDeliverTicks(on bool) { e.deliverTicks = on }

// TaskVM returns the VM id of the task with gtid g (0 for a task that is
// not a vCPU), as an agent reads a thread's process from /proc: it costs
// a system call. ok is false for an unknown or dead task.
func (a *AgentThread) TaskVM(g Gtid) (vm int, ok bool) {
	a.Charge(a.k.costs.Syscall)
	t := a.k.TaskByGtid(g)
	if t == nil || t.state == TaskDead {
		return 0, false
	}
	return t.vm, true
}
