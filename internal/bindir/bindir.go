// Package bindir is the layout of the builder's bin/ folder, the one
// `make build` makes: bin/detect and bin/build are binaries (./cmd/detect,
// ./cmd/build), bin/release and bin/run are symbolic links to build, which
// does what it is started as. The tests, the bench and the demo build their
// bin/ folders with Build, so they run what the peer runs.
package bindir

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Names are the programs the peer runs: the first three at install, run at launch.
var Names = []string{"detect", "build", "release", "run"}

// Binaries are the programs built from ./cmd/<name>.
var Binaries = []string{"detect", "build"}

// Links are the programs that are symbolic links to LinkTarget.
var Links = []string{"release", "run"}

// LinkTarget is the binary that Links point to (a relative link, so the
// folder can be copied or moved whole).
const LinkTarget = "build"

// Build builds bin/ from the module at root as `make build` does: static
// (CGO_ENABLED=0), -trimpath, plus goFlags (e.g. "-ldflags", "-s -w").
func Build(root, bin string, goFlags ...string) error {
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	args := append([]string{"build", "-trimpath"}, goFlags...)
	args = append(args, "-o", bin+string(filepath.Separator))
	for _, b := range Binaries {
		args = append(args, "./cmd/"+b)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	for _, p := range Links {
		link := filepath.Join(bin, p)
		if err := os.Remove(link); err != nil && !os.IsNotExist(err) {
			return err
		}
		if err := os.Symlink(LinkTarget, link); err != nil {
			return err
		}
	}
	return nil
}
