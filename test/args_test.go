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

// TestWrongArgumentCount: one argument too few or too many is a usage line
// and exit 2, before anything is read.
func TestWrongArgumentCount(t *testing.T) {
	var b strings.Builder
	b.WriteString("# Each program called with one argument too few and one too many (exit 2, usage line).\n")
	b.WriteString("# Regenerate with `go test ./test -update`.\n")
	for _, p := range programs {
		for _, n := range []int{arity[p] - 1, arity[p] + 1} {
			args := make([]string, n)
			for i := range args {
				args[i] = fmt.Sprintf("/nonexistent/arg%d", i+1)
			}
			code, stderr, stdout := runDirect(t, p, args...)
			if code != 2 {
				t.Errorf("%s with %d arguments: exit %d, want 2", p, n, code)
			}
			if !strings.Contains(stderr, "usage: "+p+" ") {
				t.Errorf("%s with %d arguments: no usage line in %q", p, n, stderr)
			}
			if strings.Count(stderr, "\n") != 1 {
				t.Errorf("%s with %d arguments: want one stderr line, got %q", p, n, stderr)
			}
			if stdout != "" {
				t.Errorf("%s wrote to stdout: %q", p, stdout)
			}
			fmt.Fprintf(&b, "\n%s %s: exit %d\n", p, strings.Join(args, " "), code)
			for _, line := range strings.Split(strings.TrimSuffix(stderr, "\n"), "\n") {
				fmt.Fprintf(&b, "    %s\n", line)
			}
		}
	}
	checkGolden(t, "wrong-argument-count", b.String())
}

// TestHelpAndVersion: --help and --version answer on stderr (stdout goes
// nowhere when the peer calls a program) and exit 0.
func TestHelpAndVersion(t *testing.T) {
	var b strings.Builder
	b.WriteString("# --help and --version of each program (built without a version stamp: \"dev\").\n")
	b.WriteString("# Regenerate with `go test ./test -update`.\n")
	for _, p := range programs {
		for _, flag := range []string{"--help", "--version"} {
			code, stderr, stdout := runDirect(t, p, flag)
			if code != 0 {
				t.Errorf("%s %s: exit %d, want 0", p, flag, code)
			}
			if stdout != "" {
				t.Errorf("%s %s wrote to stdout: %q", p, flag, stdout)
			}
			if flag == "--version" && stderr != p+" dev\n" {
				t.Errorf("%s --version printed %q, want %q", p, stderr, p+" dev\n")
			}
			fmt.Fprintf(&b, "\n%s %s: exit %d\n", p, flag, code)
			for _, line := range strings.Split(strings.TrimSuffix(stderr, "\n"), "\n") {
				if line != "" {
					line = "    " + line
				}
				fmt.Fprintf(&b, "%s\n", line)
			}
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
		if code, stderr, stdout := runPath(t, copied, "--version"); code != 0 || stderr != p+" dev\n" || stdout != "" {
			t.Errorf("copy of %s --version: exit %d, stderr %q, stdout %q; want exit 0 and %q", p, code, stderr, stdout, p+" dev\n")
		}
	}
}
