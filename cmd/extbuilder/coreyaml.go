package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/extbuilder/extbuilder/internal/cli"
	"github.com/extbuilder/extbuilder/internal/coreyaml"
	"github.com/extbuilder/extbuilder/internal/regfile"
	"github.com/extbuilder/extbuilder/pkg/connection"
)

// The entry Dockerfile.peer writes, and the default for operators.
const (
	defaultBuilderName = "extbuilder"
	defaultBuilderPath = "/opt/hyperledger/extbuilder"
	defaultPropagate   = connection.ConfigVariable
	maxCoreYAML        = 4 << 20 // far above any real core.yaml
)

func init() {
	register("core-yaml", "add extbuilder as the first chaincode.externalBuilders entry of a core.yaml",
		func(args []string) int { return runCoreYAML(args, os.Stdin, os.Stdout, os.Stderr) })
}

const coreYAMLUsage = `usage: extbuilder core-yaml [-name NAME] [-path DIR] [-propagate VARS] [-o OUTPUT] [CORE_YAML]

Adds this entry as the first item of chaincode.externalBuilders, keeping
every other byte of the file (comments, order, other builders) unchanged:

    - name: extbuilder
      path: /opt/hyperledger/extbuilder
      propagateEnvironment:
        - CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG

Reads CORE_YAML (standard input when absent or "-") and writes the result to
standard output, or to OUTPUT, which may be CORE_YAML itself (replaced
atomically). An entry with the same name and path already there is left as
it is; the same name with another path is an error. Layouts that cannot be
edited safely (aliases, flow lists over several lines, ...) and text that is
not valid YAML are refused with the line and what was found.

Options:
`

func runCoreYAML(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	p := &cli.Program{Name: "extbuilder core-yaml", Stdout: stdout, Stderr: stderr}
	fset := flag.NewFlagSet("extbuilder core-yaml", flag.ContinueOnError)
	fset.SetOutput(io.Discard) // errors are printed as one line below
	fset.Usage = func() {}
	name := fset.String("name", defaultBuilderName, "builder `name` (stored by the peer with every build)")
	dir := fset.String("path", defaultBuilderPath, "absolute path of the `folder` holding bin/detect, bin/build, bin/release, bin/run")
	propagate := fset.String("propagate", defaultPropagate, "comma-separated environment `variables` the peer passes to the builder; empty for none")
	out := fset.String("o", "", "write to `file` instead of standard output")
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			// Help that was asked for: stdout, exit 0.
			fmt.Fprint(stdout, coreYAMLUsage)
			fset.SetOutput(stdout)
			fset.PrintDefaults()
			return cli.ExitOK
		}
		return p.UsageErrorf("%v; run 'extbuilder core-yaml --help'", err)
	}
	if fset.NArg() > 1 {
		return p.UsageErrorf("expected at most one CORE_YAML argument, found %d; run 'extbuilder core-yaml --help'", fset.NArg())
	}
	b := coreyaml.Builder{Name: *name, Path: *dir}
	for _, v := range strings.Split(*propagate, ",") {
		if v = strings.TrimSpace(v); v != "" {
			b.PropagateEnvironment = append(b.PropagateEnvironment, v)
		}
	}
	if err := b.Validate(); err != nil {
		p.Infof("%v", err)
		return cli.ExitUsage
	}

	in, label := fset.Arg(0), "stdin"
	var src []byte
	var err error
	if in == "" || in == "-" {
		src, err = io.ReadAll(io.LimitReader(stdin, maxCoreYAML+1))
	} else {
		label = in
		src, err = readLimited(in)
	}
	if err == nil && len(src) > maxCoreYAML {
		err = fmt.Errorf("larger than %d MiB; expected a peer core.yaml", maxCoreYAML>>20)
	}
	if err != nil {
		p.Infof("%s: %v", label, err)
		return cli.ExitError
	}

	r, err := coreyaml.InsertFirst(src, b)
	if err != nil {
		p.Infof("%s: %v", label, err)
		return cli.ExitError
	}
	if !r.Changed {
		p.Infof("%s: an entry named %s with path %s is already there (line %d); nothing changed", label, b.Name, b.Path, r.Line)
		if r.Names[0] != b.Name {
			p.Warnf("%s: %s is not the first of chaincode.externalBuilders (%s); the peer asks %s first",
				label, b.Name, strings.Join(r.Names, ", "), r.Names[0])
		}
	}

	if *out == "" {
		if _, err := stdout.Write(r.Text); err != nil {
			p.Infof("writing standard output: %v", err)
			return cli.ExitError
		}
		return cli.ExitOK
	}
	if err := writeAtomic(*out, r.Text); err != nil {
		p.Infof("%s: %v", *out, err)
		return cli.ExitError
	}
	return cli.ExitOK
}

// readLimited reads the core.yaml the operator named, following links on
// the way (a ConfigMap is mounted as one), as regfile reads any file.
func readLimited(name string) ([]byte, error) {
	return regfile.Read(regfile.Resolve(name), maxCoreYAML)
}

// writeAtomic replaces name with data so that a reader never sees half a
// core.yaml (regfile.WriteAtomic). An existing file keeps its mode.
func writeAtomic(name string, data []byte) error {
	mode := fs.FileMode(0o644)
	if st, err := os.Stat(name); err == nil {
		if !st.Mode().IsRegular() {
			return errors.New("not a regular file")
		}
		mode = st.Mode().Perm()
	}
	return regfile.WriteAtomic(name, mode, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
