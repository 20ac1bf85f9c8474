// Command ghostsim runs one ghostsim experiment: it loads the machine and
// experiment configs, runs the workload on the simulated machine and prints
// a summary, or the result as JSON (docs/DESIGN.md §8, §9).
//
// Run `ghostsim -h` for the flags and `ghostsim -list` for the machines,
// workloads and policies it knows. The command is package cli; this file
// only calls it, as a module with its own policies does.
package main

import (
	"os"

	"github.com/ghostsim/ghostsim/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:])) }
