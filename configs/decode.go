package configs

import (
	"encoding"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ghostsim/ghostsim/sim"
)

var (
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	timeType            = reflect.TypeFor[time.Time]()
	tableListType       = reflect.TypeFor[TableList]()
)

// TableList is implemented by a slice type whose key a config may give
// as an array of tables ([[key]]) or, for a list of one, as a single
// table ([key], or -set key.x=...): the table merges into the first
// element, made if the list is empty. A table given for a list of
// several is an error: its elements are set as key[N].
type TableList interface{ TableList() }

// Defaulter is implemented by (a pointer to) a value that starts from
// defaults rather than from its zero value when a config creates it
// through a nil pointer.
type Defaulter interface{ ConfigDefaults() }

// decoder assigns parsed TOML data (as produced by BurntSushi/toml decoding
// into map[string]any) to Go values, strictly, collecting located errors.
//
// It is used instead of decoding straight into the struct because that would
// lose array indexes in error keys, accept unknown keys and case-insensitive
// matches, wrap negative numbers into uint64, and merge a later file's array
// of tables into the earlier elements instead of replacing them.
type decoder struct {
	file  string
	lines map[string]int // key path -> line; nil: every key is at line
	line  int            // used when lines is nil (-set)
	meta  *Meta
	// recordTables records tables merged into structs and maps in meta, as
	// a file's [headers] do; off for -set, whose tables are implied.
	recordTables bool
	errs         []*Error
}

// at returns the line of key, or the line of its nearest written parent.
func (d *decoder) at(key string, parent int) int {
	if d.lines == nil {
		return d.line
	}
	if l, ok := d.lines[key]; ok {
		return l
	}
	return parent
}

func (d *decoder) errorf(key string, line int, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// err returns the collected errors in line order: nil, one *Error, or
// several joined.
func (d *decoder) err() error {
	switch len(d.errs) {
	case 0:
		return nil
	case 1:
		return d.errs[0]
	}
	sort.SliceStable(d.errs, func(i, j int) bool {
		a, b := d.errs[i], d.errs[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Key < b.Key
	})
	errs := make([]error, len(d.errs))
	for i, e := range d.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// value assigns data, the TOML value at key, to rv, which must be settable.
// parent is the line of the enclosing table, used when key has none.
func (d *decoder) value(key string, parent int, data any, rv reflect.Value) {
	line := d.at(key, parent)
	if key != "" {
		_, isTable := data.(map[string]any)
		if !isTable || d.recordTables {
			d.meta.set[key] = location{d.file, line}
		}
	}
	d.assign(key, line, data, rv)
}

// assign is value without recording key in meta.
func (d *decoder) assign(key string, line int, data any, rv reflect.Value) {
	t := rv.Type()
	if t.Kind() == reflect.Pointer {
		// Write into a copy, leaving anything the default pointed to alone.
		nv := reflect.New(t.Elem())
		if !rv.IsNil() {
			nv.Elem().Set(rv.Elem())
		} else if df, ok := nv.Interface().(Defaulter); ok {
			df.ConfigDefaults()
		}
		d.assign(key, line, data, nv.Elem())
		rv.Set(nv)
		return
	}
	if tm, ok := data.(time.Time); ok && t == timeType {
		rv.Set(reflect.ValueOf(tm))
		return
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) && rv.CanAddr() {
		s, ok := data.(string)
		if !ok {
			d.errorf(key, line, "expected string, got %s", describe(data))
			return
		}
		if err := rv.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			d.errorf(key, line, "%v", err)
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		d.structValue(key, line, data, rv)
	case reflect.Map:
		d.mapValue(key, line, data, rv)
	case reflect.Slice, reflect.Array:
		if tbl, ok := data.(map[string]any); ok && t.Implements(tableListType) {
			d.tableIntoList(key, line, tbl, rv)
			return
		}
		d.arrayValue(key, line, data, rv)
	case reflect.Interface:
		if t.NumMethod() != 0 {
			d.errorf(key, line, "cannot decode into Go type %s", t)
			return
		}
		d.meta.clear(key)
		if data == nil {
			rv.SetZero()
			return
		}
		rv.Set(reflect.ValueOf(data))
	case reflect.String:
		s, ok := data.(string)
		if !ok {
			d.errorf(key, line, "expected string, got %s", describe(data))
			return
		}
		rv.SetString(s)
	case reflect.Bool:
		b, ok := data.(bool)
		if !ok {
			d.errorf(key, line, "expected boolean, got %s", describe(data))
			return
		}
		rv.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := data.(int64)
		if !ok {
			d.errorf(key, line, "expected integer, got %s", describe(data))
			return
		}
		if rv.OverflowInt(n) {
			d.errorf(key, line, "value %d out of range for %s", n, t.Kind())
			return
		}
		rv.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if u, ok := data.(uint64); ok { // from -set, above int64's range
			if rv.OverflowUint(u) {
				d.errorf(key, line, "value %d out of range for %s", u, t.Kind())
				return
			}
			rv.SetUint(u)
			return
		}
		n, ok := data.(int64)
		if !ok {
			d.errorf(key, line, "expected integer, got %s", describe(data))
			return
		}
		if n < 0 {
			d.errorf(key, line, "value %d out of range for %s (must not be negative)", n, t.Kind())
			return
		}
		if rv.OverflowUint(uint64(n)) {
			d.errorf(key, line, "value %d out of range for %s", n, t.Kind())
			return
		}
		rv.SetUint(uint64(n))
	case reflect.Float32, reflect.Float64:
		var f float64
		switch x := data.(type) {
		case float64:
			f = x
		case int64:
			if x > 1<<53 || x < -(1<<53) {
				d.errorf(key, line, "integer %d cannot be represented exactly as a float", x)
				return
			}
			f = float64(x)
		default:
			d.errorf(key, line, "expected float, got %s", describe(data))
			return
		}
		if !math.IsInf(f, 0) && rv.OverflowFloat(f) {
			d.errorf(key, line, "value %v out of range for %s", f, t.Kind())
			return
		}
		rv.SetFloat(f)
	default:
		d.errorf(key, line, "cannot decode into Go type %s", t)
	}
}

// structValue merges the TOML table data into the struct rv.
func (d *decoder) structValue(key string, line int, data any, rv reflect.Value) {
	tbl, ok := data.(map[string]any)
	if !ok {
		d.errorf(key, line, "expected table, got %s", describe(data))
		return
	}
	fields := structFields(rv.Type())
	for _, name := range slices.Sorted(maps.Keys(tbl)) {
		ck := joinKey(key, name)
		f, ok := findField(fields, name)
		if _, isTable := tbl[name].(map[string]any); !ok && isTable {
			if rest, has := tablesField(rv); has {
				// A table the struct has no field for: into its
				// ",tables" map, under its name.
				d.mapValue(key, line, map[string]any{name: tbl[name]}, rest)
				continue
			}
		}
		if !ok {
			msg := "unknown key"
			if s := suggest(name, fields); s != "" {
				msg += fmt.Sprintf("; did you mean %s?", joinKey(key, s))
			}
			d.errorf(ck, d.at(ck, line), "%s", msg)
			continue
		}
		fv, ok := fieldByIndex(rv, f.index)
		if !ok {
			d.errorf(ck, d.at(ck, line), "cannot set field through an unexported embedded pointer")
			continue
		}
		d.value(ck, line, tbl[name], fv)
	}
}

// mapValue merges the TOML table data into the map rv, key by key, in a new
// map so that a default map shared with other values is not changed.
func (d *decoder) mapValue(key string, line int, data any, rv reflect.Value) {
	t := rv.Type()
	if t.Key().Kind() != reflect.String {
		d.errorf(key, line, "cannot decode into Go type %s (map key must be a string)", t)
		return
	}
	tbl, ok := data.(map[string]any)
	if !ok {
		d.errorf(key, line, "expected table, got %s", describe(data))
		return
	}
	nm := reflect.MakeMapWithSize(t, rv.Len()+len(tbl))
	iter := rv.MapRange()
	for iter.Next() {
		nm.SetMapIndex(iter.Key(), iter.Value())
	}
	for _, name := range slices.Sorted(maps.Keys(tbl)) {
		mk := reflect.ValueOf(name).Convert(t.Key())
		ev := reflect.New(t.Elem()).Elem()
		if old := nm.MapIndex(mk); old.IsValid() {
			ev.Set(old)
		}
		d.value(joinKey(key, name), line, tbl[name], ev)
		nm.SetMapIndex(mk, ev)
	}
	rv.Set(nm)
}

// tableIntoList merges the TOML table tbl into the first element of the
// TableList rv (see TableList).
func (d *decoder) tableIntoList(key string, line int, tbl map[string]any, rv reflect.Value) {
	if rv.Len() > 1 {
		d.errorf(key, line, "%s is a list of %d tables ([[%s]]): set one of them as %s[N]", key, rv.Len(), key, key)
		return
	}
	ns := reflect.MakeSlice(rv.Type(), 1, 1)
	if rv.Len() == 1 {
		ns.Index(0).Set(rv.Index(0))
	}
	d.assign(key, line, tbl, ns.Index(0))
	rv.Set(ns)
}

// arrayValue replaces the slice or array rv by the TOML array data, each
// element starting from its zero value.
func (d *decoder) arrayValue(key string, line int, data any, rv reflect.Value) {
	var elems []any
	switch x := data.(type) {
	case []any:
		elems = x
	case []map[string]any:
		elems = make([]any, len(x))
		for i, e := range x {
			elems[i] = e
		}
	default:
		d.errorf(key, line, "expected array, got %s", describe(data))
		return
	}
	t := rv.Type()
	var nv reflect.Value
	if t.Kind() == reflect.Array {
		if len(elems) != t.Len() {
			d.errorf(key, line, "expected an array of %d elements, got %d", t.Len(), len(elems))
			return
		}
		nv = reflect.New(t).Elem()
	} else {
		nv = reflect.MakeSlice(t, len(elems), len(elems))
	}
	d.meta.clear(key)
	for i, e := range elems {
		d.value(indexKey(key, i), line, e, nv.Index(i))
	}
	rv.Set(nv)
}

// field is a TOML-visible struct field.
type field struct {
	name  string // TOML key
	index []int  // reflect index path, through embedded structs
}

// tablesField returns the field of the struct rv tagged `toml:",tables"`,
// if it has one: a map from string that takes every subtable the struct
// has no field for, keyed by its name (a policy's own options,
// [policy.NAME], beside [policy]'s own keys). Its own name is no key.
func tablesField(rv reflect.Value) (reflect.Value, bool) {
	t := rv.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if _, opt, _ := strings.Cut(f.Tag.Get("toml"), ","); opt == "tables" && f.IsExported() && f.Type.Kind() == reflect.Map {
			return rv.Field(i), true
		}
	}
	return reflect.Value{}, false
}

// DecodeTable decodes data, a table parsed from TOML (as a ",tables"
// field holds it), into v, a pointer to a struct, as strictly as a config
// file: an unknown key or a value of the wrong type is a *sim.KeyError
// naming the key below key ("policy.search.hold_us"), for Meta.Wrap to
// locate; several are joined. Fields the table leaves out keep their
// values.
func DecodeTable(key string, data map[string]any, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("configs.DecodeTable: want a pointer to a struct, got %T", v)
	}
	d := &decoder{meta: newMeta()}
	d.structValue(key, 0, data, rv.Elem())
	errs := make([]error, len(d.errs))
	for i, e := range d.errs {
		errs[i] = sim.KeyErrorf(e.Key, "%s", e.Msg)
	}
	return errors.Join(errs...)
}

// structFields lists the fields of struct type t that TOML keys map to: the
// name from the `toml` tag, else the Go name; `toml:"-"` and unexported fields
// are skipped, and untagged embedded structs contribute their fields, outer
// names winning, as BurntSushi/toml's encoder treats them.
func structFields(t reflect.Type) []field {
	var out []field
	seen := make(map[string]bool)
	type level struct {
		t     reflect.Type
		index []int
	}
	todo := []level{{t, nil}}
	for depth := 0; len(todo) > 0 && depth < 16; depth++ {
		var next []level
		var added []string
		for _, lv := range todo {
			for i := 0; i < lv.t.NumField(); i++ {
				f := lv.t.Field(i)
				tag := f.Tag.Get("toml")
				if tag == "-" {
					continue
				}
				name, opt, _ := strings.Cut(tag, ",")
				if opt == "tables" {
					continue // tablesField
				}
				index := append(append([]int(nil), lv.index...), i)
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
					if !f.IsExported() && f.Type.Kind() == reflect.Pointer {
						continue
					}
					next = append(next, level{ft, index})
					continue
				}
				if !f.IsExported() {
					continue
				}
				if name == "" {
					name = f.Name
				}
				if seen[name] {
					continue
				}
				out = append(out, field{name: name, index: index})
				added = append(added, name)
			}
		}
		for _, n := range added {
			seen[n] = true
		}
		todo = next
	}
	return out
}

func findField(fields []field, name string) (field, bool) {
	for _, f := range fields {
		if f.name == name {
			return f, true
		}
	}
	return field{}, false
}

// fieldByIndex returns the settable field at index within the struct rv,
// allocating (copies of) embedded struct pointers on the way.
func fieldByIndex(rv reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && rv.Kind() == reflect.Pointer {
			if !rv.CanSet() {
				return reflect.Value{}, false
			}
			nv := reflect.New(rv.Type().Elem())
			if !rv.IsNil() {
				nv.Elem().Set(rv.Elem())
			}
			rv.Set(nv)
			rv = nv.Elem()
		}
		rv = rv.Field(x)
	}
	return rv, rv.CanSet()
}

// describe names a TOML value's type and, for scalars, the value, for errors.
func describe(data any) string {
	switch x := data.(type) {
	case string:
		if len(x) > 40 {
			x = x[:37] + "..."
		}
		return "string " + strconv.Quote(x)
	case int64:
		return fmt.Sprintf("integer %d", x)
	case float64:
		return "float " + strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return fmt.Sprintf("boolean %t", x)
	case time.Time:
		return "datetime"
	case []any, []map[string]any:
		return "array"
	case map[string]any:
		return "table"
	case nil:
		return "nothing"
	}
	return fmt.Sprintf("%T", data)
}

// suggest returns the field name closest to name if it is a likely typo:
// within a small edit distance, ignoring case.
func suggest(name string, fields []field) string {
	best, bestDist := "", -1
	ln := strings.ToLower(name)
	for _, f := range fields {
		dist := editDistance(ln, strings.ToLower(f.name))
		if bestDist < 0 || dist < bestDist {
			best, bestDist = f.name, dist
		}
	}
	limit := 1
	switch n := len(name); {
	case n >= 10:
		limit = 3
	case n >= 5:
		limit = 2
	}
	if bestDist < 0 || bestDist > limit {
		return ""
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and transpositions of adjacent bytes.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		if a == b {
			return 0
		}
		return 64
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
