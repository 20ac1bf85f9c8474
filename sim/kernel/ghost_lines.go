package kernel

import "github.com/ghostsim/ghostsim/sim"

// cacheLine tracks one shared cache line of ghOSt's shared memory (a
// status word, a transaction slot) for the cost of reading it: a read
// costs a transfer from the last writer's CPU only if the line changed
// since the reader last read it (MESI-like: the reader's copy stays valid
// until someone writes). Writes themselves are charged by the code that
// makes them (message production, commits).
type cacheLine struct {
	writer  int    // CPU that wrote it last, -1 never
	readers CPUSet // CPUs holding a valid copy since that write
}

func newCacheLine() cacheLine { return cacheLine{writer: -1} }

// write records a write by cpu (-1: no CPU, e.g. initialisation).
func (l *cacheLine) write(cpu int) {
	l.writer = cpu
	l.readers = CPUSet{}
}

// readCost returns what reading the line costs cpu now, and records that
// cpu has a valid copy.
func (k *Kernel) readCost(l *cacheLine, cpu int) sim.Time {
	if l.writer < 0 || l.writer == cpu || l.readers.Has(cpu) {
		l.readers.Add(cpu)
		return 0
	}
	l.readers.Add(cpu)
	return k.m.LineTransfer(l.writer, cpu, -1)
}
