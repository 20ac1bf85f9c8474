package agent

import (
	"fmt"

	"github.com/ghostsim/ghostsim/sim/kernel"
)

// The BPF fast path (paper §3.2 "Accelerating scheduling with BPF", §5).
//
// A policy may give its enclave a pick-next-task program: kernel code that
// runs synchronously on a CPU about to go idle with nothing committed for
// it, and may run one task picked from memory it shares with the agent
// (BPF maps the agent mmaps). The agent stays in charge: it decides what
// the program may pick by what it writes to the maps, and hears of every
// task the program runs through the usual messages (ask for TASK_ON_CPU
// with RunSendTaskOnCPU). Any policy can use it:
//
//	func New(s *agent.Setup) (agent.Policy, error) {
//		m, _ := s.Enclave.CreateMap(words)  // the shared region, fixed size
//		ring := agent.NewRing(m, 0, 64)     // rings of gtids are built on words
//		s.Enclave.AttachPNT(&myProgram{ring: ring})
//		...
//	}
//
//	func (p *myProgram) PickNextTask(x *agent.PNTContext) {
//		if g, barrier, ok := p.ring.Pop(x); ok {
//			x.RunGtid(g, barrier, agent.RunSendTaskOnCPU)
//		}
//	}
//
// The agent publishes with Ring.Push and takes a thread back before
// committing it itself with Ring.Revoke: if Revoke fails, the program got
// there first, and TASK_ON_CPU (or, if its entry had gone stale, the
// message that made it stale) follows. package kernel's ghost_bpf.go has
// the hook's rules, errors and costs. Two policies use it with
// [policy] bpf = true: policies/fifocentral (bpf.go, the smallest: one
// ring per CPU for the tasks a round could not place) and policies/search
// (one ring per CCX); sim/kernel's ghost_bpf_test.go has a ten-line
// program of one word per CPU.

// BPF types (package kernel's ghost_bpf.go).
type (
	// BPFMap is a fixed-size array of 64-bit words shared by the agent
	// process and its programs.
	BPFMap = kernel.BPFMap
	// PNTProgram is a pick-next-task program (BPF_GHOST_SCHED_PNT).
	PNTProgram = kernel.PNTProgram
	// PNTContext is what a running program sees: map access, RunGtid,
	// WakeAgent, the clock.
	PNTContext = kernel.PNTContext
)

// MaxMapWords bounds a map's size.
const MaxMapWords = kernel.MaxMapWords

// CreateMap makes a map of words 64-bit words shared by this process's
// agents and programs (at setup).
func (e *Enclave) CreateMap(words int) (*BPFMap, error) { return e.e.CreateMap(words) }

// AttachPNT attaches prog at the enclave's pick-next-task point when the
// agent process starts (at setup; one program per enclave).
func (e *Enclave) AttachPNT(prog PNTProgram) error {
	if e.pnt != nil {
		return fmt.Errorf("agent: a pick-next-task program is already attached (EBUSY)")
	}
	e.pnt = prog
	return nil
}

// MapLoad reads word i of m: a plain load from the mmapped map (the
// line's transfer if a program or another agent wrote it last).
func (a *Agent) MapLoad(m *BPFMap, i int) uint64 { return a.kt.MapLoad(m, i) }

// MapStore writes v to word i of m.
func (a *Agent) MapStore(m *BPFMap, i int, v uint64) { a.kt.MapStore(m, i, v) }

// MapCompareAndSwap sets word i of m to new if it holds old.
func (a *Agent) MapCompareAndSwap(m *BPFMap, i int, old, new uint64) bool {
	return a.kt.MapCompareAndSwap(m, i, old, new)
}

// Ring is a bounded ring of (gtid, task barrier) entries in a map, filled
// by the agent and emptied by a program (the paper's §5 "multi-producer,
// multi-consumer ring buffers"): word base is the head (next to pop),
// base+1 the tail (next free), then size slots. A slot holds
// gtid<<32 | barrier, 0 once taken or revoked; the head and tail only
// grow.
type Ring struct {
	m          *BPFMap
	base, size int
}

// RingWords is the number of map words a ring of size slots takes.
func RingWords(size int) int { return size + 2 }

// NewRing lays a ring of size slots at word base of m.
func NewRing(m *BPFMap, base, size int) *Ring {
	if size <= 0 || base < 0 || base+RingWords(size) > m.Len() {
		panic(fmt.Sprintf("agent: ring of %d slots at word %d does not fit a map of %d words", size, base, m.Len()))
	}
	return &Ring{m: m, base: base, size: size}
}

func ringEntry(g Gtid, barrier uint32) uint64 { return uint64(g)<<32 | uint64(barrier) }

// Push appends (g, barrier) from the agent and returns the slot's
// sequence number for Revoke; ok is false when the ring is full.
func (r *Ring) Push(a *Agent, g Gtid, barrier uint32) (seq uint64, ok bool) {
	head := a.MapLoad(r.m, r.base)
	tail := a.MapLoad(r.m, r.base+1)
	if tail-head >= uint64(r.size) {
		// Full: reclaim revoked slots at the head the program has not
		// yet skipped.
		h := head
		for h < tail && a.MapLoad(r.m, r.base+2+int(h%uint64(r.size))) == 0 {
			h++
		}
		if h == head || !a.MapCompareAndSwap(r.m, r.base, head, h) {
			return 0, false
		}
	}
	a.MapStore(r.m, r.base+2+int(tail%uint64(r.size)), ringEntry(g, barrier))
	a.MapStore(r.m, r.base+1, tail+1)
	return tail, true
}

// Revoke takes back the entry Push returned seq for, if the program has
// not taken it: a cmpxchg of the slot. It reports whether the agent got
// it back.
func (r *Ring) Revoke(a *Agent, seq uint64, g Gtid, barrier uint32) bool {
	return a.MapCompareAndSwap(r.m, r.base+2+int(seq%uint64(r.size)), ringEntry(g, barrier), 0)
}

// Pop takes the oldest live entry from a program, skipping revoked
// slots; ok is false when the ring is empty.
func (r *Ring) Pop(x *PNTContext) (g Gtid, barrier uint32, ok bool) {
	start := x.Load(r.m, r.base)
	tail := x.Load(r.m, r.base+1)
	head := start
	for ; head < tail; head++ {
		slot := r.base + 2 + int(head%uint64(r.size))
		v := x.Load(r.m, slot)
		if v == 0 || !x.CompareAndSwap(r.m, slot, v, 0) {
			continue
		}
		x.Store(r.m, r.base, head+1)
		return Gtid(v >> 32), uint32(v), true
	}
	if head != start {
		x.Store(r.m, r.base, head) // skip the revoked slots for good
	}
	return 0, 0, false
}
