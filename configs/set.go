package configs

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// applySet applies the n-th (1-based) -set override s, "key=value", to root.
//
// The value is read as a TOML value (`50`, `2.5`, `true`, `"0-7"`,
// `[1, 2]`, `{dist = "exp"}`). If it is not valid TOML, or the key names a
// string field and the value is not a TOML string, the text itself is the
// value. The key may index an element of an existing array, and set a key
// inside it ("workload.group[1].threads"); it may not reach through a map
// into an array.
func applySet(n int, s string, root reflect.Value, meta *Meta) error {
	fail := func(key, format string, args ...any) error {
		return &Error{File: SetFile, Line: n, Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	k, raw, ok := strings.Cut(s, "=")
	if !ok {
		return fail("", "expected key=value, got %q", s)
	}
	elems, err := parseKeyPath(strings.TrimSpace(k))
	if err != nil {
		return fail("", "bad key: %v", err)
	}
	data, err := setValue(strings.TrimSpace(raw), typeAt(root.Type(), elems))
	if err != nil {
		return fail(formatKeyPath(elems), "%v", err)
	}

	last := -1
	for i, e := range elems {
		if e.isIndex {
			last = i
		}
	}
	// Walk to the innermost indexed element; the keys after it are applied
	// as nested tables, like a file's.
	rv, base := root, ""
	for _, e := range elems[:last+1] {
		rv = derefCopy(rv)
		if e.isIndex {
			ek := indexKey(base, e.index)
			switch rv.Kind() {
			case reflect.Slice, reflect.Array:
				if e.index >= rv.Len() {
					return fail(ek, "index out of range: %s has %d elements (-set can change an element, not add one)", base, rv.Len())
				}
				if rv.Kind() == reflect.Slice {
					// Copy, so that a default slice shared elsewhere is untouched.
					ns := reflect.MakeSlice(rv.Type(), rv.Len(), rv.Len())
					reflect.Copy(ns, rv)
					rv.Set(ns)
				}
				rv = rv.Index(e.index)
			default:
				return fail(ek, "%s is not an array", base)
			}
			base = ek
			continue
		}
		ck := joinKey(base, e.name)
		if rv.Kind() != reflect.Struct {
			return fail(ck, "-set cannot index an array inside a map or value of type %s; set the whole array instead", rv.Type())
		}
		fields := structFields(rv.Type())
		f, ok := findField(fields, e.name)
		if !ok {
			msg := "unknown key"
			if s := suggest(e.name, fields); s != "" {
				msg += fmt.Sprintf("; did you mean %s?", joinKey(base, s))
			}
			return fail(ck, "%s", msg)
		}
		fv, ok := fieldByIndex(rv, f.index)
		if !ok {
			return fail(ck, "cannot set field through an unexported embedded pointer")
		}
		rv, base = fv, ck
	}

	d := &decoder{file: SetFile, line: n, meta: meta}
	rest := elems[last+1:]
	if len(rest) == 0 {
		d.value(base, n, data, rv)
	} else {
		for i := len(rest) - 1; i >= 0; i-- {
			data = map[string]any{rest[i].name: data}
		}
		d.assign(base, n, data, rv)
	}
	return d.err()
}

// derefCopy follows pointers from the settable rv, replacing each by a
// pointer to a copy (or a new zero value), and returns the value pointed to.
func derefCopy(rv reflect.Value) reflect.Value {
	for rv.Kind() == reflect.Pointer {
		nv := reflect.New(rv.Type().Elem())
		if !rv.IsNil() {
			nv.Elem().Set(rv.Elem())
		}
		rv.Set(nv)
		rv = nv.Elem()
	}
	return rv
}

// setValue parses a -set value; t is the Go type it goes to, or nil if unknown.
// A value that is not valid TOML is taken as text, unless it starts like a
// TOML string, array or table (a quote, '[' or '{'): then it was meant as
// one and is an error (`name="abc`, an unterminated string). An unsigned
// integer field also takes a decimal above TOML's int64 range (a seed up to
// 2^64-1).
func setValue(raw string, t reflect.Type) (any, error) {
	var doc map[string]any
	_, err := toml.Decode("v = "+raw, &doc)
	if err == nil && len(doc) == 1 {
		if v, ok := doc["v"]; ok {
			if _, isString := v.(string); isString || !wantsString(t) {
				return v, nil
			}
		}
	}
	if isUint(t) && raw != "" && strings.Trim(raw, "0123456789") == "" {
		n, err := strconv.ParseUint(raw, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("value %s out of range for %s (at most %d)", raw, t.Kind(), uint64(math.MaxUint64))
		}
		return n, nil
	}
	if err != nil && raw != "" && strings.ContainsRune(`"'[{`, rune(raw[0])) {
		msg := err.Error()
		var pe toml.ParseError
		if errors.As(err, &pe) {
			msg = pe.Message
		}
		what := "string"
		switch raw[0] {
		case '[':
			what = "array"
		case '{':
			what = "inline table"
		}
		return nil, fmt.Errorf("bad value %s: it starts as a TOML %s but is not valid TOML (%s); quote the whole value for the shell, e.g. -set 'key=\"text\"'", raw, what, msg)
	}
	return raw, nil
}

// isUint reports whether t (through pointers) is an unsigned integer type.
func isUint(t reflect.Type) bool {
	if t == nil {
		return false
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	}
	return false
}

// wantsString reports whether values of type t are written as TOML strings.
func wantsString(t reflect.Type) bool {
	if t == nil {
		return false
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == timeType {
		return false
	}
	return t.Kind() == reflect.String || reflect.PointerTo(t).Implements(textUnmarshalerType)
}

// typeAt returns the Go type at key path elems below t, or nil if the path
// does not lead anywhere.
func typeAt(t reflect.Type, elems []keyElem) reflect.Type {
	for _, e := range elems {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if !e.isIndex && t.Kind() == reflect.Slice && t.Implements(tableListType) {
			t = t.Elem() // key.x of a TableList sets its first element
		}
		switch {
		case e.isIndex && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array):
			t = t.Elem()
		case !e.isIndex && t.Kind() == reflect.Struct:
			f, ok := findField(structFields(t), e.name)
			if !ok {
				return nil
			}
			t = t.FieldByIndex(f.index).Type
		case !e.isIndex && t.Kind() == reflect.Map:
			t = t.Elem()
		default:
			return nil
		}
	}
	return t
}
