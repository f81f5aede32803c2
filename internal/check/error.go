package check

// Error is a problem with one field of one file, in the form every program
// prints: "<file>: <field>: <what was expected and found>; hint: <hint>".
// Messages never contain key material: they describe values, never quote PEM.
type Error struct {
	File    string // file name as the operator knows it, e.g. "connection.json"
	Field   string // JSON field; empty for the file as a whole
	Problem string // what was expected and what was found
	Hint    string // how to fix it, when there is something useful to say
	Err     error  // underlying error, for errors.Is (e.g. fs.ErrNotExist)
}

func (e *Error) Error() string {
	s := e.File
	if e.Field != "" {
		s += ": " + fieldName(e.Field)
	}
	s += ": " + e.Problem
	if e.Hint != "" {
		s += "; hint: " + e.Hint
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// fieldName shows a field name as it is when it looks like one, and quoted
// (so shortened, PEM hidden) when a file uses something odd as a name.
func fieldName(name string) string {
	if len(name) > 64 {
		return Quote(name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return Quote(name)
		}
	}
	return name
}
