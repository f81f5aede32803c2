// Package coreyaml adds a builder entry to chaincode.externalBuilders in the
// text of a peer's core.yaml. go.yaml.in/yaml/v3 (the same libyaml-derived
// parser family as the peer's configuration loader) finds the list, its line
// and its indentation; only the splice of new lines is done here, so every
// byte it does not need to touch (comments, key order, quoting, blank lines,
// CRLF line ends) stays exactly as it was. Layouts it cannot edit safely are
// refused with an error naming the line and what was found there.
package coreyaml

import (
	"github.com/extbuilder/extbuilder/internal/msg"

	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Builder is one chaincode.externalBuilders entry.
type Builder struct {
	Name                 string
	Path                 string   // the folder that holds bin/
	PropagateEnvironment []string // peer environment variables passed to the programs
}

// Result is the edited text and where the entry is.
type Result struct {
	Text    []byte
	Changed bool     // false: an identical entry (same name and path) was already there
	Line    int      // 1-based line of the entry in Text
	Names   []string // builder names in list order, after the edit
}

// Error is a refusal: the line (1-based, 0 when not about one line), the
// YAML key concerned (Field) and what is wrong (Problem); File is left to
// the caller, which names the file.
type Error = msg.Error

const (
	fieldList = "chaincode.externalBuilders"
	hintEnv   = "hint: edit the file by hand (docs/core-yaml.md) or set CORE_CHAINCODE_EXTERNALBUILDERS"
)

var (
	// Names and paths are emitted as plain YAML scalars, so they are kept to
	// characters that can never need quoting.
	nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	pathRE = regexp.MustCompile(`^/[A-Za-z0-9_./+@-]*$`)
	envRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// Validate checks that b can be written as plain YAML and used by a peer.
func (b Builder) Validate() error {
	if !nameRE.MatchString(b.Name) {
		return fmt.Errorf("builder name %s: expected letters, digits, '_', '.' or '-', starting with a letter or digit", msg.Quote(b.Name))
	}
	if !pathRE.MatchString(b.Path) {
		return fmt.Errorf("builder path %s: expected an absolute path of letters, digits and _ . / + @ -", msg.Quote(b.Path))
	}
	for _, v := range b.PropagateEnvironment {
		if !envRE.MatchString(v) {
			return fmt.Errorf("propagateEnvironment: %s is not an environment variable name", msg.Quote(v))
		}
	}
	return nil
}

// doc is the input cut at each "\n". A line keeps its "\r", so joining the
// lines with "\n" gives the input back byte for byte; the last line is ""
// when the input ends with a line end.
type doc struct {
	bom   string
	lines []string // lines[i] is the parser's line i+1
}

func split(src []byte) *doc {
	s, bom := strings.CutPrefix(string(src), "\ufeff")
	d := &doc{lines: strings.Split(s, "\n")}
	if bom {
		d.bom = "\ufeff"
	}
	return d
}

func (d *doc) bytes() []byte { return []byte(d.bom + strings.Join(d.lines, "\n")) }

// insert places texts as new lines before line index at (at least 1),
// ending them as the line before them ends (CRLF or LF).
func (d *doc) insert(at int, texts ...string) {
	ref, last := d.lines[at-1], at == len(d.lines)
	if last {
		ref = d.lines[0] // the last line has no line end: use the first line's
	}
	cr := ""
	if strings.HasSuffix(ref, "\r") {
		cr = "\r"
	}
	added := make([]string, len(texts))
	for i, t := range texts {
		added[i] = t + cr
	}
	if last { // the last line gets a line end, the new last line none
		d.lines[at-1] += cr
		added[len(added)-1] = texts[len(texts)-1]
	}
	d.lines = slices.Insert(d.lines, at, added...)
}

// offset turns the parser's 1-based column (in characters) into a byte
// offset in the text of line n.
func (d *doc) offset(n *yaml.Node) int {
	col := n.Column
	for i := range d.lines[n.Line-1] {
		if col--; col == 0 {
			return i
		}
	}
	return len(d.lines[n.Line-1])
}

// found quotes the input where node n starts, for error messages.
func (d *doc) found(n *yaml.Node) string {
	if n.Line < 1 || n.Line > len(d.lines) {
		return ""
	}
	return msg.Quote(strings.TrimSpace(d.lines[n.Line-1][d.offset(n):]))
}

// badLine returns the first line at which the text stops being YAML and
// fails with the parser's problem, since the parser often names the line
// where the broken block starts, and none for an unknown alias. When that
// cannot be found (a flow collection or quoted text over several lines
// makes shorter texts fail too), it returns the parser's line.
func (d *doc) badLine(err error) (int, string) {
	parse := func(n int) error { return yaml.Unmarshal([]byte(strings.Join(d.lines[:n], "\n")), new(yaml.Node)) }
	line, problem := yamlProblem(err)
	n := sort.Search(len(d.lines), func(n int) bool { return parse(n) != nil })
	if err := parse(n); err != nil {
		if _, p := yamlProblem(err); p == problem {
			line = n
		}
	}
	return line, problem
}

// yamlProblem splits the parser's error into its line (0 if none) and text.
func yamlProblem(err error) (line int, problem string) {
	problem = strings.TrimPrefix(err.Error(), "yaml: ")
	if _, e := fmt.Sscanf(problem, "line %d: ", &line); e == nil {
		problem = problem[strings.Index(problem, ": ")+2:]
	}
	return line, problem
}

// checkLines refuses what the parser would read differently from this
// package's line splitting, tab indentation, and more than one document.
func checkLines(d *doc) error {
	marker, content := false, false
	for i, l := range d.lines {
		body := l
		if i < len(d.lines)-1 {
			body = strings.TrimSuffix(l, "\r") // CRLF; at the very end a "\r" stands alone
		}
		if j := strings.IndexAny(body, "\r\u0085\u2028\u2029"); j >= 0 {
			r, _ := utf8.DecodeRuneInString(l[j:])
			return &Error{Line: i + 1, Problem: fmt.Sprintf("found the line break %q; expected LF or CRLF line ends", r)}
		}
		t := strings.TrimSpace(l)
		if t == "" || t[0] == '#' {
			continue
		}
		if strings.Contains(l[:len(l)-len(strings.TrimLeft(l, " \t"))], "\t") {
			return &Error{Line: i + 1, Problem: "found a tab in the indentation; YAML indentation must be spaces"}
		}
		if len(t) >= 3 && (t[:3] == "---" || t[:3] == "...") && l[0] == t[0] && (len(t) == 3 || t[3] == ' ' || t[3] == '\t') {
			if rest := strings.TrimSpace(t[3:]); marker || content || (rest != "" && rest[0] != '#') {
				return &Error{Line: i + 1, Problem: fmt.Sprintf("found %s: only a single YAML document with no content on its --- line can be edited", msg.Quote(t))}
			}
			marker = true
			continue
		}
		content = content || t[0] != '%'
	}
	return nil
}

// InsertFirst returns src with b added as the first entry of
// chaincode.externalBuilders. An entry already named b.Name with the same
// path leaves src unchanged (Changed false); with another path it is an error.
func InsertFirst(src []byte, b Builder) (Result, error) {
	if err := b.Validate(); err != nil {
		return Result{}, err
	}
	if !utf8.Valid(src) {
		return Result{}, &Error{Problem: "the file is not UTF-8 text; expected a peer core.yaml"}
	}
	d := split(src)
	if err := checkLines(d); err != nil {
		return Result{}, err
	}
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		line, problem := d.badLine(err)
		return Result{}, &Error{Line: line, Problem: "not valid YAML: " + problem}
	}
	if len(root.Content) == 0 || isNull(root.Content[0]) && root.Content[0].Value == "" {
		return Result{}, &Error{Problem: "the file holds no YAML content; expected a peer core.yaml"}
	}
	top := root.Content[0]
	if !isBlock(top, yaml.MappingNode) {
		return Result{}, &Error{Line: top.Line, Problem: fmt.Sprintf("expected a top-level key such as \"peer:\", found %s; the top level must be a block mapping", d.found(top))}
	}
	if top.Column != 1 {
		return Result{}, &Error{Line: top.Line, Problem: "expected the first key at column 1, found indented content; the top level must be a block mapping"}
	}
	unit := indentUnit(d)

	ccKey, cc, err := lookup(top, "", "chaincode")
	if err != nil {
		return Result{}, err
	}
	if ccKey == nil { // no chaincode section at all: add one at the end
		at := len(d.lines)
		if d.lines[at-1] == "" {
			at-- // before the empty text after the last line end
		}
		return withList(d, b, at, 2*unit, "chaincode:", pad(unit)+"externalBuilders:")
	}
	var key, list *yaml.Node
	child := unit // the indentation of chaincode's keys
	switch {
	case isBlock(cc, yaml.MappingNode):
		if key, list, err = lookup(cc, "chaincode", "externalBuilders"); err != nil {
			return Result{}, err
		}
		child = cc.Column - 1
	case !d.isEmpty(cc):
		return Result{}, &Error{Line: cc.Line, Field: "chaincode", Problem: fmt.Sprintf("expected a block mapping on the following lines, found %s; %s", d.found(cc), hintEnv)}
	}
	switch {
	case key == nil: // add the key as chaincode's first child
		return withList(d, b, ccKey.Line, child+unit, pad(child)+"externalBuilders:")
	case list.Anchor != "" || list.Kind == yaml.AliasNode || list.Style&yaml.TaggedStyle != 0 || list.Kind != yaml.SequenceNode &&
		!d.isEmpty(list) && !(isNull(list) && list.Value != "" && list.Line == key.Line): // not [...], nothing, ~ or null
		return Result{}, &Error{Line: list.Line, Field: fieldList, Problem: fmt.Sprintf("expected a list, found %s", d.found(list))}
	}
	entries, err := readEntries(d, list)
	if err != nil {
		return Result{}, err
	}
	names := []string{b.Name}
	for _, e := range entries {
		names = append(names, e.name)
	}
	for _, e := range entries {
		if !e.hasName || e.name != b.Name {
			continue
		}
		if e.path == "" || path.Clean(e.path) != path.Clean(b.Path) {
			return Result{}, &Error{Line: e.line, Field: fieldList,
				Problem: fmt.Sprintf("an entry named %s already exists with path %s, expected %s; hint: remove that entry, or choose another name with -name", msg.Quote(b.Name), msg.Quote(e.path), msg.Quote(b.Path))}
		}
		return Result{Text: d.bytes(), Line: e.line, Names: names[1:]}, nil
	}

	flow := list.Style&yaml.FlowStyle != 0
	if flow && (len(entries) > 0 || list.Line != key.Line) {
		// [...]: the entry goes in front, in flow style.
		t, at, sep := d.lines[list.Line-1], d.offset(list)+1, ", "
		if len(entries) == 0 {
			sep = ""
		}
		d.lines[list.Line-1] = t[:at] + flowEntry(b) + sep + t[at:]
		return Result{Text: d.bytes(), Changed: true, Line: list.Line, Names: names}, nil
	}
	if flow || isNull(list) {
		// No value, a null or [] on the key's line: drop it, keep any
		// comment, add a block list.
		if flow || list.Value != "" {
			t, start := d.lines[key.Line-1], d.offset(list)
			end := start + len(list.Value)
			if flow {
				end = start + strings.IndexByte(t[start:], ']') + 1
			}
			d.lines[key.Line-1] = strings.TrimRight(t[:start], " ") + t[end:]
		}
		return withList(d, b, key.Line, key.Column-1+unit)
	}
	// A block list: insert above the first entry, and above a comment right
	// on top of it (no blank line between), taken to belong to that entry.
	at := list.Line - 1
	for at-1 > key.Line-1 && strings.HasPrefix(strings.TrimSpace(d.lines[at-1]), "#") {
		at--
	}
	dash, keys := list.Column-1, list.Column+1
	if first := list.Content[0]; first.Style&yaml.FlowStyle == 0 {
		keys = first.Column - 1 // copy the first entry's key column
	}
	d.insert(at, blockEntry(b, dash, keys)...)
	return Result{Text: d.bytes(), Changed: true, Line: at + 1, Names: names}, nil
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null" && n.Anchor == "" && n.Style&yaml.TaggedStyle == 0
}

// isEmpty reports whether n is a value written as nothing at all, not even
// a "!" tag: the parser places such a null right after its key's colon.
func (d *doc) isEmpty(n *yaml.Node) bool {
	if !isNull(n) || n.Value != "" || n.Line > len(d.lines) {
		return false
	}
	rest := strings.TrimSpace(d.lines[n.Line-1][d.offset(n):])
	return rest == "" || rest[0] == '#'
}

func isBlock(n *yaml.Node, kind yaml.Kind) bool {
	return n.Kind == kind && n.Anchor == "" && n.Style&(yaml.TaggedStyle|yaml.FlowStyle) == 0
}

// indentUnit takes the file's indentation step from the first line
// indented under a top-level line, so added lines look like their neighbours.
func indentUnit(d *doc) int {
	prev := -1 // the indentation of the previous line with content
	for _, l := range d.lines {
		if t := strings.TrimSpace(l); t == "" || t[0] == '#' {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, " "))
		if prev == 0 && n > 0 && n <= 8 {
			return n
		}
		prev = n
	}
	return 4
}

// lookup returns the key named name (compared case-insensitively, as the
// peer's configuration library does) of the block mapping m and its value.
// field names m in errors.
func lookup(m *yaml.Node, field, name string) (key, value *yaml.Node, err error) {
	full := strings.TrimPrefix(field+"."+name, ".")
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		switch {
		case k.Value == "<<" || k.Kind == yaml.AliasNode:
			return nil, nil, &Error{Line: k.Line, Field: field, Problem: fmt.Sprintf("found a merge key (<<) or an alias as a key; %s may come from an alias, which cannot be edited safely; %s", name, hintEnv)}
		case !strings.EqualFold(k.Value, name):
		case key != nil:
			return nil, nil, &Error{Line: k.Line, Field: full, Problem: fmt.Sprintf("found a second %s key (the first is on line %d); remove the duplicate", name, key.Line)}
		case k.Column != m.Column:
			return nil, nil, &Error{Line: k.Line, Field: full, Problem: "found a complex key (? ...); expected \"" + name + ":\""}
		default:
			key, value = k, m.Content[i+1]
		}
	}
	return key, value, nil
}

// entry is what the edit needs to know about one existing list entry.
type entry struct {
	line       int // 1-based line where it starts
	name, path string
	hasName    bool
}

// readEntries reads the name and path of every entry of list, refusing
// what cannot be read safely.
func readEntries(d *doc, list *yaml.Node) ([]entry, error) {
	if list.Style&yaml.FlowStyle != 0 && !d.oneLine(list) {
		return nil, &Error{Line: list.Line, Field: fieldList, Problem: fmt.Sprintf("expected a flow list on one line, found %s; %s", d.found(list), hintEnv)}
	}
	var entries []entry
	for n, it := range list.Content {
		field := fmt.Sprintf("%s entry %d", fieldList, n+1)
		switch {
		case isNull(it) && it.Value == "":
			return nil, &Error{Line: it.Line, Field: field, Problem: "found an empty entry; expected name and path"}
		case it.Kind != yaml.MappingNode || it.Anchor != "" || it.Style&yaml.TaggedStyle != 0:
			return nil, &Error{Line: it.Line, Field: field, Problem: fmt.Sprintf("expected a mapping with name and path, found %s", d.found(it))}
		case it.Style&yaml.FlowStyle != 0 && list.Style&yaml.FlowStyle == 0 && !d.oneLine(it):
			return nil, &Error{Line: it.Line, Field: field, Problem: fmt.Sprintf("expected a flow mapping on one line, found %s", d.found(it))}
		}
		e := entry{line: it.Line}
		for i := 0; i+1 < len(it.Content); i += 2 {
			k, v := it.Content[i], it.Content[i+1]
			isName, isPath := strings.EqualFold(k.Value, "name"), strings.EqualFold(k.Value, "path")
			switch {
			case k.Value == "<<" || k.Kind == yaml.AliasNode:
				return nil, &Error{Line: k.Line, Field: field, Problem: "found a merge key (<<) or an alias as a key, which cannot be read safely; " + hintEnv}
			case !isName && !isPath:
				continue
			case v.Kind != yaml.ScalarNode || v.Anchor != "" || v.Style&(yaml.TaggedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0:
				return nil, &Error{Line: v.Line, Field: field + "." + strings.ToLower(k.Value),
					Problem: fmt.Sprintf("expected a plain or quoted string, found %s (anchors, aliases, tags, block scalars and collections are not read)", d.found(v))}
			case isName && e.hasName || isPath && e.path != "":
				return nil, &Error{Line: k.Line, Field: field, Problem: "found " + strings.ToLower(k.Value) + " twice"}
			case isName:
				e.name, e.hasName = v.Value, true
			default:
				e.path = v.Value
			}
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// oneLine reports whether the flow collection n ends on the line it starts
// on: its text from the bracket to the line end then parses on its own.
func (d *doc) oneLine(n *yaml.Node) bool {
	return yaml.Unmarshal([]byte(d.lines[n.Line-1][d.offset(n):]), new(yaml.Node)) == nil
}

// withList inserts header lines and a block list holding only b, its dash
// at column indent, before line index at.
func withList(d *doc, b Builder, at, indent int, header ...string) (Result, error) {
	d.insert(at, append(header, blockEntry(b, indent, indent+2)...)...)
	return Result{Text: d.bytes(), Changed: true, Line: at + len(header) + 1, Names: []string{b.Name}}, nil
}

func pad(n int) string { return strings.Repeat(" ", n) }

// blockEntry renders b as a block sequence entry with its dash at column
// dash and its keys at column keys.
func blockEntry(b Builder, dash, keys int) []string {
	keys = max(keys, dash+2)
	out := []string{pad(dash) + "-" + pad(keys-dash-1) + "name: " + b.Name, pad(keys) + "path: " + b.Path}
	if len(b.PropagateEnvironment) > 0 {
		out = append(out, pad(keys)+"propagateEnvironment:")
		for _, v := range b.PropagateEnvironment {
			out = append(out, pad(keys+2)+"- "+v)
		}
	}
	return out
}

// flowEntry renders b as a flow mapping, for lists written as [...].
func flowEntry(b Builder) string {
	s := "{name: " + b.Name + ", path: " + b.Path
	if len(b.PropagateEnvironment) > 0 {
		s += ", propagateEnvironment: [" + strings.Join(b.PropagateEnvironment, ", ") + "]"
	}
	return s + "}"
}
