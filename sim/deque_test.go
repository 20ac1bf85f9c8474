package sim

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDequeMatchesSlice drives a Deque and a plain slice with the same
// random operations (pushes at both ends, pops, removals) across many
// wrap-arounds and growths, and compares their contents after each.
func TestDequeMatchesSlice(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var q Deque[int]
	var ref []int
	contents := func() []int {
		out := []int{}
		for i := range q.Len() {
			out = append(out, q.At(i))
		}
		return out
	}
	for step := range 5000 {
		switch op := r.IntN(10); {
		case op < 4:
			q.PushBack(step)
			ref = append(ref, step)
		case op < 5:
			q.PushFront(step)
			ref = slices.Insert(ref, 0, step)
		case op < 9:
			x, ok := q.PopFront()
			if ok != (len(ref) > 0) || (ok && x != ref[0]) {
				t.Fatalf("step %d: PopFront = %d, %v; want front of %v", step, x, ok, ref)
			}
			if ok {
				ref = ref[1:]
			}
		default:
			if len(ref) > 0 {
				i := r.IntN(len(ref))
				q.RemoveAt(i)
				ref = slices.Delete(ref, i, i+1)
			}
		}
		if diff := cmp.Diff(append([]int{}, ref...), contents()); diff != "" {
			t.Fatalf("step %d: contents (-want +got):\n%s", step, diff)
		}
		if f, ok := q.Front(); ok != (len(ref) > 0) || (ok && f != ref[0]) {
			t.Fatalf("step %d: Front = %d, %v", step, f, ok)
		}
	}
}

// TestDequeDoesNotAllocateOnceGrown: a queue cycling through the same
// size reuses its ring.
func TestDequeDoesNotAllocateOnceGrown(t *testing.T) {
	var q Deque[*int]
	x := new(int)
	for range 100 {
		q.PushBack(x)
	}
	for range 100 {
		q.PopFront()
	}
	allocs := testing.AllocsPerRun(100, func() {
		for range 50 {
			q.PushBack(x)
		}
		q.PushFront(x)
		for range 51 {
			q.PopFront()
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per cycle, want 0", allocs)
	}
}
