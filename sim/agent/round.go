package agent

// Round is one scheduling round of a centralized agent: the transactions
// it opens, each running a task on a CPU, committed together with one
// ioctl (the group commit of upstream's GlobalSchedule, paper Fig 4).
// Keep one per policy: Start empties it without allocating.
type Round[T TaskPtr] struct {
	reqs  []*RunRequest
	tasks []T
	cpus  CPUSet
}

// Start empties the round.
func (r *Round[T]) Start() {
	r.reqs, r.tasks, r.cpus = r.reqs[:0], r.tasks[:0], CPUSet{}
}

// Len returns the number of transactions opened.
func (r *Round[T]) Len() int { return len(r.reqs) }

// Has reports whether the round opened a transaction for cpu.
func (r *Round[T]) Has(cpu int) bool { return r.cpus.Has(cpu) }

// Run opens a transaction that runs t on cpu, at the barrier of the last
// message the agent read about t (a message since makes it fail
// TARGET_STALE), committed inline by Commit (COMMIT_AT_TXN_COMMIT).
func (r *Round[T]) Run(a *Agent, cpu int, t T) {
	b := t.base()
	req := a.RunRequest(cpu)
	req.Open(RunRequestOptions{Target: b.Gtid, TargetBarrier: b.Seqnum, CommitFlags: CommitAtTxnCommit})
	r.reqs, r.tasks = append(r.reqs, req), append(r.tasks, t)
	r.cpus.Add(cpu)
}

// Commit commits the round's transactions with one ioctl and reports each
// outcome, in the order they were opened, to done(t, cpu, ok) with ok for
// TXN_COMPLETE; a failure RoutineFailure does not list panics with
// policy's name (Agent.CommitGroup). It returns the number of
// transactions, and commits nothing for an empty round.
func (r *Round[T]) Commit(a *Agent, policy string, done func(t T, cpu int, ok bool)) int {
	a.CommitGroup(policy, r.reqs, func(i int, ok bool) { done(r.tasks[i], r.reqs[i].CPU(), ok) })
	return len(r.reqs)
}

// RunLocal commits t on agent a's own CPU, at the barrier of the last
// message a read about t and at the agent barrier barrier (read before
// draining: a message since makes the commit fail AGENT_STALE instead of
// sleeping through it, docs/GHOST-SEMANTICS.md §2.5): the local blocking
// commit of a per-CPU policy. On success the agent sleeps until its CPU
// needs it again and RunLocal reports true; a routine failure reports
// false, any other panics with policy's name.
func (a *Agent) RunLocal(policy string, t *Task, barrier uint32) bool {
	req := a.RunRequest(a.cpu.ID)
	req.Open(RunRequestOptions{Target: t.Gtid, TargetBarrier: t.Seqnum, AgentBarrier: barrier, CommitFlags: CommitAtTxnCommit})
	if req.Commit() {
		return true
	}
	if st := req.Last().State; !RoutineFailure(st) {
		panic(policy + ": commit failed with " + st.String())
	}
	return false
}
