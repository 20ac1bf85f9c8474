package sim

import "fmt"

// KeyError reports an invalid value in a loaded specification, named by the
// dotted TOML key that set it ("machine.ghz", "workload.group[1].threads").
// Spec types in every package return it from their Validate methods; the
// config loader (package configs) turns Key into the file and line that
// set the value, so a user sees "rome256.toml:12: machine.ghz: must be > 0".
type KeyError struct {
	Key string
	Msg string
}

func (e *KeyError) Error() string { return fmt.Sprintf("%s: %s", e.Key, e.Msg) }

// KeyErrorf returns a *KeyError for key with a formatted message.
func KeyErrorf(key, format string, args ...any) *KeyError {
	return &KeyError{Key: key, Msg: fmt.Sprintf(format, args...)}
}
