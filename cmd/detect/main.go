// Command detect is the peer's bin/detect: exit 0 claims the package.
package main

import (
	"github.com/extbuilder/extbuilder/internal/cli"
	"github.com/extbuilder/extbuilder/internal/metadata"
)

func main() {
	p := &cli.Program{
		Name:    "detect",
		Args:    []string{"SOURCE_DIR", "METADATA_DIR"},
		Summary: "Exits 0 when METADATA_DIR/metadata.json has a type extbuilder handles (" + metadata.HandledTypes + "), 1 otherwise.",
	}
	p.Main(func(args []string) error {
		_, err := metadata.Claim(args[1])
		return err
	})
}
