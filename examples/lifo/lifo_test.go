package lifo_test

import (
	"testing"
	"time"

	_ "github.com/ghostsim/ghostsim/examples/lifo" // registers example-lifo
	"github.com/ghostsim/ghostsim/ghosttest"
)

// TestLIFO checks the example policy as a user's CI would: on every
// scenario of the test kit, with the kernel's invariant checker on, it
// loses nothing; on the request server its p99 stays below 1 ms and does
// not regress against the stored baseline (refresh: go test -update).
func TestLIFO(t *testing.T) {
	for _, sc := range ghosttest.Scenarios() {
		t.Run(sc.Name, func(t *testing.T) {
			r := ghosttest.Run(t, "example-lifo", sc.Name)
			r.RequireNoLostTasks()
			if sc.Name == "requests" {
				r.RequireP99Below("all", time.Millisecond)
				ghosttest.CompareWithBaseline(t, r, "testdata/requests.json", "")
			}
		})
	}
}
