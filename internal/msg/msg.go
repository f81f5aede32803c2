// Package msg is how every extbuilder program words a problem: one Error
// type ("<file>: <field>: <problem>; hint: <hint>"), values quoted short and
// never as key material, JSON kinds and file types named one way, and OS
// errors without the paths a message already names. It links no crypto, so
// detect, which must stay as cheap as a static no-op, uses it too.
package msg

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"unicode/utf8"
)

// Error is a problem with one field of one file, in the form every program
// prints: "<file>: [line <n>: ]<field>: <what was expected and found>;
// hint: <hint>".
// Values reach Problem and Hint only through Quote, Name or Safe.
type Error struct {
	File    string // file name as the operator knows it, e.g. "connection.json"; may be empty
	Line    int    // 1-based line in File, for a text file (core.yaml); 0 when not about one line
	Field   string // JSON field; empty for the file as a whole
	Problem string // what was expected and what was found
	Hint    string // how to fix it, when there is something useful to say
	Err     error  // underlying error, for errors.Is (e.g. fs.ErrNotExist)
}

func (e *Error) Error() string {
	var parts []string
	if s := e.File; s != "" {
		if KeyMaterial(s) != "" || strings.ContainsFunc(s, isControl) {
			s = Quote(s) // an operator's argument can hold anything
		}
		parts = append(parts, s)
	}
	if e.Line > 0 {
		parts = append(parts, fmt.Sprintf("line %d", e.Line))
	}
	if e.Field != "" {
		parts = append(parts, Name(e.Field))
	}
	s := strings.Join(append(parts, e.Problem), ": ")
	if e.Hint != "" {
		s += "; hint: " + e.Hint
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// Errorf is an Error whose problem is formatted.
func Errorf(file, field, hint, format string, a ...any) *Error {
	return &Error{File: file, Field: field, Problem: fmt.Sprintf(format, a...), Hint: hint}
}

// quoteMax bounds how much of a value a message quotes: the peer logs each
// stderr line and gives up on one over 64 KiB, and a package may carry a
// value of any length.
const quoteMax = 80

// Quote shows an untrusted value in a message: key material is described,
// never shown (see KeyMaterial), and a long value is cut, its length said.
func Quote(s string) string {
	if what := KeyMaterial(s); what != "" {
		return fmt.Sprintf("%s (%d bytes, not shown)", what, len(s))
	}
	if len(s) > quoteMax {
		return fmt.Sprintf("%q (%d bytes)", Shorten(s, quoteMax), len(s))
	}
	return fmt.Sprintf("%q", s)
}

// Name shows a name (a field, a file in a package, "chaincode.externalBuilders
// entry 1") as it is when it looks like one: letters, digits, _-.+/@ and
// single inner spaces. Anything else goes through Quote.
func Name(s string) string {
	if s == "" || len(s) > 64 || strings.TrimSpace(s) != s || strings.Contains(s, "  ") {
		return Quote(s)
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_-.+/@ ", c)) {
			return Quote(s)
		}
	}
	return s
}

// Safe makes a library's error text fit a message: one line, bounded, and
// not shown at all when it quotes key material.
func Safe(s string) string {
	const max = 200
	if KeyMaterial(s) != "" {
		return "(message not shown: it quotes key material)"
	}
	s = strings.NewReplacer("\n", "\\n", "\r", "\\r").Replace(s)
	return Shorten(s, max)
}

// Shorten cuts s to at most max bytes on a character boundary, marking the cut.
func Shorten(s string, max int) string {
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max] + "..."
}

// KeyMaterial says what secret s may hold ("PEM text", "base64 data"), or
// "" when none. It errs on the side of hiding: any PEM header or footer
// (whatever its type, any case), the words PRIVATE KEY, or a run of
// base64 long enough to be part of a key body (48 characters mixing upper
// and lower case and digits; hashes and IDs in hex never do).
func KeyMaterial(s string) string {
	if pemLike(s) {
		return "PEM text"
	}
	if base64Run(s) {
		return "base64 data"
	}
	return ""
}

func pemLike(s string) bool {
	for i := 0; i+5 <= len(s); i++ {
		if s[i] != '-' {
			continue
		}
		if strings.HasPrefix(s[i:], "-----") {
			rest := strings.TrimLeft(s[i:], "-")
			if hasPrefixFold(rest, "BEGIN") || hasPrefixFold(rest, "END") {
				return true
			}
		}
	}
	return containsFold(s, "PRIVATE KEY")
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if hasPrefixFold(s[i:], sub) {
			return true
		}
	}
	return false
}

// base64Run reports a stretch of 48 base64 characters that reads as
// random: upper case, lower case and digits, changing class
// at 18 of its 47 steps or more. Random base64 changes class at about
// two characters in three; words, paths and camel-case names, which use the
// same alphabet, far less often. Escaped line breaks (\n as two
// characters) are skipped: PEM bodies are often pasted that way.
func base64Run(s string) bool {
	const window, minChanges = 48, 18
	var classes []byte // of the current run of base64 characters
	for i := 0; i <= len(s); i++ {
		c := byte(0)
		if i < len(s) {
			c = s[i]
		}
		switch {
		case c == '\n' || c == '\r':
			continue
		case c == '\\' && i+1 < len(s) && (s[i+1] == 'n' || s[i+1] == 'r'):
			i++
			continue
		}
		if k := base64Class(c); k != 0 {
			classes = append(classes, k)
			continue
		}
		if randomLooking(classes, window, minChanges) {
			return true
		}
		classes = classes[:0]
	}
	return false
}

// base64Class is 'A', 'a', '0' or '+' for a base64 character, 0 otherwise.
func base64Class(c byte) byte {
	switch {
	case c >= 'A' && c <= 'Z':
		return 'A'
	case c >= 'a' && c <= 'z':
		return 'a'
	case c >= '0' && c <= '9':
		return '0'
	case c == '+' || c == '/' || c == '=':
		return '+'
	}
	return 0
}

// randomLooking reports whether some window of classes has the mix of
// random base64: upper and lower case, digits in two places or more, and
// a change of letter case or digit at 18 of its 47 steps or more ('+',
// '/' and '=' count for neither, so path separators do not help). One
// pass: the counts slide with the window.
func randomLooking(classes []byte, window, minChanges int) bool {
	if len(classes) < window {
		return false
	}
	// At k, what the pair (k-1, k) adds: a change of class, a new run of digits.
	change := func(k int) bool {
		return k > 0 && classes[k] != classes[k-1] && classes[k] != '+' && classes[k-1] != '+'
	}
	island := func(k int) bool { return classes[k] == '0' && (k == 0 || classes[k-1] != '0') }
	var count [256]int
	changes, islands := 0, 0
	for k, c := range classes {
		count[c]++
		if change(k) {
			changes++
		}
		if island(k) {
			islands++
		}
		if first := k - window + 1; first > 0 { // drop what left the window
			count[classes[first-1]]--
			if change(first) {
				changes--
			}
			if island(first - 1) {
				islands--
			}
			if classes[first] == '0' && classes[first-1] == '0' {
				islands++ // the run of digits that lost its start still counts once
			}
		}
		if k >= window-1 && changes >= minChanges && count['A'] >= 4 && count['a'] >= 4 && islands >= 2 {
			return true
		}
	}
	return false
}

// JSONKind names the JSON type of a raw value ("an object", "a string",
// ...), by its first byte: the value is known to be well formed, or the
// kind is all that is said about it.
func JSONKind[T ~string | ~[]byte](raw T) string {
	s := strings.TrimLeft(string(raw), " \t\r\n")
	if s == "" {
		return "nothing"
	}
	switch s[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// Reason strips the path from a path or link error, keeping the cause
// ("no such file or directory"): the message names the file its own way.
// Other errors are returned as they are.
func Reason(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// FileKind names the type of a file for "expected ..., found <FileKind>".
func FileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m.IsRegular():
		return "a regular file"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}

// FieldIndex finds name among fields as the peer's encoding/json matches a
// JSON key to a field: exactly, or else ignoring case (Unicode simple
// folding). -1 when it is none of them.
func FieldIndex(fields []string, name string) int {
	for i, f := range fields {
		if f == name {
			return i
		}
	}
	for i, f := range fields {
		if strings.EqualFold(f, name) {
			return i
		}
	}
	return -1
}
