// Command build is the peer's bin/build, bin/release and bin/run: one binary
// that does what it is started as. `make build` installs it as bin/build and
// links bin/release and bin/run to it, so the certificate, template and
// process code that most of its size is ships once, not three times.
// bin/detect stays a binary of its own: the peer runs it for every package
// it installs, and it starts fastest without that code.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/extbuilder/extbuilder/pkg/builder"
	"github.com/extbuilder/extbuilder/pkg/cli"
	"github.com/extbuilder/extbuilder/pkg/connection"
	"github.com/extbuilder/extbuilder/pkg/launch"
)

// programs are the names this binary answers to, as the peer calls them.
var programs = map[string]func(){"build": build, "release": release, "run": run}

func main() {
	name := "" // a caller may pass no argv[0] at all
	if len(os.Args) > 0 {
		name = filepath.Base(os.Args[0])
	}
	program, ok := programs[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "%s: started as %q; expected build, release or run (this binary does what it is named); "+
			"hint: install it as bin/build with bin/release and bin/run linked to it, as make build does\n", name, name)
		os.Exit(cli.ExitUsage)
	}
	program()
}

func build() {
	p := &cli.Program{
		Name:    "build",
		Args:    []string{"SOURCE_DIR", "METADATA_DIR", "BUILD_OUTPUT_DIR"},
		Summary: "Validates the package in SOURCE_DIR and writes what release needs to BUILD_OUTPUT_DIR.",
	}
	b := &builder.Builder{Config: os.Getenv(connection.ConfigVariable), Warn: p.Warnf}
	p.Main(func(args []string) error { return b.Build(args[0], args[1], args[2]) })
}

func release() {
	p := &cli.Program{
		Name:    "release",
		Args:    []string{"BUILD_OUTPUT_DIR", "RELEASE_OUTPUT_DIR"},
		Summary: "Places connection.json and CouchDB indexes from BUILD_OUTPUT_DIR where the peer reads them in RELEASE_OUTPUT_DIR.",
	}
	b := &builder.Builder{Warn: p.Warnf}
	p.Main(func(args []string) error { return b.Release(args[0], args[1]) })
}

// run starts BUILD_OUTPUT_DIR/chaincode of a binary package with what the
// chaincode shims expect and supervises it until it ends; its exit status
// is the chaincode's.
func run() {
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
		exit, err := launch.Run(launch.Config{
			BuildDir:    args[0],
			MetadataDir: args[1],
			Env:         os.Environ(),
			Output:      os.Stderr,
			Log:         p,
			Stop:        stop,
			Grace:       launch.DefaultGrace,
		})
		if err != nil {
			return err
		}
		p.Infof("%s", exit.Reason)
		return &cli.ExitStatus{Code: exit.Code}
	})
}
