package connection

import (
	"fmt"

	"github.com/extbuilder/extbuilder/pkg/check"
)

// Error is a problem with one field of connection.json. Messages never
// contain key material: they describe values, they do not quote PEM.
type Error struct {
	File    string // file name as the operator knows it, e.g. "connection.json"
	Field   string // JSON field; empty for the file as a whole
	Problem string // what was expected and what was found
	Hint    string // how to fix it, when there is something useful to say
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

// Warning is a problem the builder fixed or that the peer tolerates, but that
// the operator should know about. It has the same shape as Error.
type Warning Error

func (w Warning) String() string { return (*Error)(&w).Error() }

// report collects the findings of one decode.
type report struct {
	file     string
	warnings []Warning
}

func (r *report) fail(field, hint, format string, a ...any) *Error {
	return &Error{File: r.file, Field: field, Problem: fmt.Sprintf(format, a...), Hint: hint}
}

func (r *report) warn(field, hint, format string, a ...any) {
	r.warnings = append(r.warnings, Warning{File: r.file, Field: field, Problem: fmt.Sprintf(format, a...), Hint: hint})
}

// fieldName shows a field name as written when it is a plain identifier, and
// quoted otherwise: an unknown field may hold line breaks or pasted PEM.
func fieldName(name string) string {
	if len(name) > 64 {
		return check.Quote(name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return check.Quote(name)
		}
	}
	return name
}

// finding turns a shared check's finding into an error about field.
func (r *report) finding(field string, f *check.Finding) *Error {
	return &Error{File: r.file, Field: field, Problem: f.Problem, Hint: f.Hint}
}
