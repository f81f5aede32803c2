// Command run is the peer's bin/run: it starts the chaincode of a binary
// package with what the chaincode shims expect and supervises it until it
// ends; its exit status is the chaincode's.
package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/extbuilder/extbuilder/internal/cli"
	"github.com/extbuilder/extbuilder/internal/launch"
	"github.com/extbuilder/extbuilder/internal/sandbox"
)

func main() {
	// The sandbox step is this binary started again by run itself, with
	// pipes no package or peer can provide (internal/sandbox).
	if sandbox.IsStep(os.Args) {
		sandbox.StepMain()
	}
	// Catch stop signals first: one that arrives while run is still reading
	// chaincode.json must neither be lost nor kill run half-way.
	stop := make(chan os.Signal, 4)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)

	p := &cli.Program{
		Name:    "run",
		Args:    []string{"BUILD_OUTPUT_DIR", "RUN_METADATA_DIR"},
		Summary: "Starts the chaincode built by build and supervises it until it ends (called by the peer).",
	}
	p.Main(func(args []string) error {
		settings, err := sandbox.FromEnv(os.Getenv)
		if err != nil {
			return err
		}
		// Should the chaincode kill the step, its orphans come to run.
		sandbox.BecomeSubreaper()
		defer sandbox.KillOrphans()
		exit, err := launch.Run(launch.Config{
			BuildDir:    args[0],
			MetadataDir: args[1],
			Env:         os.Environ(),
			Output:      os.Stderr,
			Log:         p,
			Stop:        stop,
			Grace:       launch.DefaultGrace,
			Sandbox:     settings,
		})
		if err != nil {
			return err
		}
		p.Infof("%s", exit.Reason)
		return &cli.ExitStatus{Code: exit.Code}
	})
}
