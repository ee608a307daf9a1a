package config

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file turns the errors of the YAML parser into *Error with the right
// line. The yaml package reports lines in its messages only ("yaml: line 3:
// …"), and not consistently: for libyaml's scanner errors the number is
// one-based, for its parser errors it is zero-based, and a mark on the first
// line gives no number at all. It reports the line of libyaml's context mark
// (where the enclosing [, { or block collection began) when there is one, and
// else the line of the problem mark.

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parserProblem describes a problem that libyaml's parser (not its scanner)
// reports.
type parserProblem struct {
	context bool   // the error has a context mark
	flow    bool   // the context is a [ or { whose line is the useful one
	where   string // names the context in the message; "" for none
}

// parserProblems lists the problems of libyaml's parser (parserc.go); every
// other problem with a line comes from its scanner.
var parserProblems = map[string]parserProblem{
	"did not find expected ',' or ']'":       {context: true, flow: true, where: "in the [ opened on this line"},
	"did not find expected ',' or '}'":       {context: true, flow: true, where: "in the { opened on this line"},
	"did not find expected key":              {context: true, where: "in the mapping that starts on this line"},
	"did not find expected '-' indicator":    {context: true, where: "in the list that starts on this line"},
	"did not find expected node content":     {context: true},
	"found undefined tag handle":             {context: true},
	"did not find expected <stream-start>":   {},
	"did not find expected <document start>": {},
	"found duplicate %YAML directive":        {},
	"found incompatible YAML document":       {},
	"found duplicate %TAG directive":         {},
}

// readerProblems are libyaml's reader errors, which carry a byte offset
// that the yaml package drops.
var readerProblems = []string{
	"invalid leading UTF-8 octet",
	"incomplete UTF-8 octet sequence",
	"invalid trailing UTF-8 octet",
	"invalid length of a UTF-8 sequence",
	"invalid Unicode character",
	"control characters are not allowed",
}

// syntaxError turns err, a parse error of the yaml package for data, into an
// *Error naming the line where the problem can be fixed:
//   - an unclosed or malformed [ … ] or { … }: the line of the [ or {;
//   - a badly indented block mapping or list: the offending line when the
//     collection starts on line 1 (libyaml's problem mark is then all the yaml
//     package gives), and else the line where the collection starts;
//   - a scanner error (tabs, unterminated quotes…): the line libyaml names,
//     the start of the quoted string for an unterminated one;
//   - an unknown alias: the line of the first *name;
//   - invalid UTF-8 or a control character: the line of the first such byte.
func syntaxError(data []byte, file string, err error) *Error {
	msg, line := splitYAMLError(err)
	e := &Error{File: file, Line: line, Msg: "invalid YAML: " + msg}
	if name, ok := strings.CutPrefix(msg, "unknown anchor '"); ok {
		e.Line = aliasLine(data, strings.TrimSuffix(name, "' referenced"))
		return e
	}
	for _, p := range readerProblems {
		if msg == p {
			e.Line = badCharLine(data)
			return e
		}
	}
	shifted := shiftedLine(data, msg)
	if shifted == 0 {
		return e // keep what the yaml package said
	}
	p, parser := parserProblems[msg]
	switch {
	case !parser:
		e.Line = shifted - 1 // the yaml package already counts scanner lines from 1
	case p.context && !p.flow && shifted == 1:
		// The context is on line 1, so the unshifted report was the zero-based
		// line of the problem mark (or nothing for line 1): name the offending
		// line rather than the top of the file.
		e.Line = line + 1
	default:
		e.Line = shifted
		if p.where != "" {
			e.Msg += " (" + p.where + ")"
		}
	}
	return e
}

// splitYAMLError splits "yaml: line 3: msg" into its message and line.
func splitYAMLError(err error) (msg string, line int) {
	msg = err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		return m[2], line
	}
	return strings.TrimPrefix(msg, "yaml: "), 0
}

// shiftedLine parses data again with a blank line in front, which makes every
// mark line of libyaml nonzero so that the yaml package reports it: the
// result is the one-based line of the mark in data for parser errors, and
// one more for scanner errors. It returns 0 when that does not reproduce
// msg, or for UTF-16 input, where a blank line cannot be put in front.
func shiftedLine(data []byte, msg string) int {
	const bom = "\xef\xbb\xbf"
	if bytes.HasPrefix(data, []byte("\xfe\xff")) || bytes.HasPrefix(data, []byte("\xff\xfe")) {
		return 0
	}
	var shifted []byte
	if rest, ok := bytes.CutPrefix(data, []byte(bom)); ok {
		shifted = append([]byte(bom+"\n"), rest...)
	} else {
		shifted = append([]byte("\n"), data...)
	}
	_, _, err := parseYAML(shifted)
	if err == nil {
		return 0
	}
	m, line := splitYAMLError(err)
	if m != msg {
		return 0
	}
	return line
}

// badCharLine is the line of the first byte of data that is not valid UTF-8
// or is a character YAML does not allow (YAML 1.2 §5.1), or 0.
func badCharLine(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if (r == utf8.RuneError && size <= 1) || !printable(r) {
			return lineAt(data, i)
		}
		i += size
	}
	return 0
}

func printable(r rune) bool {
	switch {
	case r == '\t', r == '\n', r == '\r', r == 0x85:
		return true
	case r >= 0x20 && r <= 0x7e, r >= 0xa0 && r <= 0xd7ff, r >= 0xe000 && r <= 0xfffd:
		return true
	}
	return r >= 0x10000 && r <= utf8.MaxRune
}

// aliasLine is the line of the first alias *name in data outside comments,
// or 0. An alias must follow its anchor, so for an unknown anchor the first
// use is the one at fault.
func aliasLine(data []byte, name string) int {
	alias := regexp.MustCompile(`(^|[\s\[{,])\*` + regexp.QuoteMeta(name) + `($|[\s\]},])`)
	text := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(string(data))
	for i, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		l, _, _ = strings.Cut(l, " #")
		if alias.MatchString(l) {
			return i + 1
		}
	}
	return 0
}

// lineAt is the one-based line of byte offset off in data, counting "\n",
// "\r\n" and a lone "\r" as line breaks like the YAML parser.
func lineAt(data []byte, off int) int {
	n := 1
	for i, b := range data[:off] {
		if b == '\n' || (b == '\r' && (i+1 >= len(data) || data[i+1] != '\n')) {
			n++
		}
	}
	return n
}
