// Package cli is the shared shell of the extbuilder programs: arguments,
// --help and --version, one-line errors on stderr and exit codes.
//
// One convention for every program: help or a version that was asked for
// goes to stdout, exit 0; a usage error is one line on stderr, prefixed with
// the program name, exit 2. The peer discards stdout, so nothing else is
// ever written there.
package cli

import (
	"errors"
	"fmt"
	"github.com/extbuilder/extbuilder/internal/msg"
	"io"
	"os"
	"strings"
)

// Version is stamped at link time: -ldflags "-X .../internal/cli.Version=v1.2.3".
var Version = "dev"

// Exit codes shared by the programs.
const (
	ExitOK    = 0
	ExitError = 1 // the work failed (or, for detect, "not mine")
	ExitUsage = 2 // the program was called with the wrong arguments
)

// Program describes one executable.
type Program struct {
	Name    string    // program name, prefixed to every line it prints
	Args    []string  // names of the positional arguments, e.g. SOURCE_DIR
	Summary string    // one sentence for --help
	Stdout  io.Writer // --help and --version only; os.Stdout when nil
	Stderr  io.Writer // os.Stderr when nil
}

// Warnf prints a warning line. The peer logs every stderr line at INFO.
func (p *Program) Warnf(format string, a ...any) {
	p.line("warning: " + fmt.Sprintf(format, a...))
}

// Infof prints an informational line.
func (p *Program) Infof(format string, a ...any) {
	p.line(fmt.Sprintf(format, a...))
}

func (p *Program) line(s string) {
	// One event, one line: the peer reads stderr line by line.
	s = strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", " ")
	fmt.Fprintf(p.stderr(), "%s: %s\n", p.Name, s)
}

func (p *Program) stderr() io.Writer {
	if p.Stderr == nil {
		return os.Stderr
	}
	return p.Stderr
}

func (p *Program) stdout() io.Writer {
	if p.Stdout == nil {
		return os.Stdout
	}
	return p.Stdout
}

// UsageErrorf prints one usage line and returns ExitUsage.
func (p *Program) UsageErrorf(format string, a ...any) int {
	p.line(fmt.Sprintf(format, a...))
	return ExitUsage
}

func (p *Program) usage() string {
	return fmt.Sprintf("usage: %s %s", p.Name, strings.Join(p.Args, " "))
}

// ExitError lets a run function choose its exit status; its message, when
// not empty, is printed like any other error.
type ExitStatus struct {
	Code int
	Err  error
}

func (e *ExitStatus) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitStatus) Unwrap() error { return e.Err }

// Run handles --help, --version and the argument count, then calls run with
// the positional arguments and returns the process exit code. The peer
// passes absolute folder paths, so an argument starting with "-" is never
// taken for a path: other than a lone --help or --version, it is a usage
// error, before anything is read.
func (p *Program) Run(args []string, run func(args []string) error) int {
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			continue
		}
		switch {
		case (a == "--help" || a == "--version") && len(args) > 1:
			return p.UsageErrorf("%s takes no other arguments; %s", a, p.usage())
		case a == "--help":
			fmt.Fprintf(p.stdout(), "%s\n%s\n\n%s\n", p.usage(), p.Summary,
				"Options: --help, --version. Documentation: README.md of extbuilder.")
			return ExitOK
		case a == "--version":
			fmt.Fprintf(p.stdout(), "%s %s\n", p.Name, Version)
			return ExitOK
		default:
			return p.UsageErrorf("unknown option %s (only --help and --version are options); %s", msg.Quote(a), p.usage())
		}
	}
	if len(args) != len(p.Args) {
		return p.UsageErrorf("expected %d arguments, found %d; %s", len(p.Args), len(args), p.usage())
	}
	err := run(args)
	if err == nil {
		return ExitOK
	}
	code := ExitError
	var st *ExitStatus
	if errors.As(err, &st) {
		code = st.Code
		if st.Err == nil {
			return code
		}
	}
	p.line(err.Error())
	return code
}

// Main runs the program with os.Args and exits.
func (p *Program) Main(run func(args []string) error) {
	os.Exit(p.Run(os.Args[1:], run))
}
