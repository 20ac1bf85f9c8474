package agent_test

import (
	"fmt"

	"github.com/ghostsim/ghostsim/sim/agent"
)

// A runqueue of least elapsed runtime first, as the search policy keeps:
// equal runtimes leave in arrival order, and a thread skipped for a round
// goes back to its place.
func ExampleHeap() {
	var rq agent.Heap[string]
	rq.Push("a", 300) // runtimes in µs
	rq.Push("b", 100)
	rq.Push("c", 100)
	b, _ := rq.Pop() // no CPU for b this round: put it back where it was
	rq.Push("d", 100)
	rq.PushItem(b)
	for rq.Len() > 0 {
		it, _ := rq.Pop()
		fmt.Print(it.Value, " ")
	}
	fmt.Println()
	// Output: b c d a
}
