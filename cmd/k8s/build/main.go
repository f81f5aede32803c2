// Command build is the Kubernetes builder's bin/build.
package main

import (
	"github.com/extbuilder/extbuilder/internal/cli"
	"github.com/extbuilder/extbuilder/internal/kubebuild"
)

func main() {
	p := &cli.Program{
		Name:    "build",
		Args:    []string{"SOURCE_DIR", "METADATA_DIR", "BUILD_OUTPUT_DIR"},
		Summary: "Checks image.json (an image pinned by digest) and the CouchDB indexes of a k8s package and writes them to BUILD_OUTPUT_DIR.",
	}
	b := &kubebuild.Builder{Warn: p.Warnf}
	p.Main(func(args []string) error { return b.Build(args[0], args[1], args[2]) })
}
