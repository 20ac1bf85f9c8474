package kernel

import "github.com/ghostsim/ghostsim/sim"

// LongestRunnableWait returns how long the ghOSt task that has waited
// longest has been runnable without running, now, over every live
// enclave (0 when none waits): what the watchdog (check_runnable_timeout)
// compares with runnable_timeout, without its per-tick cadence. A policy
// that loses track of a task shows here as a wait as long as the run.
func (k *Kernel) LongestRunnableWait() sim.Time {
	now := k.eng.Now()
	var longest sim.Time
	for _, e := range k.enclaves {
		if e.dying {
			continue
		}
		for _, t := range e.tasks {
			// A runnable task's lastRunnableAt is when it became
			// runnable; 0 means since the start of the run.
			if t.state != TaskRunnable || t.g == nil {
				continue
			}
			longest = max(longest, now-t.g.lastRunnableAt)
		}
	}
	return longest
}
