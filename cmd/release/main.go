// Command release is the peer's bin/release: it places connection.json and
// the CouchDB indexes from BUILD_OUTPUT_DIR where the peer reads them.
package main

import (
	"github.com/extbuilder/extbuilder/internal/builder"
	"github.com/extbuilder/extbuilder/internal/cli"
)

func main() {
	p := &cli.Program{
		Name:    "release",
		Args:    []string{"BUILD_OUTPUT_DIR", "RELEASE_OUTPUT_DIR"},
		Summary: "Places connection.json and CouchDB indexes from BUILD_OUTPUT_DIR where the peer reads them in RELEASE_OUTPUT_DIR.",
	}
	b := &builder.Builder{Warn: p.Warnf}
	p.Main(func(args []string) error { return b.Release(args[0], args[1]) })
}
