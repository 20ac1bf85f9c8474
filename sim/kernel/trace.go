package kernel

import (
	"github.com/ghostsim/ghostsim/sim"
)

// This file is the kernel's trace plumbing: the recorder a test or tool
// registers, and the call sites' way to reach it at no cost when none is.

// trace records a ghOSt event line when tracing is on.
func (k *Kernel) trace(cpu int, format string, args ...any) {
	if k.traceFn == nil {
		return
	}
	k.traceFn(k.eng.Now(), cpu, format, args)
}

// SetTrace registers f to receive ghOSt trace lines: time, CPU (-1 for
// none) and a formatted description (messages, commits, watchdog).
func (k *Kernel) SetTrace(f func(at sim.Time, cpu int, format string, args []any)) { k.traceFn = f }
