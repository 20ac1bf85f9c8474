// Command ghostsim runs one ghostsim experiment: it loads the machine and
// experiment configs, runs the workload on the simulated machine and prints
// a summary, or the result as JSON (docs/DESIGN.md §8, §9).
//
// Run `ghostsim -h` for the flags and `ghostsim -list` for the machines,
// workloads and policies it knows. The command holds no model logic: it
// parses flags, calls package experiment and formats what comes back.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
