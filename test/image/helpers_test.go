// Package image tests the release artefacts the Makefile produces: the peer
// image (`make peer-image`, built for real with buildah on a stand-in base)
// and the release archives (`make dist`).
package image

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/extbuilder/extbuilder/internal/bindir"
)

// repoRoot is where the Makefile is.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(root, "Makefile"))
	return root
}

func needMake(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed; this test runs the Makefile's targets")
	}
}

// runMake runs make in the repository with the given arguments and returns
// its combined output.
func runMake(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("make", append([]string{"-C", repoRoot(t), "--no-print-directory"}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// programs returns the Makefile's PROGRAMS, after checking that they are
// internal/bindir's, the programs the other tests run.
func programs(t *testing.T) []string {
	t.Helper()
	out, err := runMake(t, "-s", "--eval", "print-var: ; @echo $(PROGRAMS)", "print-var")
	require.NoError(t, err, out)
	require.Equal(t, bindir.Names, strings.Fields(out), "PROGRAMS in the Makefile")
	return bindir.Names
}

// requireProgram checks one program of a builder's bin/ as an archive or
// image layer holds it: a regular file (never a link), mode 0755, a static
// ELF executable for goarch that prints version.
func requireProgram(t *testing.T, name string, hdr *tar.Header, data []byte, goarch, version string) {
	t.Helper()
	require.Equal(t, byte(tar.TypeReg), hdr.Typeflag, "%s is not a regular file", name)
	assert.Equal(t, int64(0o755), hdr.Mode&0o777, "%s mode", name)
	requireStaticELF(t, name, data, goarch)
	runVersion(t, name, data, goarch, version)
}

var elfMachine = map[string]elf.Machine{
	"amd64": elf.EM_X86_64,
	"arm64": elf.EM_AARCH64,
}

// requireStaticELF checks that data is a statically linked Linux executable
// for goarch: no program interpreter and no dynamic section, so it runs in
// any image, with or without a C library.
func requireStaticELF(t *testing.T, name string, data []byte, goarch string) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(data))
	require.NoError(t, err, "%s is not an ELF file", name)
	defer f.Close()
	require.Equal(t, elf.ET_EXEC, f.Type, "%s: ELF type", name)
	require.Equal(t, elfMachine[goarch], f.Machine, "%s: built for the wrong architecture", name)
	for _, p := range f.Progs {
		require.NotEqual(t, elf.PT_INTERP, p.Type, "%s is dynamically linked (has a program interpreter)", name)
		require.NotEqual(t, elf.PT_DYNAMIC, p.Type, "%s is dynamically linked (has a dynamic segment)", name)
	}
	require.Nil(t, f.Section(".dynamic"), "%s has a .dynamic section", name)
	require.Nil(t, f.Section(".interp"), "%s has an .interp section", name)
}

// runVersion runs a binary taken out of an image or archive with --version
// when the host can execute it, and checks the version stamped by make.
func runVersion(t *testing.T, name string, data []byte, goarch, version string) {
	t.Helper()
	if runtime.GOOS != "linux" || runtime.GOARCH != goarch {
		return
	}
	exe := filepath.Join(t.TempDir(), filepath.Base(name))
	require.NoError(t, os.WriteFile(exe, data, 0o755))
	out, err := exec.Command(exe, "--version").CombinedOutput()
	require.NoError(t, err, "%s --version: %s", name, out)
	require.Contains(t, string(out), version, "%s --version", name)
}

// hostArch is the architecture `make peer-image` builds for by default.
func hostArch(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOARCH").Output()
	require.NoError(t, err)
	return strings.TrimSpace(string(out))
}

func lines(s string) []string {
	return strings.SplitAfter(s, "\n")
}

// insertedBlock returns the lines of after that are not in before, when
// after is before with one contiguous run of lines inserted; it fails the
// test when anything else in the file differs.
func insertedBlock(t *testing.T, before, after string) []string {
	t.Helper()
	b, a := lines(before), lines(after)
	p := 0
	for p < len(b) && p < len(a) && b[p] == a[p] {
		p++
	}
	s := 0
	for s < len(b)-p && s < len(a)-p && b[len(b)-1-s] == a[len(a)-1-s] {
		s++
	}
	require.Equal(t, len(b), p+s, "core.yaml: lines other than the inserted entry changed (first difference at line %d)", p+1)
	return a[p : len(a)-s]
}

// listEntry is one item of externalBuilders: its name and its other lines.
type listEntry struct {
	name string
	body []string
}

// listEntries reads the block list under the "externalBuilders:" line of a
// core.yaml laid out like Fabric's (every entry starting "- name: ").
// Deliberately simple, and independent of internal/coreyaml.
func listEntries(t *testing.T, text string) []listEntry {
	t.Helper()
	ls := strings.Split(text, "\n")
	start := -1
	for i, l := range ls {
		if strings.TrimSpace(l) == "externalBuilders:" {
			require.Equal(t, -1, start, "core.yaml has two externalBuilders keys")
			start = i
		}
	}
	require.NotEqual(t, -1, start, "core.yaml has no externalBuilders key")
	keyIndent := len(ls[start]) - len(strings.TrimLeft(ls[start], " "))
	var out []listEntry
	dash := -1
	for _, l := range ls[start+1:] {
		content := strings.TrimLeft(l, " ")
		indent := len(l) - len(content)
		if content == "" || strings.HasPrefix(content, "#") {
			continue
		}
		if indent <= keyIndent {
			break
		}
		if dash < 0 {
			dash = indent
		}
		if indent == dash {
			require.True(t, strings.HasPrefix(content, "- name: "), "externalBuilders entry starting %q", content)
			out = append(out, listEntry{name: strings.TrimPrefix(content, "- name: ")})
			continue
		}
		out[len(out)-1].body = append(out[len(out)-1].body, strings.TrimSpace(content))
	}
	return out
}
