// Package executable installs the prebuilt chaincode executable of a binary
// package and checks, before the peer ever tries to start it, that this
// machine can run it. A file that cannot run would otherwise fail much later,
// at the first launch, with "exec format error" deep in the peer's log.
package executable

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/extbuilder/extbuilder/pkg/check"
	"github.com/extbuilder/extbuilder/pkg/fsmsg"
)

// Error is a problem with the executable or with the path naming it. It
// never quotes file contents.
type Error = check.Error

// Install copies the executable that relPath names inside sourceDir to dest
// with mode 0755. relPath is metadata.json's "path" (the caller passes
// "chaincode" when it is empty); it must stay inside sourceDir, symbolic links
// included. The file must be a regular file this machine can run (see Check).
// dest is written through a temporary file in its own folder and renamed, so
// it is either complete or absent.
func Install(sourceDir, relPath, dest string) error {
	if !filepath.IsLocal(relPath) {
		return &Error{File: "metadata.json", Field: "path",
			Problem: fmt.Sprintf("expected a path inside the package, found %q", relPath),
			Hint:    `name the executable relative to the root of code.tar.gz, e.g. "chaincode" or "bin/chaincode"`}
	}
	name := filepath.ToSlash(filepath.Clean(relPath))

	root, err := os.OpenRoot(sourceDir)
	if err != nil {
		return fmt.Errorf("opening the package folder: %w", err)
	}
	defer root.Close()

	src, err := openRegular(root, name)
	if err != nil {
		return err
	}
	defer src.Close()

	if err := Check(name, src); err != nil {
		return err
	}
	return copyExecutable(src, name, dest)
}

// openRegular opens name inside root, refusing anything but a regular file.
// Symbolic links are refused outright: the peer never unpacks one into a
// package, so one here means the folder did not come from a peer.
func openRegular(root *os.Root, name string) (*os.File, error) {
	info, err := root.Lstat(name)
	if err != nil {
		return nil, notFound(name, err)
	}
	if !info.Mode().IsRegular() {
		return nil, &Error{File: name, Problem: "expected a regular file, found " + fsmsg.Kind(info.Mode()),
			Hint: `metadata.json "path" must name the executable itself`}
	}
	// O_NONBLOCK: should the file be swapped for a FIFO after the check,
	// opening it still cannot hang the build.
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, notFound(name, err)
	}
	if info, err = f.Stat(); err != nil || !info.Mode().IsRegular() {
		f.Close()
		return nil, &Error{File: name, Problem: "expected a regular file, found something else", Err: err}
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
	return &Error{File: name, Problem: "cannot be read: " + fsmsg.Reason(err).Error(), Err: err}
}

func copyExecutable(src *os.File, name, dest string) error {
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return &Error{File: name, Problem: "cannot be read: " + err.Error(), Err: err}
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".tmp-*")
	if err != nil {
		return fmt.Errorf("installing %s: %w", name, err)
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := io.Copy(tmp, src); err != nil {
		return fmt.Errorf("installing %s: %w", name, err)
	}
	// Chmod is not subject to the umask, so the mode is exactly 0755.
	if err := tmp.Chmod(0o755); err != nil {
		return fmt.Errorf("installing %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("installing %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return fmt.Errorf("installing %s: %w", name, err)
	}
	committed = true
	return nil
}
