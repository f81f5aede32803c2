package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMainRunsGoTest runs the built command on a small module holding a
// passing, a skipped and (when asked) a failing test: the usual result
// lines, the skip with its reason, and go test's exit status.
func TestMainRunsGoTest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs go test on a module; skipped with -short")
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "skips")
	build := exec.Command("go", "build", "-o", exe, ".")
	built, err := build.CombinedOutput()
	require.NoError(t, err, "%s", built)

	mod := filepath.Join(dir, "mod")
	require.NoError(t, os.MkdirAll(mod, 0o755))
	write := func(name, text string) {
		require.NoError(t, os.WriteFile(filepath.Join(mod, name), []byte(text), 0o644))
	}
	write("go.mod", "module example.com/mod\n\ngo 1.24\n")
	write("a_test.go", `package mod

import (
	"os"
	"testing"
)

func TestPasses(t *testing.T) {}

func TestNeedsAThing(t *testing.T) { t.Skip("the thing is not installed") }

func TestFailsWhenAsked(t *testing.T) {
	if os.Getenv("SKIPS_TEST_FAIL") != "" {
		t.Fatal("failed as asked")
	}
}
`)
	run := func(fail bool) (int, string) {
		cmd := exec.Command(exe, "-count=1", "./...")
		cmd.Dir = mod
		cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
		if fail {
			cmd.Env = append(cmd.Env, "SKIPS_TEST_FAIL=1")
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "%s", out)
			return exit.ExitCode(), string(out)
		}
		return 0, string(out)
	}

	code, out := run(false)
	assert.Equal(t, 0, code, out)
	assert.Regexp(t, `(?m)^ok  \texample.com/mod\t`, out)
	assert.Contains(t, out, "\nSkipped tests (1): these did not run here.\n  SKIP example.com/mod TestNeedsAThing: a_test.go:10: the thing is not installed\n")
	assert.NotContains(t, out, "=== RUN", "the usual, not the verbose, output")

	code, out = run(true)
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "a_test.go:14: failed as asked")
	assert.Regexp(t, `(?m)^FAIL\texample.com/mod\t[^\n]*\nFAIL\n\nSkipped tests`, out)
	assert.True(t, strings.HasSuffix(out, "TestNeedsAThing: a_test.go:10: the thing is not installed\n"), out)
}
