package cli

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
)

func program() (*Program, *bytes.Buffer) {
	var buf bytes.Buffer
	return &Program{Name: "build", Args: []string{"A", "B"}, Summary: "Does it.", Stderr: &buf}, &buf
}

func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		err    error
		code   int
		stderr string
	}{
		{"ok", []string{"a", "b"}, nil, 0, ""},
		{"error", []string{"a", "b"}, errors.New("connection.json: address: bad\nsecond"), 1, "build: connection.json: address: bad second\n"},
		{"exit status", []string{"a", "b"}, &ExitStatus{Code: 143, Err: errors.New("stopped")}, 143, "build: stopped\n"},
		{"silent exit status", []string{"a", "b"}, &ExitStatus{Code: 3}, 3, ""},
		{"too few", []string{"a"}, nil, 2, "build: expected 2 arguments, found 1; usage: build A B\n"},
		{"too many", []string{"a", "b", "c"}, nil, 2, "build: expected 2 arguments, found 3; usage: build A B\n"},
		{"version", []string{"--version"}, nil, 0, "build dev\n"},
		{"help", []string{"--help"}, nil, 0, "usage: build A B\nDoes it.\n\nOptions: --help, --version. Documentation: README.md of extbuilder.\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, buf := program()
			called := false
			code := p.Run(tc.args, func([]string) error { called = true; return tc.err })
			assert.Equal(t, tc.code, code)
			assert.Equal(t, tc.stderr, buf.String())
			assert.Equal(t, len(tc.args) == 2, called)
		})
	}
}

func TestWarnf(t *testing.T) {
	p, buf := program()
	p.Warnf("%s: odd", "connection.json")
	assert.Equal(t, "build: warning: connection.json: odd\n", buf.String())
}
