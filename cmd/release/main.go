// Command release is the peer's bin/release: it places connection.json and
// the CouchDB indexes from BUILD_OUTPUT_DIR where the peer reads them.
package main

import (
	"github.com/extbuilder/extbuilder/internal/cli"
	"github.com/extbuilder/extbuilder/internal/release"
)

func main() {
	p := &cli.Program{
		Name:    "release",
		Args:    []string{"BUILD_OUTPUT_DIR", "RELEASE_OUTPUT_DIR"},
		Summary: "Places connection.json and CouchDB indexes from BUILD_OUTPUT_DIR where the peer reads them in RELEASE_OUTPUT_DIR.",
	}
	p.Main(func(args []string) error { return release.Release(args[0], args[1]) })
}
