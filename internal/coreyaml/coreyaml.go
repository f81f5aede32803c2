// Package coreyaml adds a builder entry to chaincode.externalBuilders in the
// text of a peer's core.yaml. It edits lines instead of decoding and
// re-encoding the YAML, so every byte it does not need to touch (comments,
// key order, quoting, blank lines, CRLF line ends) stays exactly as it was.
// Layouts it cannot edit safely are refused with an error naming the line
// and what was found there, never guessed at.
package coreyaml

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"
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
// YAML key concerned and what is wrong.
type Error struct {
	Line  int
	Field string
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

const (
	fieldList = "chaincode.externalBuilders"
	hintEnv   = "hint: edit the file by hand (README: configuring a peer) or set CORE_CHAINCODE_EXTERNALBUILDERS"
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
		return fmt.Errorf("builder name %q: expected letters, digits, '_', '.' or '-', starting with a letter or digit", b.Name)
	}
	if !pathRE.MatchString(b.Path) {
		return fmt.Errorf("builder path %q: expected an absolute path of letters, digits and _ . / + @ -", b.Path)
	}
	for _, v := range b.PropagateEnvironment {
		if !envRE.MatchString(v) {
			return fmt.Errorf("propagateEnvironment: %q is not an environment variable name", v)
		}
	}
	return nil
}

// line is one line of the input, split from its terminator so that the
// terminator can be written back unchanged.
type line struct {
	text string
	eol  string // "\n", "\r\n" or "" for a last line without one
}

func (l line) indent() int { return len(l.text) - len(strings.TrimLeft(l.text, " ")) }

func (l line) trimmed() string { return strings.TrimSpace(l.text) }

// structural lines carry YAML content: not blank and not only a comment.
func (l line) structural() bool {
	t := l.trimmed()
	return t != "" && !strings.HasPrefix(t, "#")
}

func (l line) isDash() bool {
	t := strings.TrimLeft(l.text, " ")
	return t == "-" || strings.HasPrefix(t, "- ") || strings.HasPrefix(t, "-\t")
}

type doc struct {
	bom   string
	lines []line
	eol   string // line end used for inserted lines
}

func split(src []byte) *doc {
	d := &doc{eol: "\n"}
	s := string(src)
	if strings.HasPrefix(s, "\ufeff") {
		d.bom, s = "\ufeff", s[len("\ufeff"):]
	}
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			d.lines = append(d.lines, line{text: s})
			break
		}
		l := line{text: s[:i], eol: "\n"}
		if strings.HasSuffix(l.text, "\r") {
			l.text, l.eol = l.text[:len(l.text)-1], "\r\n"
		}
		d.lines = append(d.lines, l)
		s = s[i+1:]
	}
	if len(d.lines) > 0 && d.lines[0].eol != "" {
		d.eol = d.lines[0].eol
	}
	return d
}

func (d *doc) bytes() []byte {
	var b bytes.Buffer
	b.WriteString(d.bom)
	for _, l := range d.lines {
		b.WriteString(l.text)
		b.WriteString(l.eol)
	}
	return b.Bytes()
}

// insert places texts as new lines before index at, using the line end of
// the line before them (or the file's) and giving that line one if it was
// the last line and had none.
func (d *doc) insert(at int, texts []string) {
	eol := d.eol
	lastHadNoEOL := false
	if at > 0 {
		if d.lines[at-1].eol == "" {
			lastHadNoEOL = true
			d.lines[at-1].eol = eol
		} else {
			eol = d.lines[at-1].eol
		}
	}
	added := make([]line, len(texts))
	for i, t := range texts {
		added[i] = line{text: t, eol: eol}
	}
	if at == len(d.lines) && at > 0 && lastHadNoEOL {
		// A file that ended without a line end still does.
		added[len(added)-1].eol = ""
	}
	d.lines = append(d.lines[:at], append(added, d.lines[at:]...)...)
}

// InsertFirst returns src with b added as the first entry of
// chaincode.externalBuilders. An entry already named b.Name with the same
// path leaves src unchanged (Changed false); with another path it is an error.
func InsertFirst(src []byte, b Builder) (Result, error) {
	if err := b.Validate(); err != nil {
		return Result{}, err
	}
	if !utf8.Valid(src) {
		return Result{}, &Error{Msg: "the file is not UTF-8 text; expected a peer core.yaml"}
	}
	d := split(src)
	if err := checkDocument(d); err != nil {
		return Result{}, err
	}
	unit := indentUnit(d)

	cc, err := findChaincode(d)
	if err != nil {
		return Result{}, err
	}
	if cc < 0 {
		// No chaincode section at all: add one at the end.
		at := len(d.lines)
		texts := append([]string{"chaincode:", strings.Repeat(" ", unit) + "externalBuilders:"},
			blockEntry(b, 2*unit, 2*unit+2)...)
		d.insert(at, texts)
		return Result{Text: d.bytes(), Changed: true, Line: at + 3, Names: []string{b.Name}}, nil
	}

	end := sectionEnd(d, cc)
	child, key, err := findListKey(d, cc, end)
	if err != nil {
		return Result{}, err
	}
	if key < 0 {
		// chaincode has no externalBuilders: add the key as its first child.
		if child < 0 {
			child = unit
		}
		texts := append([]string{strings.Repeat(" ", child) + "externalBuilders:"},
			blockEntry(b, child+unit, child+unit+2)...)
		d.insert(cc+1, texts)
		return Result{Text: d.bytes(), Changed: true, Line: cc + 3, Names: []string{b.Name}}, nil
	}
	return editList(d, key, end, child, unit, b)
}

// checkDocument refuses inputs whose top level is not one block mapping.
func checkDocument(d *doc) error {
	seenContent, seenMarker := false, false
	for i, l := range d.lines {
		if !l.structural() {
			continue
		}
		if lead := l.text[:len(l.text)-len(strings.TrimLeft(l.text, " \t"))]; strings.Contains(lead, "\t") {
			return &Error{Line: i + 1, Msg: "found a tab in the indentation; YAML indentation must be spaces"}
		}
		t := l.trimmed()
		if l.indent() == 0 && (t == "---" || strings.HasPrefix(t, "--- ") || t == "..." || strings.HasPrefix(t, "... ")) {
			rest, _ := stripComment(strings.TrimSpace(t[3:]))
			if seenContent || seenMarker || rest != "" {
				return &Error{Line: i + 1, Msg: fmt.Sprintf("found %q: only a single YAML document with no content on its --- line can be edited", t)}
			}
			seenMarker = true
			continue
		}
		if !seenContent && strings.HasPrefix(l.text, "%") {
			continue // a directive such as %YAML 1.2
		}
		if !seenContent {
			if l.indent() != 0 {
				return &Error{Line: i + 1, Msg: "expected the first key at column 1, found indented content; the top level must be a block mapping"}
			}
			if _, _, ok := splitKey(l.text); !ok {
				return &Error{Line: i + 1, Msg: fmt.Sprintf("expected a top-level key such as \"peer:\", found %q; the top level must be a block mapping", short(t))}
			}
		}
		seenContent = true
	}
	if !seenContent {
		return &Error{Msg: "the file holds no YAML content; expected a peer core.yaml"}
	}
	return nil
}

// indentUnit guesses the file's indentation step from the first nested key
// under a top-level key, so added lines look like their neighbours.
func indentUnit(d *doc) int {
	for i, l := range d.lines {
		if !l.structural() || l.indent() != 0 {
			continue
		}
		for _, n := range d.lines[i+1:] {
			if !n.structural() {
				continue
			}
			if n.indent() > 0 && n.indent() <= 8 {
				return n.indent()
			}
			break
		}
	}
	return 4
}

// findChaincode returns the index of the top-level chaincode: line, or -1.
// Keys are compared case-insensitively because the peer's configuration
// library treats them so.
func findChaincode(d *doc) (int, error) {
	found := -1
	for i, l := range d.lines {
		if !l.structural() || l.indent() != 0 {
			continue
		}
		k, rest, ok := splitKey(l.text)
		if !ok {
			continue // a document marker or directive, checked already
		}
		if k == "<<" {
			return -1, &Error{Line: i + 1, Msg: "found a top-level merge key (<<); the chaincode section may come from an alias, which cannot be edited safely; " + hintEnv}
		}
		if !strings.EqualFold(k, "chaincode") {
			continue
		}
		if found >= 0 {
			return -1, &Error{Line: i + 1, Field: "chaincode", Msg: fmt.Sprintf("found a second chaincode key (the first is on line %d); remove the duplicate", found+1)}
		}
		if v, _ := stripComment(strings.TrimSpace(rest)); v != "" {
			return -1, &Error{Line: i + 1, Field: "chaincode", Msg: fmt.Sprintf("expected a block mapping on the following lines, found the value %q on the key's line; %s", short(v), hintEnv)}
		}
		found = i
	}
	return found, nil
}

// sectionEnd returns the index of the first line after the section that
// starts at line start: the next structural line indented no deeper than
// start's line, or the end of the file.
func sectionEnd(d *doc, start int) int {
	base := d.lines[start].indent()
	for i := start + 1; i < len(d.lines); i++ {
		if l := d.lines[i]; l.structural() && l.indent() <= base {
			return i
		}
	}
	return len(d.lines)
}

// findListKey returns the indentation of chaincode's children (-1 if it has
// none) and the index of its externalBuilders line (-1 if absent).
func findListKey(d *doc, cc, end int) (child, key int, err error) {
	child, key = -1, -1
	for i := cc + 1; i < end; i++ {
		l := d.lines[i]
		if !l.structural() {
			continue
		}
		if child < 0 {
			child = l.indent()
		}
		switch {
		case l.indent() < child:
			return -1, -1, &Error{Line: i + 1, Field: "chaincode", Msg: fmt.Sprintf("expected indentation of %d spaces, found %d", child, l.indent())}
		case l.indent() > child:
			continue // a nested value
		case l.isDash() && i > firstKey(d, cc, end, child):
			continue // a sequence written at its key's indentation
		}
		k, _, ok := splitKey(l.text)
		if !ok {
			return -1, -1, &Error{Line: i + 1, Field: "chaincode", Msg: fmt.Sprintf("expected a key, found %q; chaincode must be a block mapping", short(l.trimmed()))}
		}
		if k == "<<" {
			return -1, -1, &Error{Line: i + 1, Field: "chaincode", Msg: "found a merge key (<<); externalBuilders may come from an alias, which cannot be edited safely; " + hintEnv}
		}
		if !strings.EqualFold(k, "externalBuilders") {
			continue
		}
		if key >= 0 {
			return -1, -1, &Error{Line: i + 1, Field: fieldList, Msg: fmt.Sprintf("found a second externalBuilders key (the first is on line %d); remove the duplicate", key+1)}
		}
		key = i
	}
	return child, key, nil
}

// firstKey returns the index of the first key line at indentation child in
// the section, or len(d.lines).
func firstKey(d *doc, from, end, child int) int {
	for i := from + 1; i < end; i++ {
		if l := d.lines[i]; l.structural() && l.indent() == child && !l.isDash() {
			return i
		}
	}
	return len(d.lines)
}

// editList handles the value of the externalBuilders key on line key.
func editList(d *doc, key, end, child, unit int, b Builder) (Result, error) {
	kl := d.lines[key]
	_, rest, _ := splitKey(kl.text)
	value, _ := stripComment(strings.TrimSpace(rest))
	switch {
	case value == "[]" || value == "~" || strings.EqualFold(value, "null") || isEmptyFlowList(value):
		// An empty list or no value: drop it, keep any comment, add a block list.
		colon := len(kl.text) - len(rest) - 1
		at := colon + strings.Index(kl.text[colon:], value)
		d.lines[key].text = kl.text[:colon+1]
		if after := kl.text[at+len(value):]; strings.TrimSpace(after) != "" {
			d.lines[key].text += after // the comment, with its spacing
		}
		d.insert(key+1, blockEntry(b, child+unit, child+unit+2))
		return Result{Text: d.bytes(), Changed: true, Line: key + 2, Names: []string{b.Name}}, nil
	case strings.HasPrefix(value, "["):
		return editFlowList(d, key, value, b)
	case value != "":
		return Result{}, &Error{Line: key + 1, Field: fieldList, Msg: fmt.Sprintf("expected a list, found %q", short(value))}
	}
	return editBlockList(d, key, end, child, unit, b)
}

func isEmptyFlowList(v string) bool {
	return strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]") && strings.TrimSpace(v[1:len(v)-1]) == ""
}

// entry is what the edit needs to know about one existing list entry.
type entry struct {
	line       int // index of its first line
	name, path string
	hasName    bool
}

// editBlockList handles a block sequence under externalBuilders (or nothing:
// a null value).
func editBlockList(d *doc, key, end, child, unit int, b Builder) (Result, error) {
	keyIndent := d.lines[key].indent()
	// The list runs until a line indented no deeper than the key, except that
	// YAML allows the dashes at the key's own indentation.
	stop := end
	dash := -1
	for i := key + 1; i < end; i++ {
		l := d.lines[i]
		if !l.structural() {
			continue
		}
		if l.indent() < keyIndent || (l.indent() == keyIndent && !l.isDash()) {
			stop = i
			break
		}
		if dash < 0 {
			dash = l.indent()
			if !l.isDash() {
				return Result{}, &Error{Line: i + 1, Field: fieldList, Msg: fmt.Sprintf("expected a list of builders, found %q", short(l.trimmed()))}
			}
		}
	}
	if dash < 0 {
		// externalBuilders: with no value.
		d.insert(key+1, blockEntry(b, child+unit, child+unit+2))
		return Result{Text: d.bytes(), Changed: true, Line: key + 2, Names: []string{b.Name}}, nil
	}

	var entries []entry
	keyCol := -1 // the column of the first entry's keys, copied for ours
	for i := key + 1; i < stop; i++ {
		l := d.lines[i]
		if !l.structural() {
			continue
		}
		switch {
		case l.indent() < dash:
			return Result{}, &Error{Line: i + 1, Field: fieldList, Msg: fmt.Sprintf("expected indentation of at least %d spaces, found %d", dash, l.indent())}
		case l.indent() > dash:
			continue // inside the current entry
		case !l.isDash():
			return Result{}, &Error{Line: i + 1, Field: fieldList, Msg: fmt.Sprintf("expected a list entry starting with \"- \", found %q", short(l.trimmed()))}
		}
		e, col, err := readBlockEntry(d, i, stop, dash, len(entries)+1)
		if err != nil {
			return Result{}, err
		}
		if keyCol < 0 {
			keyCol = col
		}
		entries = append(entries, e)
	}
	if r, done, err := existing(d, entries, b); done || err != nil {
		return r, err
	}

	// Insert above the first entry, and above a comment directly on top of
	// it (no blank line between), which is taken to belong to that entry.
	at := entries[0].line
	for at-1 > key && strings.HasPrefix(d.lines[at-1].trimmed(), "#") {
		at--
	}
	d.insert(at, blockEntry(b, dash, keyCol))
	return Result{Text: d.bytes(), Changed: true, Line: at + 1, Names: names(b, entries)}, nil
}

// readBlockEntry reads the entry whose dash is on line start. It returns the
// column its keys start at.
func readBlockEntry(d *doc, start, stop, dash, n int) (entry, int, error) {
	e := entry{line: start}
	field := fmt.Sprintf("%s entry %d", fieldList, n)
	first := d.lines[start].text[dash+1:]
	content := strings.TrimLeft(first, " ")
	col := dash + 1 + len(first) - len(content)
	body, _ := stripComment(content)
	i := start + 1
	switch {
	case body == "":
		// "-" alone: the keys follow on the next lines.
		col = -1
		for ; i < stop; i++ {
			if l := d.lines[i]; l.structural() {
				if l.indent() <= dash {
					break
				}
				col = l.indent()
				break
			}
		}
		if col < 0 {
			return e, 0, &Error{Line: start + 1, Field: field, Msg: "found an empty entry; expected name and path"}
		}
	case strings.HasPrefix(body, "{"):
		m, err := parseFlowMapping(body)
		if err != nil {
			return e, 0, &Error{Line: start + 1, Field: field, Msg: fmt.Sprintf("cannot read the flow mapping %q: %v", short(body), err)}
		}
		if err := e.set(m, start+1, field); err != nil {
			return e, 0, err
		}
		return e, dash + 2, checkNested(d, start+1, stop, dash, field)
	default:
		k, v, ok := splitKey(content)
		if !ok || strings.ContainsAny(k[:1], "&*!|>[") {
			return e, 0, &Error{Line: start + 1, Field: field, Msg: fmt.Sprintf("expected a mapping with name and path, found %q", short(body))}
		}
		if err := e.setKey(k, v, start+1, field); err != nil {
			return e, 0, err
		}
	}
	for ; i < stop; i++ {
		l := d.lines[i]
		if !l.structural() {
			continue
		}
		switch {
		case l.indent() <= dash:
			return e, col, nil
		case l.indent() > col:
			continue // a nested value, e.g. propagateEnvironment's items
		case l.indent() < col:
			return e, 0, &Error{Line: i + 1, Field: field, Msg: fmt.Sprintf("expected indentation of %d spaces, found %d", col, l.indent())}
		case l.isDash():
			continue // a sequence written at its key's indentation
		}
		k, v, ok := splitKey(l.text)
		if !ok {
			return e, 0, &Error{Line: i + 1, Field: field, Msg: fmt.Sprintf("expected a key, found %q", short(l.trimmed()))}
		}
		if err := e.setKey(k, v, i+1, field); err != nil {
			return e, 0, err
		}
	}
	return e, col, nil
}

// checkNested refuses deeper lines after a one-line flow mapping entry:
// they would mean the mapping continues in a way this package does not read.
func checkNested(d *doc, from, stop, dash int, field string) error {
	for i := from; i < stop; i++ {
		if l := d.lines[i]; l.structural() {
			if l.indent() > dash {
				return &Error{Line: i + 1, Field: field, Msg: fmt.Sprintf("found %q after a one-line flow mapping; expected the next entry", short(l.trimmed()))}
			}
			return nil
		}
	}
	return nil
}

func (e *entry) setKey(k, rawValue string, lineNo int, field string) error {
	if k == "<<" {
		return &Error{Line: lineNo, Field: field, Msg: "found a merge key (<<), which cannot be read safely; " + hintEnv}
	}
	isName, isPath := strings.EqualFold(k, "name"), strings.EqualFold(k, "path")
	if !isName && !isPath {
		return nil
	}
	v, err := plainOrQuoted(rawValue)
	if err != nil {
		return &Error{Line: lineNo, Field: field + "." + strings.ToLower(k), Msg: err.Error()}
	}
	return e.store(isName, v, lineNo, field)
}

func (e *entry) store(isName bool, v string, lineNo int, field string) error {
	if isName {
		if e.hasName {
			return &Error{Line: lineNo, Field: field, Msg: "found name twice"}
		}
		e.name, e.hasName = v, true
		return nil
	}
	if e.path != "" {
		return &Error{Line: lineNo, Field: field, Msg: "found path twice"}
	}
	e.path = v
	return nil
}

func (e *entry) set(m []flowPair, lineNo int, field string) error {
	for _, p := range m {
		isName, isPath := strings.EqualFold(p.key, "name"), strings.EqualFold(p.key, "path")
		if p.key == "<<" {
			return &Error{Line: lineNo, Field: field, Msg: "found a merge key (<<), which cannot be read safely; " + hintEnv}
		}
		if !isName && !isPath {
			continue
		}
		if !p.scalar {
			return &Error{Line: lineNo, Field: field + "." + strings.ToLower(p.key), Msg: "expected a string, found a list or mapping"}
		}
		if err := e.store(isName, p.value, lineNo, field); err != nil {
			return err
		}
	}
	return nil
}

// existing looks for an entry already named b.Name. done reports that the
// result is final: nothing to insert.
func existing(d *doc, entries []entry, b Builder) (Result, bool, error) {
	for _, e := range entries {
		if !e.hasName || e.name != b.Name {
			continue
		}
		if e.path != "" && path.Clean(e.path) == path.Clean(b.Path) {
			ns := make([]string, len(entries))
			for i, x := range entries {
				ns[i] = x.name
			}
			return Result{Text: d.bytes(), Changed: false, Line: e.line + 1, Names: ns}, true, nil
		}
		return Result{}, true, &Error{Line: e.line + 1, Field: fieldList,
			Msg: fmt.Sprintf("an entry named %q already exists with path %q, expected %q; hint: remove that entry, or choose another name with -name", b.Name, e.path, b.Path)}
	}
	return Result{}, false, nil
}

func names(b Builder, entries []entry) []string {
	ns := []string{b.Name}
	for _, e := range entries {
		ns = append(ns, e.name)
	}
	return ns
}

// blockEntry renders b as a block sequence entry with its dash at column
// dash and its keys at column keys.
func blockEntry(b Builder, dash, keys int) []string {
	if keys < dash+2 {
		keys = dash + 2
	}
	pad := func(n int) string { return strings.Repeat(" ", n) }
	out := []string{
		pad(dash) + "-" + pad(keys-dash-1) + "name: " + b.Name,
		pad(keys) + "path: " + b.Path,
	}
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

// editFlowList handles externalBuilders: [{...}, ...] written on one line.
func editFlowList(d *doc, key int, value string, b Builder) (Result, error) {
	items, err := parseFlowSequence(value)
	if err != nil {
		return Result{}, &Error{Line: key + 1, Field: fieldList, Msg: fmt.Sprintf("cannot read the flow list %q: %v; %s", short(value), err, hintEnv)}
	}
	var entries []entry
	for n, it := range items {
		field := fmt.Sprintf("%s entry %d", fieldList, n+1)
		if it.mapping == nil {
			return Result{}, &Error{Line: key + 1, Field: field, Msg: "expected a mapping with name and path, found a scalar or list"}
		}
		e := entry{line: key}
		if err := e.set(it.mapping, key+1, field); err != nil {
			return Result{}, err
		}
		entries = append(entries, e)
	}
	if r, done, err := existing(d, entries, b); done || err != nil {
		return r, err
	}
	text := d.lines[key].text
	open := strings.Index(text, value) + 1 // just after "["
	d.lines[key].text = text[:open] + flowEntry(b) + ", " + text[open:]
	return Result{Text: d.bytes(), Changed: true, Line: key + 1, Names: names(b, entries)}, nil
}

// short keeps quoted excerpts of the input to one readable length.
func short(s string) string {
	const max = 60
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
