package connection

import (
	"fmt"

	"github.com/extbuilder/extbuilder/internal/check"
	"github.com/extbuilder/extbuilder/internal/msg"
)

// Error is a problem with one field of connection.json.
type Error = msg.Error

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

// finding turns a shared check's finding into an error about field.
func (r *report) finding(field string, f *check.Finding) *Error {
	return &Error{File: r.file, Field: field, Problem: f.Problem, Hint: f.Hint}
}
