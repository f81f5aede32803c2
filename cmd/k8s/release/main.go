// Command release is the Kubernetes builder's bin/release.
package main

import (
	"github.com/extbuilder/extbuilder/internal/cli"
	"github.com/extbuilder/extbuilder/internal/kubebuild"
)

func main() {
	p := &cli.Program{
		Name:    "release",
		Args:    []string{"BUILD_OUTPUT_DIR", "RELEASE_OUTPUT_DIR"},
		Summary: "Places the CouchDB indexes of a k8s package where the peer reads them in RELEASE_OUTPUT_DIR.",
	}
	b := &kubebuild.Builder{Warn: p.Warnf}
	p.Main(func(args []string) error { return b.Release(args[0], args[1]) })
}
