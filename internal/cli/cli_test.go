package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func program() (*Program, *bytes.Buffer) {
	p, _, stderr := programOut()
	return p, stderr
}

func programOut() (*Program, *bytes.Buffer, *bytes.Buffer) {
	var stdout, stderr bytes.Buffer
	return &Program{Name: "build", Args: []string{"A", "B"}, Summary: "Does it.", Stdout: &stdout, Stderr: &stderr}, &stdout, &stderr
}

func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		err    error
		code   int
		stderr string
		stdout string
	}{
		{"ok", []string{"a", "b"}, nil, 0, "", ""},
		{"error", []string{"a", "b"}, errors.New("connection.json: address: bad\nsecond"), 1, "build: connection.json: address: bad second\n", ""},
		{"exit status", []string{"a", "b"}, &ExitStatus{Code: 143, Err: errors.New("stopped")}, 143, "build: stopped\n", ""},
		{"silent exit status", []string{"a", "b"}, &ExitStatus{Code: 3}, 3, "", ""},
		{"too few", []string{"a"}, nil, 2, "build: expected 2 arguments, found 1; usage: build A B\n", ""},
		{"too many", []string{"a", "b", "c"}, nil, 2, "build: expected 2 arguments, found 3; usage: build A B\n", ""},
		// Asked for: stdout, exit 0.
		{"version", []string{"--version"}, nil, 0, "", "build dev\n"},
		{"help", []string{"--help"}, nil, 0, "", "usage: build A B\nDoes it.\n\nOptions: --help, --version. Documentation: README.md of extbuilder.\n"},
		// Anything else starting with "-" is a usage error, never a path,
		// even where the argument count is right.
		{"unknown option", []string{"--bogus", "b"}, nil, 2, "build: unknown option \"--bogus\" (only --help and --version are options); usage: build A B\n", ""},
		{"unknown option last", []string{"a", "-x"}, nil, 2, "build: unknown option \"-x\" (only --help and --version are options); usage: build A B\n", ""},
		{"single dash", []string{"a", "-"}, nil, 2, "build: unknown option \"-\" (only --help and --version are options); usage: build A B\n", ""},
		{"short help", []string{"-h"}, nil, 2, "build: unknown option \"-h\" (only --help and --version are options); usage: build A B\n", ""},
		{"help with arguments", []string{"a", "--help"}, nil, 2, "build: --help takes no other arguments; usage: build A B\n", ""},
		{"key as option", []string{"-----BEGIN PRIVATE KEY-----", "b"}, nil, 2, "build: unknown option PEM text (27 bytes, not shown) (only --help and --version are options); usage: build A B\n", ""},
		{"long option cut", []string{"-" + strings.Repeat("é", 40), "b"}, nil, 2, "build: unknown option \"-" + strings.Repeat("é", 39) + "...\" (81 bytes) (only --help and --version are options); usage: build A B\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, stdout, stderr := programOut()
			called := false
			code := p.Run(tc.args, func([]string) error { called = true; return tc.err })
			assert.Equal(t, tc.code, code)
			assert.Equal(t, tc.stderr, stderr.String())
			assert.Equal(t, tc.stdout, stdout.String())
			assert.Equal(t, tc.code != 2 && len(tc.args) == 2, called)
		})
	}
}

func TestWarnf(t *testing.T) {
	p, buf := program()
	p.Warnf("%s: odd", "connection.json")
	assert.Equal(t, "build: warning: connection.json: odd\n", buf.String())
}
