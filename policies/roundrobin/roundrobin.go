// Package roundrobin is the round-robin policy of the paper's Fig 5
// ("round-robin"): one global agent keeps every thread in one FIFO and, as
// soon as CPUs are idle, schedules as many threads as there are idle CPUs
// in one group commit. It is the centralized FIFO (package fifocentral)
// with strict FIFO order: a thread always goes to the back.
package roundrobin

import (
	"github.com/ghostsim/ghostsim/policies/fifocentral"
	"github.com/ghostsim/ghostsim/sim/agent"
)

func init() {
	agent.Register("round-robin", "the Fig 5 policy: one FIFO of all threads, a group commit per round of idle CPUs", New)
}

// New builds the policy.
func New(s *agent.Setup) (agent.Policy, error) {
	return fifocentral.NewWith(s, fifocentral.Options{StrictFIFO: true})
}
