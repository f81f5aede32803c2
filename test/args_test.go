//go:build unix

package test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/extbuilder/extbuilder/internal/bindir"
)

// arity is how many arguments the peer passes to each program.
var arity = map[string]int{"detect": 2, "build": 3, "release": 2, "run": 2}

// runDirect runs a built program outside any install, with an empty
// environment, and returns its exit code, stderr and stdout.
func runDirect(t *testing.T, name string, args ...string) (int, string, string) {
	t.Helper()
	return runPath(t, program(name), args...)
}

// runPath is runDirect for the binary at path.
func runPath(t *testing.T, path string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Env = []string{}
	cmd.Dir = t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), stderr.String(), stdout.String()
}

// record writes one command line's outcome to a golden: the exit code,
// then each stream that is not empty, under its name.
func record(b *strings.Builder, cmdline string, code int, stdout, stderr string) {
	fmt.Fprintf(b, "\n%s: exit %d\n", cmdline, code)
	for _, s := range []struct{ name, text string }{{"stdout", stdout}, {"stderr", stderr}} {
		if s.text == "" {
			continue
		}
		fmt.Fprintf(b, "  %s:\n", s.name)
		for _, line := range strings.Split(strings.TrimSuffix(s.text, "\n"), "\n") {
			if line != "" {
				line = "    " + line
			}
			fmt.Fprintf(b, "%s\n", line)
		}
	}
}

// checkUsageError: exit 2, one line on stderr prefixed with the program's
// name, nothing on stdout.
func checkUsageError(t *testing.T, cmdline, prefix string, code int, stdout, stderr string) {
	t.Helper()
	if code != 2 {
		t.Errorf("%s: exit %d, want 2", cmdline, code)
	}
	if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, prefix+": ") {
		t.Errorf("%s: want one stderr line starting %q, got %q", cmdline, prefix+": ", stderr)
	}
	if stdout != "" {
		t.Errorf("%s wrote to stdout: %q", cmdline, stdout)
	}
}

// TestWrongArgumentCount: one argument too few or too many, and any
// argument starting with "-" other than a lone --help or --version (never a
// path), are a usage line and exit 2, before anything is read. The same
// convention holds for the operator tool.
func TestWrongArgumentCount(t *testing.T) {
	var b strings.Builder
	b.WriteString("# Wrong command lines: each program called with one argument too few and one too many,\n")
	b.WriteString("# and with options it does not have; extbuilder likewise (exit 2, one stderr line).\n")
	b.WriteString("# Regenerate with `go test ./test -update`.\n")
	for _, p := range programs {
		var lines [][]string
		for _, n := range []int{arity[p] - 1, arity[p] + 1} {
			args := make([]string, n)
			for i := range args {
				args[i] = fmt.Sprintf("/nonexistent/arg%d", i+1)
			}
			lines = append(lines, args)
		}
		// The right count, with an option in it: still never a path.
		src := t.TempDir()
		meta := t.TempDir()
		if err := os.WriteFile(filepath.Join(meta, "metadata.json"), []byte(`{"type":"ccaas","label":"x"}`), 0o644); err != nil {
			t.Fatal(err)
		}
		right := []string{src, meta, t.TempDir()}[:arity[p]]
		for _, opt := range []string{"--bogus", "-h", "-"} {
			args := append([]string{opt}, right[1:]...)
			lines = append(lines, args)
		}
		lines = append(lines, append(append([]string{}, right[:arity[p]-1]...), "--help"))
		for _, args := range lines {
			code, stderr, stdout := runDirect(t, p, args...)
			cmdline := p + " " + strings.Join(args, " ")
			checkUsageError(t, cmdline, p, code, stdout, stderr)
			if !strings.Contains(stderr, "usage: "+p+" ") {
				t.Errorf("%s: no usage line in %q", cmdline, stderr)
			}
			record(&b, redactTemp(cmdline, right), code, stdout, redactTemp(stderr, right))
		}
	}
	for _, args := range [][]string{
		nil, {"bogus"}, {"--bogus"},
		{"core-yaml", "--bogus"}, {"core-yaml", "a.yaml", "b.yaml"},
		{"id"}, {"id", "a.tgz", "b.tgz"}, {"id", "--bogus", "a.tgz"},
		{"lint"}, {"lint", "--config"},
		{"package", "--bogus"}, {"package", "--type", "ccaas"},
	} {
		code, stderr, stdout := runPath(t, toolPath(), args...)
		cmdline := strings.TrimSpace("extbuilder " + strings.Join(args, " "))
		prefix := "extbuilder"
		if len(args) > 0 && !strings.HasPrefix(args[0], "-") && args[0] != "bogus" {
			prefix += " " + args[0]
		}
		checkUsageError(t, cmdline, prefix, code, stdout, stderr)
		record(&b, cmdline, code, stdout, stderr)
	}
	checkGolden(t, "wrong-argument-count", b.String())
}

// redactTemp replaces the test's temporary folders in s by $DIR1...
func redactTemp(s string, dirs []string) string {
	for i, d := range dirs {
		s = strings.ReplaceAll(s, d, fmt.Sprintf("$DIR%d", i+1))
	}
	return s
}

// TestHelpAndVersion: --help and --version, asked for, answer on stdout
// and exit 0, with nothing on stderr; extbuilder and each of its commands
// likewise.
func TestHelpAndVersion(t *testing.T) {
	var b strings.Builder
	b.WriteString("# --help and --version of each program and of extbuilder (built without a version stamp: \"dev\").\n")
	b.WriteString("# Regenerate with `go test ./test -update`.\n")
	check := func(cmdline, path string, args ...string) string {
		code, stderr, stdout := runPath(t, path, args...)
		if code != 0 {
			t.Errorf("%s: exit %d, want 0", cmdline, code)
		}
		if stderr != "" {
			t.Errorf("%s wrote to stderr: %q", cmdline, stderr)
		}
		if stdout == "" {
			t.Errorf("%s printed nothing on stdout", cmdline)
		}
		record(&b, cmdline, code, stdout, stderr)
		return stdout
	}
	for _, p := range programs {
		check(p+" --help", program(p), "--help")
		if out := check(p+" --version", program(p), "--version"); out != p+" dev\n" {
			t.Errorf("%s --version printed %q, want %q", p, out, p+" dev\n")
		}
	}
	check("extbuilder --help", toolPath(), "--help")
	if out := check("extbuilder --version", toolPath(), "--version"); out != "extbuilder dev\n" {
		t.Errorf("extbuilder --version printed %q", out)
	}
	for _, c := range []string{"core-yaml", "id", "lint", "package"} {
		out := check("extbuilder "+c+" --help", toolPath(), c, "--help")
		if strings.HasSuffix(strings.TrimSpace(out), "Options:") {
			t.Errorf("extbuilder %s --help ends with an empty Options heading", c)
		}
	}
	checkGolden(t, "help-and-version", b.String())
}

// TestFourRegularBinaries: bin/ holds four regular files, one per program,
// each doing its own job whatever it is named (no argv[0] dispatch), so a
// plain copy under any name, as ConfigMaps and `kubectl cp` make, works.
func TestFourRegularBinaries(t *testing.T) {
	dir := t.TempDir()
	for _, p := range bindir.Names {
		st, err := os.Lstat(program(p))
		if err != nil {
			t.Fatalf("bin/%s: %v", p, err)
		}
		if !st.Mode().IsRegular() {
			t.Errorf("bin/%s: mode %v, want a regular file", p, st.Mode())
		}
		data, err := os.ReadFile(program(p))
		if err != nil {
			t.Fatal(err)
		}
		copied := filepath.Join(dir, "copy-of-"+p)
		if err := os.WriteFile(copied, data, 0o755); err != nil {
			t.Fatal(err)
		}
		if code, stderr, stdout := runPath(t, copied, "--version"); code != 0 || stdout != p+" dev\n" || stderr != "" {
			t.Errorf("copy of %s --version: exit %d, stderr %q, stdout %q; want exit 0 and %q on stdout", p, code, stderr, stdout, p+" dev\n")
		}
	}
}
