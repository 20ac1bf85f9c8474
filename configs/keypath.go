package configs

import (
	"fmt"
	"strconv"
	"strings"
)

// keyElem is one element of a key path: a table key or an array index.
type keyElem struct {
	name    string
	index   int
	isIndex bool
}

// isBareKey reports whether name can be written as a bare TOML key.
func isBareKey(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isBareKeyByte(name[i]) {
			return false
		}
	}
	return true
}

func isBareKeyByte(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// joinKey returns the key path of table key name under parent ("" for the
// root), quoting name if it is not a bare key.
func joinKey(parent, name string) string {
	if !isBareKey(name) {
		name = strconv.Quote(name)
	}
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// indexKey returns the key path of element i of the array at parent.
func indexKey(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

// formatKeyPath is the inverse of parseKeyPath.
func formatKeyPath(elems []keyElem) string {
	var k string
	for _, e := range elems {
		if e.isIndex {
			k = indexKey(k, e.index)
		} else {
			k = joinKey(k, e.name)
		}
	}
	return k
}

// parseKeyPath parses a key path: dotted keys, each bare, "double-quoted" or
// 'single-quoted', each followed by any number of [N] indexes.
func parseKeyPath(s string) ([]keyElem, error) {
	var elems []keyElem
	i := 0
	skip := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
	}
	for {
		skip()
		if i >= len(s) {
			return nil, fmt.Errorf("missing key name at end of %q", s)
		}
		var name string
		switch c := s[i]; {
		case c == '"':
			q, err := strconv.QuotedPrefix(s[i:])
			if err != nil {
				return nil, fmt.Errorf("bad quoted key in %q", s)
			}
			name, err = strconv.Unquote(q)
			if err != nil {
				return nil, fmt.Errorf("bad quoted key in %q", s)
			}
			i += len(q)
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated quoted key in %q", s)
			}
			name = s[i+1 : i+1+j]
			i += j + 2
		case isBareKeyByte(c):
			j := i
			for j < len(s) && isBareKeyByte(s[j]) {
				j++
			}
			name = s[i:j]
			i = j
		default:
			return nil, fmt.Errorf("unexpected %q in key %q", c, s)
		}
		elems = append(elems, keyElem{name: name})
		skip()
		for i < len(s) && s[i] == '[' {
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("unterminated index in key %q", s)
			}
			n, err := strconv.Atoi(strings.TrimSpace(s[i+1 : i+j]))
			if err != nil || n < 0 {
				return nil, fmt.Errorf("bad index %q in key %q", s[i:i+j+1], s)
			}
			elems = append(elems, keyElem{index: n, isIndex: true})
			i += j + 1
			skip()
		}
		if i >= len(s) {
			return elems, nil
		}
		if s[i] != '.' {
			return nil, fmt.Errorf("unexpected %q in key %q", s[i], s)
		}
		i++
	}
}
