package config

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Error is a configuration problem at a place in a file.
type Error struct {
	File string // file name as given to Load or Parse; "" for built-in values
	Line int    // 1-based; 0 when unknown
	Key  string // key path such as "listen.c2s" or "hosts[1]"; "" for the whole file
	Msg  string
}

// Error formats e as "file:line: key: msg", leaving out the parts that are
// unknown.
func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// nodeUnmarshaler is implemented by the value types (Rate, Size, Duration)
// that parse their own YAML forms. The error is only the message; the
// decoder adds the file, line and key.
type nodeUnmarshaler interface {
	unmarshalNode(n *yaml.Node) error
}

var (
	nodeType        = reflect.TypeFor[*yaml.Node]()
	durationType    = reflect.TypeFor[time.Duration]()
	unmarshalerType = reflect.TypeFor[nodeUnmarshaler]()
)

// maxSteps bounds the work of one decode, so that aliases referring to
// aliases cannot expand a small file into an enormous one.
const maxSteps = 100_000

// decoder walks a YAML node tree against a Go value, by reflection.
type decoder struct {
	file    string
	lines   map[string]int // key path → line of the key; nil when not wanted
	modules *yaml.Node     // the top-level modules mapping, when seen
	steps   int
}

// parseDocument parses data into its root node; nil means an empty document.
func parseDocument(data []byte, file string) (*yaml.Node, error) {
	doc, next, err := parseYAML(data)
	if err != nil {
		return nil, syntaxError(data, file, err)
	}
	if next != nil {
		return nil, &Error{File: file, Line: next.Line, Msg: "want one YAML document, found a second"}
	}
	if doc == nil || doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil, nil
	}
	return root, nil
}

// parseYAML parses the first document of data and, if there is one, the
// second; doc is nil for an empty stream.
func parseYAML(data []byte) (doc, next *yaml.Node, err error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	doc = new(yaml.Node)
	if err := dec.Decode(doc); err == io.EOF {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, err
	}
	next = new(yaml.Node)
	if err := dec.Decode(next); err == io.EOF {
		return doc, nil, nil
	} else if err != nil {
		return nil, nil, err
	}
	return doc, next, nil
}

func (d *decoder) errorf(line int, key, format string, args ...any) *Error {
	return &Error{File: d.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)}
}

// decode stores n into v. path is the key path of v and line the line of
// its key, which is where errors about the value point.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, line int) error {
	if d.steps++; d.steps > maxSteps {
		return d.errorf(line, path, "document too large or too deeply aliased")
	}
	n = resolve(n)
	if v.Type() == nodeType {
		v.Set(reflect.ValueOf(n))
		return nil
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil // an empty value keeps the default
	}
	if v.CanAddr() && v.Addr().Type().Implements(unmarshalerType) {
		if err := v.Addr().Interface().(nodeUnmarshaler).unmarshalNode(n); err != nil {
			return d.errorf(line, path, "%s", err)
		}
		return nil
	}
	if v.Type() == durationType {
		x, err := parseDuration(n, time.Duration(v.Int()))
		if err != nil {
			return d.errorf(line, path, "%s", err)
		}
		v.SetInt(int64(x))
		return nil
	}
	switch v.Kind() {
	case reflect.Struct:
		return d.decodeStruct(n, v, path, line)
	case reflect.Map:
		return d.decodeMap(n, v, path, line)
	case reflect.Slice:
		return d.decodeSlice(n, v, path, line)
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return d.decode(n, v.Elem(), path, line)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			return d.errorf(line, path, "want a string%s, got %s", like(v), describe(n))
		}
		v.SetString(n.Value)
		return nil
	case reflect.Bool:
		return d.decodeScalar(n, v, path, line, "true or false", "!!bool")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return d.decodeScalar(n, v, path, line, "an integer"+like(v), "!!int")
	case reflect.Float32, reflect.Float64:
		return d.decodeScalar(n, v, path, line, "a number"+like(v), "!!float", "!!int")
	case reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			return d.errorf(line, path, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
		return nil
	}
	return d.errorf(line, path, "config: unsupported field type %s", v.Type())
}

// decodeScalar decodes a scalar whose YAML tag is one of tags; the yaml
// package does the conversion (and the range check).
func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, path string, line int, want string, tags ...string) error {
	if n.Kind == yaml.ScalarNode && slices.Contains(tags, n.ShortTag()) {
		x := reflect.New(v.Type())
		if err := n.Decode(x.Interface()); err == nil {
			v.Set(x.Elem())
			return nil
		}
		if tags[0] == "!!int" {
			return d.errorf(line, path, "%s is out of range for %s", n.Value, v.Type())
		}
	}
	return d.errorf(line, path, "want %s, got %s", want, describe(n))
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string, line int) error {
	if n.Kind != yaml.MappingNode {
		return d.errorf(line, path, "want a mapping, got %s", describe(n))
	}
	fields := structFields(v.Type())
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return d.eachPair(n, path, func(key string, k, val *yaml.Node) error {
		p := join(path, key)
		i := slices.Index(names, key)
		if i < 0 {
			return d.errorf(k.Line, p, "unknown key%s", suggest(key, names, "known keys"))
		}
		if d.lines != nil {
			d.lines[p] = k.Line
			if p == "modules" {
				d.modules = resolve(val)
			}
		}
		return d.decode(val, v.FieldByIndex(fields[i].index), p, k.Line)
	})
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string, line int) error {
	if n.Kind != yaml.MappingNode {
		return d.errorf(line, path, "want a mapping, got %s", describe(n))
	}
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		return d.errorf(line, path, "config: unsupported map key type %s", t.Key())
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(t))
	}
	return d.eachPair(n, path, func(key string, k, val *yaml.Node) error {
		p := join(path, key)
		if d.lines != nil {
			d.lines[p] = k.Line
		}
		kv := reflect.ValueOf(key).Convert(t.Key())
		elem := reflect.New(t.Elem()).Elem()
		if old := v.MapIndex(kv); old.IsValid() {
			elem.Set(old)
		}
		if err := d.decode(val, elem, p, k.Line); err != nil {
			return err
		}
		v.SetMapIndex(kv, elem)
		return nil
	})
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string, line int) error {
	if n.Kind != yaml.SequenceNode {
		return d.errorf(line, path, "want a sequence%s, got %s", like(v), describe(n))
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		if d.lines != nil {
			d.lines[p] = item.Line
		}
		if err := d.decode(item, s.Index(i), p, item.Line); err != nil {
			return err
		}
	}
	v.Set(s)
	return nil
}

// eachPair calls fn for every key of the mapping n, rejecting keys that are
// not strings, merge keys and duplicates.
func (d *decoder) eachPair(n *yaml.Node, path string, fn func(key string, k, v *yaml.Node) error) error {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolve(n.Content[i])
		if k.Kind != yaml.ScalarNode {
			return d.errorf(k.Line, path, "want a string key, got %s", describe(k))
		}
		if k.ShortTag() == "!!merge" {
			return d.errorf(k.Line, join(path, k.Value), "merge keys (<<) are not supported; write the keys out, or reuse a whole value with an alias (key: *name)")
		}
		if first, dup := seen[k.Value]; dup {
			return d.errorf(k.Line, join(path, k.Value), "duplicate key (first on line %d)", first)
		}
		seen[k.Value] = k.Line
		if err := fn(k.Value, k, n.Content[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// checkTree rejects duplicate and non-string keys anywhere below n, without
// decoding it. It does not follow aliases, so it visits each node once.
func (d *decoder) checkTree(n *yaml.Node, path string) error {
	switch n.Kind {
	case yaml.MappingNode:
		return d.eachPair(n, path, func(key string, _, v *yaml.Node) error {
			return d.checkTree(v, join(path, key))
		})
	case yaml.SequenceNode:
		for i, item := range n.Content {
			if err := d.checkTree(item, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

type field struct {
	name  string
	index []int
}

// structFields lists the settable fields of t by YAML name: the yaml tag's
// name, or the lowercased field name; "-" skips a field.
func structFields(t reflect.Type) []field {
	var fs []field
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fs = append(fs, field{name, f.Index})
	}
	return fs
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// describe names what a node holds, for "got …" in messages.
func describe(n *yaml.Node) string {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.ScalarNode:
		s := n.Value
		if len(s) > 40 {
			s = s[:40] + "…"
		}
		if n.ShortTag() == "!!null" {
			return "nothing"
		}
		if n.ShortTag() == "!!str" {
			return strconv.Quote(s)
		}
		return s
	}
	return "an unsupported YAML node"
}

// like gives the current (default) value as an example: ` like ":5222"`.
func like(v reflect.Value) string {
	switch v.Kind() {
	case reflect.String:
		if v.String() != "" {
			return " like " + strconv.Quote(v.String())
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.Int() != 0 {
			return fmt.Sprintf(" like %d", v.Int())
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if v.Uint() != 0 {
			return fmt.Sprintf(" like %d", v.Uint())
		}
	case reflect.Slice:
		if s, ok := v.Interface().([]string); ok && len(s) > 0 {
			return " like [" + strings.Join(s, ", ") + "]"
		}
	}
	return ""
}

// suggest returns "; did you mean X?" for the closest name within edit
// distance 2, or else the list of names.
func suggest(key string, names []string, what string) string {
	best, bestDist := "", 3
	for _, name := range names {
		if dist := editDistance(strings.ToLower(key), name); dist < bestDist && dist < len(name) {
			best, bestDist = name, dist
		}
	}
	if best != "" {
		return "; did you mean " + best + "?"
	}
	if len(names) == 0 {
		return ""
	}
	return "; " + what + ": " + strings.Join(names, ", ")
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
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
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
