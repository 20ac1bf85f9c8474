package kernel

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// MaxCPUs is the largest machine a CPUSet can describe.
const MaxCPUs = 512

// CPUSet is a set of CPU ids as a fixed bitmap: a value type that copies
// without allocating and iterates in ascending order, so decisions that
// walk it are deterministic (Linux's struct cpumask).
type CPUSet struct {
	w [MaxCPUs / 64]uint64
}

// SetOf returns the set of the given CPUs.
func SetOf(cpus ...int) CPUSet {
	var s CPUSet
	for _, c := range cpus {
		s.Add(c)
	}
	return s
}

// RangeSet returns the set {lo, ..., hi-1}.
func RangeSet(lo, hi int) CPUSet {
	var s CPUSet
	for c := lo; c < hi; c++ {
		s.Add(c)
	}
	return s
}

// Add puts cpu in the set.
func (s *CPUSet) Add(cpu int) { s.w[cpu>>6] |= 1 << (cpu & 63) }

// Remove takes cpu out of the set.
func (s *CPUSet) Remove(cpu int) { s.w[cpu>>6] &^= 1 << (cpu & 63) }

// Has reports whether cpu is in the set.
func (s CPUSet) Has(cpu int) bool {
	if cpu < 0 || cpu >= MaxCPUs {
		return false
	}
	return s.w[cpu>>6]&(1<<(cpu&63)) != 0
}

// Len returns the number of CPUs in the set.
func (s CPUSet) Len() int {
	n := 0
	for _, w := range s.w {
		n += bits.OnesCount64(w)
	}
	return n
}

// Empty reports whether the set has no CPU.
func (s CPUSet) Empty() bool { return s == CPUSet{} }

// And returns the intersection of s and o.
func (s CPUSet) And(o CPUSet) CPUSet {
	for i := range s.w {
		s.w[i] &= o.w[i]
	}
	return s
}

// Or returns the union of s and o.
func (s CPUSet) Or(o CPUSet) CPUSet {
	for i := range s.w {
		s.w[i] |= o.w[i]
	}
	return s
}

// AndNot returns s without the CPUs of o.
func (s CPUSet) AndNot(o CPUSet) CPUSet {
	for i := range s.w {
		s.w[i] &^= o.w[i]
	}
	return s
}

// Next returns the smallest CPU in the set that is >= from, or -1.
func (s CPUSet) Next(from int) int {
	if from < 0 {
		from = 0
	}
	for i := from >> 6; i < len(s.w); i++ {
		w := s.w[i]
		if i == from>>6 {
			w &= ^uint64(0) << (from & 63)
		}
		if w != 0 {
			return i<<6 + bits.TrailingZeros64(w)
		}
	}
	return -1
}

// First returns the smallest CPU in the set, or -1 if it is empty.
func (s CPUSet) First() int { return s.Next(0) }

// Slice returns the CPUs in ascending order.
func (s CPUSet) Slice() []int {
	var out []int
	for c := s.First(); c >= 0; c = s.Next(c + 1) {
		out = append(out, c)
	}
	return out
}

// String formats the set in Linux cpulist syntax ("0-3,8,10-11").
func (s CPUSet) String() string {
	var b strings.Builder
	for c := s.First(); c >= 0; {
		end := c
		for s.Has(end + 1) {
			end++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if end == c {
			fmt.Fprintf(&b, "%d", c)
		} else {
			fmt.Fprintf(&b, "%d-%d", c, end)
		}
		c = s.Next(end + 1)
	}
	return b.String()
}

// ParseCPUList parses Linux cpulist syntax ("0-7,16,18-19"; "" is the
// empty set) and checks every CPU is below ncpus.
func ParseCPUList(list string, ncpus int) (CPUSet, error) {
	var s CPUSet
	list = strings.TrimSpace(list)
	if list == "" {
		return s, nil
	}
	for _, part := range strings.Split(list, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil {
			return s, fmt.Errorf("bad CPU list %q: %q is not a CPU number", list, lo)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil {
				return s, fmt.Errorf("bad CPU list %q: %q is not a CPU number", list, hi)
			}
		}
		if a < 0 || b < a {
			return s, fmt.Errorf("bad CPU list %q: range %q is empty or negative", list, part)
		}
		if b >= ncpus {
			return s, fmt.Errorf("CPU list %q names CPU %d, but the machine has CPUs 0-%d", list, b, ncpus-1)
		}
		for c := a; c <= b; c++ {
			s.Add(c)
		}
	}
	return s, nil
}
