// Command extbuilder is the operator's tool: it shares its packages with the
// four programs the peer calls, but is never called by the peer itself, so it
// may print results on stdout.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/extbuilder/extbuilder/internal/cli"
	"github.com/extbuilder/extbuilder/internal/msg"
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

func commandNames() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// usage is the help that was asked for: it goes to stdout.
func usage(stdout io.Writer) {
	fmt.Fprintln(stdout, "usage: extbuilder COMMAND [ARGS]\n\ncommands:")
	for _, n := range commandNames() {
		fmt.Fprintf(stdout, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(stdout, "\nRun 'extbuilder COMMAND --help' for a command's options.")
}

// dispatch runs the command args name and returns the exit code: help and
// the version on stdout, exit 0; a usage error in one line on stderr, exit 2.
func dispatch(args []string, stdout, stderr io.Writer) int {
	p := &cli.Program{Name: "extbuilder", Stdout: stdout, Stderr: stderr}
	if len(args) == 0 {
		return p.UsageErrorf("expected a command (%s); run 'extbuilder --help'", strings.Join(commandNames(), ", "))
	}
	switch args[0] {
	case "--help", "-h", "help":
		usage(stdout)
		return cli.ExitOK
	case "--version", "version":
		fmt.Fprintf(stdout, "extbuilder %s\n", cli.Version)
		return cli.ExitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		return p.UsageErrorf("unknown command %s; expected one of %s; run 'extbuilder --help'", msg.Quote(args[0]), strings.Join(commandNames(), ", "))
	}
	return c.run(args[1:])
}

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}
