package configs

import (
	"strings"

	"github.com/BurntSushi/toml"
)

// Machine is an embedded machine file: its bare name, as -config takes it
// ("rome256"), and its [machine] description.
type Machine struct {
	Name        string
	Description string
}

// Embedded sorts the embedded config files into machine files (those with
// a [machine] name) and others (example experiments, by file name).
func Embedded() (machines []Machine, others []string) {
	for _, file := range Names() {
		data, err := ReadEmbedded(file)
		if err != nil {
			continue
		}
		var head struct {
			Machine struct {
				Name        string `toml:"name"`
				Description string `toml:"description"`
			} `toml:"machine"`
		}
		// Lenient decode: only the [machine] header is wanted here; Load
		// checks the whole file when it is used.
		if _, err := toml.Decode(string(data), &head); err != nil || head.Machine.Name == "" {
			others = append(others, file)
			continue
		}
		machines = append(machines, Machine{
			Name:        strings.TrimSuffix(file, ".toml"),
			Description: head.Machine.Description,
		})
	}
	return machines, others
}
