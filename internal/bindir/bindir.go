// Package bindir is the layout of the builder's bin/ folder, the one
// `make build` makes: four static binaries, bin/<name> built from
// ./cmd/<name>. The tests, the bench and the demo build their bin/ folders
// with Build, so they run what the peer runs.
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

// Build builds bin/ from the module at root as `make build` does: static
// (CGO_ENABLED=0), -trimpath, plus goFlags (e.g. "-ldflags", "-s -w").
func Build(root, bin string, goFlags ...string) error {
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	var pkgs []string
	for _, name := range Names {
		pkgs = append(pkgs, "./cmd/"+name)
	}
	return GoBuild(root, bin+string(filepath.Separator), pkgs, goFlags...)
}

// GoBuild builds pkgs (paths relative to root) to dest as Build builds the
// builder's programs; dest ending in a separator is a folder for several.
// The tests build their stand-in chaincode and tools with it.
func GoBuild(root, dest string, pkgs []string, goFlags ...string) error {
	args := append([]string{"build", "-trimpath"}, goFlags...)
	args = append(args, "-o", dest)
	args = append(args, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}
