// Command run is the Kubernetes builder's bin/run: it runs the image of a
// k8s package as a pod and supervises it until it ends. It is the only
// program that links client-go (docs/kubernetes.md).
package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/extbuilder/extbuilder/internal/cli"
	"github.com/extbuilder/extbuilder/internal/kubelaunch"
)

func main() {
	// Catch stop signals first: one that arrives while run is still
	// reading its inputs must neither be lost nor kill run half-way.
	stop := make(chan os.Signal, 4)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)

	p := &cli.Program{
		Name:    "run",
		Args:    []string{"BUILD_OUTPUT_DIR", "RUN_METADATA_DIR"},
		Summary: "Runs the image of a k8s package as a Kubernetes pod and supervises it until it ends (called by the peer).",
	}
	p.Main(func(args []string) error {
		exit, err := kubelaunch.Run(kubelaunch.Config{
			BuildDir:    args[0],
			MetadataDir: args[1],
			Getenv:      os.Getenv,
			Output:      os.Stderr,
			Log:         p,
			Stop:        stop,
		})
		if err != nil {
			return err
		}
		p.Infof("%s", exit.Reason)
		return &cli.ExitStatus{Code: exit.Code}
	})
}
