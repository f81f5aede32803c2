// Command extbuilder is the operator's tool: it shares its packages with the
// four programs the peer calls, but is never called by the peer itself, so it
// may print results on stdout.
package main

import (
	"fmt"
	"os"
	"sort"

	"github.com/extbuilder/extbuilder/internal/cli"
)

// command is one subcommand. Each lives in its own file and registers itself.
type command struct {
	summary string
	run     func(args []string) int // returns the exit code
}

var commands = map[string]command{}

func register(name, summary string, run func(args []string) int) {
	commands[name] = command{summary, run}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: extbuilder COMMAND [ARGS]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(os.Stderr, "\nRun 'extbuilder COMMAND --help' for a command's options.")
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(cli.ExitUsage)
	}
	switch os.Args[1] {
	case "--help", "-h", "help":
		usage()
		return
	case "--version", "version":
		fmt.Printf("extbuilder %s\n", cli.Version)
		return
	}
	c, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "extbuilder: unknown command %q\n", os.Args[1])
		usage()
		os.Exit(cli.ExitUsage)
	}
	os.Exit(c.run(os.Args[2:]))
}
