package main

import (
	"fmt"
	"io"
	"os"

	"github.com/extbuilder/extbuilder/internal/cli"
	"github.com/extbuilder/extbuilder/pkg/ccpackage"
	"github.com/extbuilder/extbuilder/pkg/connection"
)

func init() {
	register("lint", "check a package offline with the peer's and the builder's rules",
		func(args []string) int { return runLint(args, os.Stdout, os.Stderr) })
}

// configFlag is --config: whether it was given matters, even when empty.
type configFlag struct {
	value string
	set   bool
}

func (f *configFlag) String() string     { return f.value }
func (f *configFlag) Set(v string) error { f.value, f.set = v, true; return nil }

func runLint(args []string, stdout, stderr io.Writer) int {
	c := newSubcommand("lint", "PACKAGE.tgz [--config JSON]",
		"Checks a chaincode package with every rule the peer and extbuilder's builder apply, without a peer.\n"+
			"Prints one line per finding on stdout (\"error: ...\" or \"warning: ...\") and exits 1 when any is an error.", stdout, stderr)
	var config configFlag
	c.flags.Var(&config, "config", "the peer's "+connection.ConfigVariable+" (a JSON object): expand connection.json's\n"+
		"templates with it, as build will; without it templates are only parsed")
	pos, code, ok := c.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return c.usageError("expected 1 argument, found %d", len(pos))
	}
	report, err := ccpackage.Lint(pos[0], ccpackage.LintOptions{Expand: config.set, Config: config.value})
	if err != nil {
		return c.fail(err)
	}
	for _, f := range report.Findings {
		fmt.Fprintln(stdout, f)
	}
	errs := report.Errors()
	warnings := len(report.Findings) - errs
	switch {
	case errs > 0:
		c.program.Infof("%s: %s, %s: the package would fail", pos[0], plural(errs, "error"), plural(warnings, "warning"))
		return cli.ExitError
	case warnings > 0:
		c.program.Infof("%s: %s, no errors; package ID %s", pos[0], plural(warnings, "warning"), report.ID)
	default:
		c.program.Infof("%s: no problems found; package ID %s", pos[0], report.ID)
	}
	return cli.ExitOK
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
