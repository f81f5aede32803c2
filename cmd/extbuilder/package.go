package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/extbuilder/extbuilder/internal/cli"
	"github.com/extbuilder/extbuilder/internal/metadata"
	"github.com/extbuilder/extbuilder/internal/msg"
	"github.com/extbuilder/extbuilder/pkg/ccpackage"
)

func init() {
	register("package", "write a reproducible chaincode package and print its package ID",
		func(args []string) int { return runPackage(args, os.Stdout, os.Stderr) })
}

func runPackage(args []string, stdout, stderr io.Writer) int {
	c := newSubcommand("package",
		"--type ccaas|external|binary|k8s --label LABEL [--connection FILE] [--executable FILE | --dir DIR --entry PATH] [--image NAME@sha256:DIGEST] [--indexes DIR] [-o FILE]",
		"Writes a chaincode package that `peer lifecycle chaincode install` accepts, byte for byte the same\n"+
			"for the same inputs, and prints its package ID on stdout.", stdout, stderr)
	typ := c.flags.String("type", "", "package type: ccaas or external (the peer dials a chaincode server), binary (the peer starts an executable), k8s (the Kubernetes builder runs an image as a pod)")
	label := c.flags.String("label", "", "package label, e.g. mycc_1.0 (letters, digits and _.+-)")
	conn := c.flags.String("connection", "", "connection.json for ccaas and external; files its *_file fields name are packed too")
	exe := c.flags.String("executable", "", "the chaincode executable, for binary: packed alone")
	dir := c.flags.String("dir", "", "the chaincode's whole program, for binary: every file and folder in DIR is packed")
	entry := c.flags.String("entry", "", "with --dir: the file that starts the chaincode, relative to DIR (e.g. bin/start)")
	image := c.flags.String("image", "", "the chaincode image pinned by digest, NAME@sha256:DIGEST, for k8s")
	indexes := c.flags.String("indexes", "", "optional folder holding indexes/ and collections/<name>/indexes/")
	out := c.flags.String("o", "", "package file to write (default LABEL.tgz)")
	pos, code, ok := c.parse(args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		return c.usageError("unexpected argument %s", msg.Quote(pos[0]))
	}
	if *typ == "" || *label == "" {
		return c.usageError("--type and --label are required")
	}
	switch (metadata.Metadata{Type: *typ}).Mode() {
	case metadata.Service:
		if *conn == "" {
			return c.usageError("--type %s needs --connection connection.json", *typ)
		}
		if *exe != "" || *dir != "" {
			return c.usageError("--executable and --dir are for --type binary; a %s package carries connection.json", *typ)
		}
		if *image != "" {
			return c.usageError("--image is for --type k8s; a %s package carries connection.json", *typ)
		}
	case metadata.Kubernetes:
		if *image == "" {
			return c.usageError("--type k8s needs --image NAME@sha256:DIGEST")
		}
		if *conn != "" || *exe != "" || *dir != "" {
			return c.usageError("--connection, --executable and --dir are not packed for --type k8s, which carries image.json")
		}
	case metadata.Binary:
		if (*exe == "") == (*dir == "") {
			return c.usageError("--type binary needs --executable FILE, or --dir DIR with --entry PATH")
		}
		if (*dir == "") != (*entry == "") {
			return c.usageError("--dir and --entry go together: the folder, and the file in it that starts the chaincode")
		}
		if *conn != "" {
			return c.usageError("--connection is for --type ccaas or external; the peer starts a binary package through bin/run")
		}
		if *image != "" {
			return c.usageError("--image is for --type k8s; a binary package carries an executable")
		}
	default:
		return c.usageError("--type: expected one of %s, %s, found %s", metadata.HandledTypes, metadata.KubernetesType, msg.Quote(*typ))
	}
	if *out == "" {
		*out = *label + ".tgz"
	}
	id, err := ccpackage.WriteFile(*out, ccpackage.Spec{
		Type: *typ, Label: *label, Connection: *conn, Executable: *exe, Dir: *dir, Entry: *entry, Image: *image, Indexes: *indexes,
		Warn: c.program.Warnf,
	})
	if err != nil {
		return c.fail(err)
	}
	fmt.Fprintln(stdout, id)
	return cli.ExitOK
}

// subcommand is the shell that package, id and lint share: flags anywhere
// among the arguments, --help, and one-line messages on stderr prefixed
// with "extbuilder NAME".
type subcommand struct {
	synopsis string
	about    string
	flags    *flag.FlagSet
	program  *cli.Program
	stdout   io.Writer // --help only: the command's results go to the stdout it was given
}

func newSubcommand(name, synopsis, about string, stdout, stderr io.Writer) *subcommand {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are printed our way, in one line
	return &subcommand{
		synopsis: "usage: extbuilder " + name + " " + synopsis,
		about:    about,
		flags:    fs,
		program:  &cli.Program{Name: "extbuilder " + name, Stdout: stdout, Stderr: stderr},
		stdout:   stdout,
	}
}

// parse parses flags placed before, between or after the positional
// arguments (everything after "--" is positional). When ok is false the
// command must exit with code.
func (c *subcommand) parse(args []string) (positional []string, code int, ok bool) {
	var rest []string
	for i, a := range args {
		if a == "--" {
			args, rest = args[:i], args[i+1:]
			break
		}
	}
	for {
		err := c.flags.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			// Help that was asked for: stdout, exit 0.
			fmt.Fprintf(c.stdout, "%s\n%s\n", c.synopsis, c.about)
			hasFlags := false
			c.flags.VisitAll(func(*flag.Flag) { hasFlags = true })
			if hasFlags {
				fmt.Fprint(c.stdout, "\nOptions:\n")
				c.flags.SetOutput(c.stdout)
				c.flags.PrintDefaults()
			}
			return nil, cli.ExitOK, false
		}
		if err != nil {
			// Go's flag errors quote the argument, which may be anything.
			return nil, c.usageError("%s", msg.Safe(err.Error())), false
		}
		args = c.flags.Args()
		if len(args) == 0 {
			return append(positional, rest...), 0, true
		}
		positional, args = append(positional, args[0]), args[1:]
	}
}

// usageError prints one line with the synopsis and returns the usage exit code.
func (c *subcommand) usageError(format string, a ...any) int {
	return c.program.UsageErrorf("%s; %s", fmt.Sprintf(format, a...), c.synopsis)
}

// fail prints err as one line and returns the error exit code.
func (c *subcommand) fail(err error) int {
	c.program.Infof("%s", strings.TrimSpace(err.Error()))
	return cli.ExitError
}
