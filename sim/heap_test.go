package sim

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestHeapMatchesSort checks the 4-ary heap against a naive model: pushing
// random entries and popping them must give them in (at, seq) order, also
// when pushes and pops interleave.
func TestHeapMatchesSort(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		var h eventHeap
		var model []entry
		var seq uint64
		var popped, want []entry
		for step := 0; step < 2000; step++ {
			if r.IntN(3) > 0 || len(model) == 0 {
				seq++
				x := entry{at: Time(r.IntN(50)), seq: seq}
				h.push(x)
				model = append(model, x)
				continue
			}
			popped = append(popped, h.pop())
			i := slices.IndexFunc(model, func(e entry) bool { return true })
			for j := range model {
				if model[j].before(&model[i]) {
					i = j
				}
			}
			want = append(want, model[i])
			model = slices.Delete(model, i, i+1)
		}
		for h.len() > 0 {
			popped = append(popped, h.pop())
		}
		slices.SortFunc(model, func(a, b entry) int {
			if a.before(&b) {
				return -1
			}
			return 1
		})
		want = append(want, model...)
		if !slices.Equal(popped, want) {
			t.Fatalf("seed %d: heap order differs from sorted order", seed)
		}
	}
}
