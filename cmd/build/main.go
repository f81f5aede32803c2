// Command build is the peer's bin/build: it validates a claimed package
// and writes what release needs to BUILD_OUTPUT_DIR.
package main

import (
	"os"

	"github.com/extbuilder/extbuilder/internal/builder"
	"github.com/extbuilder/extbuilder/internal/cli"
	"github.com/extbuilder/extbuilder/pkg/connection"
)

func main() {
	p := &cli.Program{
		Name:    "build",
		Args:    []string{"SOURCE_DIR", "METADATA_DIR", "BUILD_OUTPUT_DIR"},
		Summary: "Validates the package in SOURCE_DIR and writes what release needs to BUILD_OUTPUT_DIR.",
	}
	b := &builder.Builder{Config: os.Getenv(connection.ConfigVariable), Warn: p.Warnf}
	p.Main(func(args []string) error { return b.Build(args[0], args[1], args[2]) })
}
