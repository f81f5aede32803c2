package coreyaml

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// splitKey reads "key: rest" from a line (leading spaces allowed). ok is
// false when the line does not start with a mapping key.
func splitKey(text string) (key, rest string, ok bool) {
	s := strings.TrimLeft(text, " ")
	if s == "" || s == "-" || strings.HasPrefix(s, "- ") || strings.HasPrefix(s, "? ") || strings.HasPrefix(s, "#") {
		return "", "", false
	}
	if q := s[0]; q == '"' || q == '\'' {
		end := closingQuote(s)
		if end < 0 {
			return "", "", false
		}
		after := strings.TrimLeft(s[end+1:], " ")
		if !strings.HasPrefix(after, ":") || !(len(after) == 1 || after[1] == ' ' || after[1] == '\t') {
			return "", "", false
		}
		k, err := unquote(s[:end+1])
		if err != nil || k == "" {
			return "", "", false
		}
		return k, after[1:], true
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '#':
			if i > 0 && (s[i-1] == ' ' || s[i-1] == '\t') {
				return "", "", false // a comment before any colon: not a key
			}
		case ':':
			if i+1 == len(s) || s[i+1] == ' ' || s[i+1] == '\t' {
				k := strings.TrimRight(s[:i], " \t")
				if k == "" || strings.ContainsAny(k[:1], "[{&*!|>%@`,") {
					return "", "", false
				}
				return k, s[i+1:], true
			}
		}
	}
	return "", "", false
}

// closingQuote returns the index of the quote closing the quoted scalar
// that s starts with, or -1.
func closingQuote(s string) int {
	q := s[0]
	for i := 1; i < len(s); i++ {
		switch {
		case q == '"' && s[i] == '\\':
			i++
		case s[i] == q && q == '\'' && i+1 < len(s) && s[i+1] == '\'':
			i++ // '' is an escaped quote
		case s[i] == q:
			return i
		}
	}
	return -1
}

func unquote(s string) (string, error) {
	if s[0] == '\'' {
		return strings.ReplaceAll(s[1:len(s)-1], "''", "'"), nil
	}
	v, err := strconv.Unquote(s)
	if err != nil {
		return "", errors.New("cannot read the double-quoted string " + strconv.Quote(short(s)))
	}
	return v, nil
}

// stripComment splits a value from a trailing " # comment", minding quotes.
func stripComment(v string) (value, comment string) {
	var quote byte
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case quote == '"' && c == '\\':
			i++
		case quote != 0 && c == quote:
			if quote == '\'' && i+1 < len(v) && v[i+1] == '\'' {
				i++
				continue
			}
			quote = 0
		case quote != 0:
		case (c == '"' || c == '\'') && (i == 0 || strings.IndexByte(" \t[{,:", v[i-1]) >= 0):
			quote = c
		case c == '#' && (i == 0 || v[i-1] == ' ' || v[i-1] == '\t'):
			return strings.TrimRight(v[:i], " \t"), v[i:]
		}
	}
	return strings.TrimRight(v, " \t"), ""
}

// plainOrQuoted reads a one-line scalar value such as a builder's name.
func plainOrQuoted(raw string) (string, error) {
	v, _ := stripComment(strings.TrimSpace(raw))
	switch {
	case v == "":
		return "", nil
	case v[0] == '"' || v[0] == '\'':
		if closingQuote(v) != len(v)-1 {
			return "", fmt.Errorf("expected a one-line quoted string, found %q", short(v))
		}
		return unquote(v)
	case strings.ContainsAny(v[:1], "&*!|>[{"):
		return "", fmt.Errorf("expected a plain or quoted string, found %q (anchors, aliases, tags, block scalars and collections are not read)", short(v))
	}
	return v, nil
}

// A small reader for one-line flow collections such as
// [{name: a, path: /opt/a, propagateEnvironment: [X]}]. It reads only what
// is needed to find builder names and paths and refuses everything else.

type flowPair struct {
	key    string
	value  string // when scalar
	scalar bool
}

type flowItem struct {
	mapping []flowPair // nil when the item is not a mapping
}

type flowReader struct {
	s   string
	pos int
}

func (r *flowReader) skip() {
	for r.pos < len(r.s) && (r.s[r.pos] == ' ' || r.s[r.pos] == '\t') {
		r.pos++
	}
}

func (r *flowReader) peek() byte {
	if r.pos < len(r.s) {
		return r.s[r.pos]
	}
	return 0
}

func (r *flowReader) fail(msg string) error {
	return fmt.Errorf("%s at column %d", msg, r.pos+1)
}

func parseFlowSequence(s string) ([]flowItem, error) {
	r := &flowReader{s: s}
	items, err := r.sequence()
	if err != nil {
		return nil, err
	}
	if r.skip(); r.pos != len(s) {
		return nil, r.fail("unexpected text after the closing ]")
	}
	return items, nil
}

func parseFlowMapping(s string) ([]flowPair, error) {
	r := &flowReader{s: s}
	m, err := r.mapping()
	if err != nil {
		return nil, err
	}
	if r.skip(); r.pos != len(s) {
		return nil, r.fail("unexpected text after the closing }")
	}
	return m, nil
}

func (r *flowReader) sequence() ([]flowItem, error) {
	r.pos++ // [
	var items []flowItem
	for {
		r.skip()
		switch r.peek() {
		case 0:
			return nil, r.fail("missing ]")
		case ']':
			r.pos++
			return items, nil
		}
		var it flowItem
		switch r.peek() {
		case '{':
			m, err := r.mapping()
			if err != nil {
				return nil, err
			}
			it.mapping = m
			if it.mapping == nil {
				it.mapping = []flowPair{}
			}
		case '[':
			if _, err := r.sequence(); err != nil {
				return nil, err
			}
		default:
			if _, err := r.scalar(false); err != nil {
				return nil, err
			}
		}
		items = append(items, it)
		if err := r.separator(']'); err != nil {
			return nil, err
		}
	}
}

func (r *flowReader) mapping() ([]flowPair, error) {
	r.pos++ // {
	var pairs []flowPair
	for {
		r.skip()
		switch r.peek() {
		case 0:
			return nil, r.fail("missing }")
		case '}':
			r.pos++
			return pairs, nil
		}
		k, err := r.scalar(true)
		if err != nil {
			return nil, err
		}
		if r.skip(); r.peek() != ':' {
			return nil, r.fail(fmt.Sprintf("expected \":\" after the key %q", k))
		}
		r.pos++
		r.skip()
		p := flowPair{key: k}
		switch r.peek() {
		case '{':
			_, err = r.mapping()
		case '[':
			_, err = r.sequence()
		case ',', '}':
			p.scalar = true
		default:
			p.value, err = r.scalar(false)
			p.scalar = true
		}
		if err != nil {
			return nil, err
		}
		pairs = append(pairs, p)
		if err := r.separator('}'); err != nil {
			return nil, err
		}
	}
}

// separator consumes the "," between items, leaving a closing bracket for
// the caller.
func (r *flowReader) separator(closing byte) error {
	r.skip()
	switch r.peek() {
	case ',':
		r.pos++
		return nil
	case closing:
		return nil
	}
	return r.fail(fmt.Sprintf("expected \",\" or %q", closing))
}

// scalar reads a quoted or plain scalar. A key ends at ":"; a value at
// ",", "]" or "}".
func (r *flowReader) scalar(isKey bool) (string, error) {
	start := r.pos
	if q := r.peek(); q == '"' || q == '\'' {
		end := closingQuote(r.s[start:])
		if end < 0 {
			return "", r.fail("unterminated quoted string")
		}
		r.pos = start + end + 1
		return unquote(r.s[start:r.pos])
	}
	if c := r.peek(); c != 0 && strings.IndexByte("&*!|>#", c) >= 0 {
		return "", r.fail(fmt.Sprintf("found %q (anchors, aliases, tags and comments are not read)", c))
	}
	for r.pos < len(r.s) {
		c := r.s[r.pos]
		if c == ',' || c == ']' || c == '}' || c == '[' || c == '{' {
			break
		}
		if c == ':' && (isKey || r.pos+1 == len(r.s) || strings.IndexByte(" ,]}", r.s[r.pos+1]) >= 0) {
			break
		}
		r.pos++
	}
	v := strings.TrimRight(r.s[start:r.pos], " \t")
	if isKey && v == "" {
		return "", r.fail("expected a key")
	}
	return v, nil
}
