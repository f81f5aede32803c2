// Package executable installs the program of a binary package (its whole
// source tree, and which file in it starts the chaincode) and checks, before
// the peer ever tries to start it, that this machine can run it. A file that cannot run would otherwise fail much later,
// at the first launch, with "exec format error" deep in the peer's log.
package executable

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/extbuilder/extbuilder/internal/msg"
	"github.com/extbuilder/extbuilder/internal/regfile"
)

// Error is a problem with the executable or with the path naming it. It
// never quotes file contents.
type Error = msg.Error

// CheckEntry checks the entry point of the binary package in sourceDir:
// relPath is metadata.json's "path" (the caller passes "chaincode" when it
// is empty); it must stay inside sourceDir, symbolic links included, and
// name a regular file this machine can run (see Check), whose #!
// interpreter, for a script, is installed here (see CheckInterpreter). It
// returns the entry point's cleaned, slash-separated path.
func CheckEntry(sourceDir, relPath string) (string, error) {
	if err := CheckPath(relPath); err != nil {
		return "", err
	}
	name := filepath.ToSlash(filepath.Clean(relPath))
	root, err := os.OpenRoot(sourceDir)
	if err != nil {
		return "", fmt.Errorf("opening the package folder: %w", msg.Reason(err))
	}
	defer root.Close()
	src, err := openRegular(root, name)
	if err != nil {
		return "", err
	}
	defer src.Close()
	if err := Check(name, src); err != nil {
		return "", err
	}
	if err := CheckInterpreter(name, src); err != nil {
		return "", err
	}
	return name, nil
}

// maxPath is Linux's PATH_MAX: no longer path can name a file.
const maxPath = 4096

// CheckPath checks metadata.json's "path" before it reaches the file
// system, which would refuse a NUL or an overlong path with a message
// that echoes the whole value.
func CheckPath(relPath string) error {
	problem := ""
	switch {
	case len(relPath) > maxPath:
		problem = fmt.Sprintf("expected a path of at most %d bytes, found %s", maxPath, msg.Quote(relPath))
	case strings.IndexFunc(relPath, unicode.IsControl) >= 0:
		problem = "expected a path without control characters, found " + msg.Quote(relPath)
	case !filepath.IsLocal(relPath):
		problem = "expected a path inside the package, found " + msg.Quote(relPath)
	default:
		return nil
	}
	return &Error{File: "metadata.json", Field: "path", Problem: problem,
		Hint: `name the executable relative to the root of code.tar.gz, e.g. "chaincode" or "bin/chaincode"`}
}

// openRegular opens name inside root, refusing anything but a regular file
// (regfile.OpenIn). Symbolic links are refused outright: the peer never
// unpacks one into a package, so one here means the folder did not come
// from a peer.
func openRegular(root *os.Root, name string) (*os.File, error) {
	f, _, err := regfile.OpenIn(root, name, 0)
	if err != nil {
		return nil, notFound(name, err)
	}
	return f, nil
}

func notFound(name string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return &Error{File: name, Problem: "no such file in the package", Err: err,
			Hint: `metadata.json "path" names the executable inside code.tar.gz ("chaincode" when empty)`}
	}
	// os.Root reports a symbolic link leading out of the package this way.
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Err != nil && pe.Err.Error() == "path escapes from parent" {
		return &Error{File: name, Problem: "resolves to a location outside the package", Err: err}
	}
	var re *regfile.Error
	if errors.As(err, &re) && re.Err == nil { // a file of the wrong kind
		return &Error{File: name, Problem: err.Error(), Hint: `metadata.json "path" must name the executable itself`}
	}
	return &Error{File: name, Problem: "cannot be read: " + msg.Reason(err).Error(), Err: err}
}
