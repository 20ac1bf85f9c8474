package cli_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/ghostsim/ghostsim/cli"
)

// Run is the whole command in-process: its arguments, where its output
// goes, and the exit code it would return. Here a 20 ms run of the
// synthetic request server under CFS, read back from its JSON line.
func ExampleRun() {
	var out bytes.Buffer
	code := cli.Run([]string{"-config", "skylake112", "-config", "synthetic-requests.toml",
		"-workload", "synthetic", "-duration", "20ms", "-json", "-q"}, &out, io.Discard)
	var r struct {
		Workload, Policy string
		Latency          map[string]struct{ Count int } `json:"latency_ns"`
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(code, r.Workload, r.Policy, r.Latency["all"].Count)
	// Output: 0 synthetic none 2035
}

// Main is a program's main: a user's module builds its own ghostsim, with
// every flag, sweep, compare, merge and repro, around the policies it
// registers by importing their packages (examples/lifo/ghostsim-lifo).
func ExampleMain() {
	// import _ "example.com/mypolicies/mypolicy" // registers my-fifo
	os.Exit(cli.Main(os.Args[1:]))
}
