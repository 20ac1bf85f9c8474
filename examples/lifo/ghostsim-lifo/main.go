// Command ghostsim-lifo is ghostsim with the example policy registered, as
// a user's module builds its own: every flag, sweep, compare, merge and
// repro of ghostsim, and `-policy example-lifo` on any workload.
//
//	go run ./examples/lifo/ghostsim-lifo -workload rocksdb -policy example-lifo
package main

import (
	"os"

	"github.com/ghostsim/ghostsim/cli"
	_ "github.com/ghostsim/ghostsim/examples/lifo" // registers example-lifo
)

func main() { os.Exit(cli.Main(os.Args[1:])) }
