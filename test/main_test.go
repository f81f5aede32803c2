//go:build unix

// End-to-end tests: the builders, built from ./cmd, installed by peersim
// exactly as a peer installs a package, with golden files for what they
// print and leave behind.
package test

import (
	"bytes"
	"debug/elf"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/extbuilder/extbuilder/internal/bindir"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// builderDir is the builder folder (holding bin/detect, bin/build,
// bin/release, bin/run) that every test installs with.
var builderDir string

// programs are what a peer calls: the first three at install, run at launch.
var programs = bindir.Names

func TestMain(m *testing.M) {
	flag.Parse()
	// The peer image runs with umask 022; fixing it keeps the modes in the
	// golden trees independent of the developer's shell.
	syscall.Umask(0o022)

	dir, err := os.MkdirTemp("", "extbuilder-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	builderDir = filepath.Join(dir, "extbuilder")
	err = buildPrograms(filepath.Join(builderDir, "bin"))
	code := 1
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildPrograms lays out bin as `make build` does (without the version
// stamp), and the operator tool in tools/ beside it.
func buildPrograms(bin string) error {
	if err := bindir.Build("..", bin); err != nil {
		return fmt.Errorf("building the builders failed: %v", err)
	}
	if err := bindir.GoBuild("..", toolPath(), []string{"./cmd/extbuilder"}); err != nil {
		return fmt.Errorf("building extbuilder failed: %v", err)
	}
	return nil
}

// program is the path of one built binary.
func program(name string) string { return filepath.Join(builderDir, "bin", name) }

// toolPath is the path of the built operator tool, outside the builder's bin/.
func toolPath() string { return filepath.Join(filepath.Dir(builderDir), "tools", "extbuilder") }

// TestProgramsAreStatic checks the property the peer image relies on: the
// binaries need no C library (`make build` uses the same CGO_ENABLED=0).
func TestProgramsAreStatic(t *testing.T) {
	for _, p := range programs {
		data, err := os.ReadFile(program(p))
		if err != nil {
			t.Fatal(err)
		}
		f, err := elf.NewFile(bytes.NewReader(data))
		if err != nil {
			t.Skipf("%s is not an ELF binary on this system: %v", p, err)
		}
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				t.Errorf("%s is dynamically linked (it has an ELF interpreter)", p)
			}
		}
	}
}
