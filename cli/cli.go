// Package cli is the ghostsim command as a library: Main takes the
// command's arguments and returns its exit code, so a module with
// policies of its own builds its own ghostsim with every flag, sweep,
// `compare`, `merge` and `repro` for them in a few lines:
//
//	package main
//
//	import (
//		"os"
//
//		"github.com/ghostsim/ghostsim/cli"
//		_ "example.com/mypolicies/lifo" // registers "lifo-central" (agent.Register)
//	)
//
//	func main() { os.Exit(cli.Main(os.Args[1:])) }
//
// The built-in policies and workloads come with the package. The command
// holds no model logic: it parses flags, calls package experiment and
// formats what comes back (docs/DESIGN.md §8, §9).
package cli

import (
	"io"
	"os"
)

// Main runs the ghostsim command with args (without the program name),
// writing to the process's stdout and stderr, and returns the exit code:
// 0 on success, 1 when a run failed (or a repro claim failed), 2 for bad
// flags, configs or names. `ghostsim -h` explains every flag.
func Main(args []string) int { return Run(args, os.Stdout, os.Stderr) }

// Run is Main writing to the given stdout and stderr, for tests and for
// programs that capture the output.
func Run(args []string, stdout, stderr io.Writer) int { return run(args, stdout, stderr) }
