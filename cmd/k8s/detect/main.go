// Command detect is the Kubernetes builder's bin/detect: exit 0 claims a
// package of type k8s.
package main

import (
	"github.com/extbuilder/extbuilder/internal/cli"
	"github.com/extbuilder/extbuilder/internal/metadata"
)

func main() {
	p := &cli.Program{
		Name:    "detect",
		Args:    []string{"SOURCE_DIR", "METADATA_DIR"},
		Summary: "Exits 0 when METADATA_DIR/metadata.json has type " + metadata.KubernetesType + " (extbuilder's Kubernetes builder), 1 otherwise.",
	}
	p.Main(func(args []string) error {
		_, err := metadata.ClaimKubernetes(args[1])
		return err
	})
}
