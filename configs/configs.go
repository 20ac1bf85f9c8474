// Package configs loads ghostsim's TOML configuration strictly.
//
// Machine files (topology and costs) and experiment files (workload, policy,
// run length, seed) are decoded, in order, into one caller-owned spec struct
// that the caller has pre-filled with defaults; `-set key=value` overrides
// come last. Every *.toml file in this directory is embedded in the binary,
// so the paper's machines load by bare name from any directory; a path that
// exists on disk wins over an embedded name (docs/DESIGN.md §7).
//
// Decoding is strict: an unknown key (keys match `toml` tags, or else Go
// field names, exactly), a value of the wrong type, a float for an integer, an
// integer that does not fit its field (including a negative one for an
// unsigned field), a TOML syntax error or a missing file is an *Error naming
// the file (or "-set #N"), the line and the key. An integer is accepted for a
// float field if it converts exactly. Validation
// errors that spec types report as *sim.KeyError are located the same way by
// [Meta.Wrap].
//
// A struct field tagged `toml:",tables"`, a map, takes the subtables its
// struct has no field for, by name, as parsed ([policy.search] beside
// [policy]'s own keys); DecodeTable later decodes one as strictly, for
// whoever owns it.
//
// Keys are written as dotted TOML keys whose array-of-tables elements carry a
// 0-based index: "machine.ghz", "workload.group[1].threads",
// "workload.group[0].arrival.rate_per_s". A key segment that is not a bare
// TOML key is double-quoted: `costs."a.b"`.
//
// Merging follows TOML's shape: a later file's keys replace earlier values,
// keys it does not mention keep theirs, tables and maps merge key by key, and
// an array (including an array of tables) replaces the whole earlier array,
// starting each new element from its zero value.
//
// The package leaves out includes, environment variables and sweeps; those
// belong to the command (package cli).
package configs

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/ghostsim/ghostsim/sim"
)

// embedded holds the configs shipped in the binary: the paper's machines and
// example experiments.
//
//go:embed *.toml
var embedded embed.FS

// SetFile is the pseudo file name of -set overrides in Meta and Error.
const SetFile = "-set"

// DefaultFile is the pseudo file name that Meta.Wrap gives to an invalid value
// that no file or -set wrote, i.e. a default.
const DefaultFile = "(default)"

// Error is a config error located at a file, line and key.
type Error struct {
	File string // path as given, bare embedded name, SetFile or DefaultFile
	Line int    // 1-based line; for SetFile the 1-based position among -set flags; 0 if unknown
	Key  string // key path ("workload.group[1].threads"); may be empty
	Msg  string
}

// Error formats the error as "FILE:LINE: KEY: MSG", leaving out the line when
// it is 0 and the key when it is empty. A -set error reads "-set #N: KEY: MSG".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	switch {
	case e.Line > 0 && e.File == SetFile:
		fmt.Fprintf(&b, " #%d", e.Line)
	case e.Line > 0:
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// location is where a key was set.
type location struct {
	file string
	line int
}

// Meta remembers where each key was last set. Load returns it; it is not
// modified afterwards.
type Meta struct {
	files []string            // sources in load order, as shown in errors
	set   map[string]location // key path -> last setter
}

func newMeta() *Meta { return &Meta{set: make(map[string]location)} }

// Where returns the file and line that last set key ("rome256.toml", 12), or
// ("", 0) if no file or -set did. Tables and array elements count as set by
// their header. For a -set override file is SetFile and line is the 1-based
// position of the flag.
func (m *Meta) Where(key string) (file string, line int) {
	if m == nil {
		return "", 0
	}
	loc, ok := m.set[key]
	if !ok {
		return "", 0
	}
	return loc.file, loc.line
}

// Files returns the config sources in the order they were decoded: paths on
// disk as given, embedded files by bare name.
func (m *Meta) Files() []string {
	if m == nil {
		return nil
	}
	return append([]string(nil), m.files...)
}

// Wrap turns each *sim.KeyError found in err (by errors.As; each member of an
// errors.Join separately) into an *Error carrying the file and line that set
// its key. A key that was never set but lies inside an array element that a
// file or -set wrote is located at that element (or array); any other unset
// key is reported as DefaultFile, line 0. Other errors pass through unchanged,
// and Wrap(nil) is nil.
func (m *Meta) Wrap(err error) error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs := j.Unwrap()
		out := make([]error, 0, len(errs))
		changed := false
		for _, e := range errs {
			w := m.Wrap(e)
			changed = changed || w != e
			out = append(out, w)
		}
		if !changed {
			return err
		}
		return errors.Join(out...)
	}
	var ke *sim.KeyError
	if !errors.As(err, &ke) {
		return err
	}
	file, line := m.locate(ke.Key)
	return &Error{File: file, Line: line, Key: ke.Key, Msg: ke.Msg}
}

// locate implements Wrap's lookup of key.
func (m *Meta) locate(key string) (file string, line int) {
	if f, l := m.Where(key); f != "" {
		return f, l
	}
	elems, err := parseKeyPath(key)
	if err == nil {
		last := -1
		for i, e := range elems {
			if e.isIndex {
				last = i
			}
		}
		// Only ancestors at or above the innermost array element: their
		// values were created by whoever wrote the element, not by defaults.
		for n := last + 1; n > 0; n-- {
			if f, l := m.Where(formatKeyPath(elems[:n])); f != "" {
				return f, l
			}
		}
	}
	return DefaultFile, 0
}

// clear forgets every key strictly below key, for an array or value that is
// replaced as a whole.
func (m *Meta) clear(key string) {
	for k := range m.set {
		if len(k) > len(key) && strings.HasPrefix(k, key) && (k[len(key)] == '[' || k[len(key)] == '.') {
			delete(m.set, k)
		}
	}
}

// Load decodes the config files named in names, in order, and then the -set
// overrides ("key=value"), into v, a pointer to a struct that the caller has
// pre-filled with defaults. Each name is a path on disk if one exists,
// otherwise the bare name of an embedded file (with or without ".toml").
// Decoding is strict (see the package doc). A -set value that is not valid
// TOML, or that is not a TOML string while its field is a string, is taken as
// a string, so `enclave.cpus=0-7` works. A -set key may index an existing
// array element: `workload.group[1].threads=4`.
//
// Load reports every problem of the first source that has any, each as an
// *Error (several are joined with errors.Join, in line order). On error v may
// be partly updated. Load does not validate values; pass the spec's Validate
// error through Meta.Wrap for that.
func Load(v any, names []string, sets []string) (*Meta, error) {
	return load(embedded, v, names, sets)
}

// load is Load with the embedded files taken from efs, for tests.
func load(efs fs.FS, v any, names []string, sets []string) (*Meta, error) {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("configs: Load needs a non-nil pointer to a struct, got %T", v)
	}
	root := rv.Elem()
	meta := newMeta()
	for _, name := range names {
		file, data, err := open(efs, name)
		if err != nil {
			return meta, err
		}
		meta.files = append(meta.files, file)
		if err := decodeFile(file, data, root, meta); err != nil {
			return meta, err
		}
	}
	for i, s := range sets {
		if err := applySet(i+1, s, root, meta); err != nil {
			return meta, err
		}
	}
	return meta, nil
}

// EmbeddedPrefix before a name ("embedded:snap") loads the embedded file
// of that name whatever the disk holds: for a caller that must run the
// shipped configs, such as the paper's reproductions, from any directory
// (a directory named snap would otherwise stop -config snap).
const EmbeddedPrefix = "embedded:"

// open finds name on disk, else among the embedded files, and returns the
// name to show in errors and the file's contents; a name with
// EmbeddedPrefix only among the embedded files.
func open(efs fs.FS, name string) (file string, data []byte, err error) {
	if rest, ok := strings.CutPrefix(name, EmbeddedPrefix); ok {
		if bare, ok := embeddedName(rest); ok {
			if data, err := fs.ReadFile(efs, bare); err == nil {
				return bare, data, nil
			}
		}
		return name, nil, &Error{File: name, Msg: fmt.Sprintf("no embedded config of that name (embedded: %s)", strings.Join(names(efs), ", "))}
	}
	fi, statErr := os.Stat(name)
	if statErr == nil {
		if fi.IsDir() {
			return name, nil, &Error{File: name, Msg: "is a directory, not a config file"}
		}
		data, err := readLimited(name, MaxFileBytes)
		if err != nil {
			return name, nil, &Error{File: name, Msg: pathErrMsg(err)}
		}
		return name, data, nil
	}
	if bare, ok := embeddedName(name); ok {
		if data, err := fs.ReadFile(efs, bare); err == nil {
			return bare, data, nil
		}
	}
	if name == "" {
		name = `""`
	}
	msg := "no such file"
	if !errors.Is(statErr, fs.ErrNotExist) {
		msg = pathErrMsg(statErr)
	}
	msg += fmt.Sprintf(", and no embedded config of that name (embedded: %s)", strings.Join(names(efs), ", "))
	return name, nil, &Error{File: name, Msg: msg}
}

// MaxFileBytes is the largest config file Load reads: the paper's machine
// files are about 5 KB, so 1 MiB leaves room for any hand-written config
// while a device or pipe that never ends (-config /dev/zero) fails at once
// instead of filling memory.
const MaxFileBytes = 1 << 20

// readLimited reads the file at name, failing once it holds more than max
// bytes (it never reads more than max+1, so an endless file cannot hang).
func readLimited(name string, max int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("larger than %d bytes (%d MiB), the limit for a config file", max, max>>20)
	}
	return data, nil
}

// pathErrMsg returns err's message without the path that Error already shows.
func pathErrMsg(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// embeddedName returns the embedded file name for a bare name, adding
// ".toml" if missing; ok is false for anything that looks like a path.
func embeddedName(name string) (string, bool) {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return "", false
	}
	if !strings.HasSuffix(name, ".toml") {
		name += ".toml"
	}
	return name, fs.ValidPath(name)
}

// Names returns the embedded config file names, sorted ("haswell72.toml", ...).
func Names() []string { return names(embedded) }

func names(efs fs.FS) []string {
	ms, err := fs.Glob(efs, "*.toml")
	if err != nil {
		return nil
	}
	sort.Strings(ms)
	return ms
}

// ReadEmbedded returns an embedded file's bytes by bare name, with or without
// ".toml".
func ReadEmbedded(name string) ([]byte, error) { return readEmbedded(embedded, name) }

func readEmbedded(efs fs.FS, name string) ([]byte, error) {
	bare, ok := embeddedName(name)
	if ok {
		if data, err := fs.ReadFile(efs, bare); err == nil {
			return data, nil
		}
	}
	return nil, &Error{File: name, Msg: fmt.Sprintf("no embedded config of that name (embedded: %s)", strings.Join(names(efs), ", "))}
}

// Canonical returns a canonical TOML encoding of v, the fully resolved config,
// for hashing: the same resolved values always give the same bytes, whatever
// files and -set produced them. Struct fields come in declaration order and
// map keys sorted; nil pointers, maps and slices are left out.
func Canonical(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := toml.NewEncoder(&buf)
	enc.Indent = ""
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("configs: canonical encoding: %w", err)
	}
	return buf.Bytes(), nil
}

// decodeFile decodes one TOML source into root, recording keys in meta.
func decodeFile(file string, data []byte, root reflect.Value, meta *Meta) error {
	src := string(data)
	var tbl map[string]any
	if _, err := toml.Decode(src, &tbl); err != nil {
		return syntaxError(file, src, err)
	}
	d := &decoder{file: file, lines: keyLines(src), meta: meta, recordTables: true}
	d.value("", 0, tbl, root)
	return d.err()
}

// syntaxError converts an error from the TOML parser into an *Error.
func syntaxError(file, src string, err error) error {
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		return &Error{File: file, Msg: strings.TrimPrefix(err.Error(), "toml: ")}
	}
	line := pe.Position.Line
	key := ""
	if pe.LastKey != "" {
		key = resolveLastKey(src, line, pe.LastKey)
	}
	return &Error{File: file, Line: line, Key: key, Msg: pe.Message}
}

// resolveLastKey turns the parser's last key ("workload.group.threads"), which
// has no array indexes, into a key path by scanning the lines before line.
func resolveLastKey(src string, line int, lastKey string) string {
	elems, err := parseKeyPath(lastKey)
	if err != nil {
		return ""
	}
	names := make([]string, 0, len(elems))
	for _, e := range elems {
		if e.isIndex {
			return ""
		}
		names = append(names, e.name)
	}
	end := 0
	for l := 1; l < line && end < len(src); l++ {
		i := strings.IndexByte(src[end:], '\n')
		if i < 0 {
			end = len(src)
			break
		}
		end += i + 1
	}
	s := newPosScanner(src[:end])
	s.document()
	return s.resolve(names)
}
