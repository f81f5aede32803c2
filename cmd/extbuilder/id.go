package main

import (
	"fmt"
	"io"
	"os"

	"github.com/extbuilder/extbuilder/internal/cli"
	"github.com/extbuilder/extbuilder/pkg/ccpackage"
)

func init() {
	register("id", "print a package's package ID as the peer computes it",
		func(args []string) int { return runID(args, os.Stdout, os.Stderr) })
}

func runID(args []string, stdout, stderr io.Writer) int {
	c := newSubcommand("id", "PACKAGE.tgz",
		"Prints LABEL:SHA256, the ID `peer lifecycle chaincode install` gives the package file: the label from\n"+
			"its metadata.json and the SHA-256 of the file's bytes. Fails where the peer would refuse the package.", stdout, stderr)
	pos, code, ok := c.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return c.usageError("expected 1 argument, found %d", len(pos))
	}
	id, warnings, err := ccpackage.FileID(pos[0])
	if err != nil {
		return c.fail(err)
	}
	for _, w := range warnings {
		c.program.Warnf("%s; hint: extbuilder lint checks the whole package", w)
	}
	fmt.Fprintln(stdout, id)
	return cli.ExitOK
}
