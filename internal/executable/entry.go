package executable

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/extbuilder/extbuilder/internal/layout"
	"github.com/extbuilder/extbuilder/internal/regfile"
)

// Entry finds what run starts in buildDir (BUILD_OUTPUT_DIR): the entry
// point that layout.EntryFile names inside layout.TreeDir, to be started with layout.TreeDir as
// its working directory, so that the chaincode finds its own files by
// relative paths. A build cached by a version of build that installed only
// the executable holds BUILD_OUTPUT_DIR/chaincode instead, started in
// BUILD_OUTPUT_DIR as it was then. name is the entry point as messages show
// it. Everything is checked again (build did it on this peer, but the
// build cache can outlive a change of the peer's image): a regular,
// executable file inside the tree that this machine can run.
func Entry(buildDir string) (exe, dir, name string, err error) {
	hint := `build writes it for packages of type "binary"; rebuild the package with this builder (peer lifecycle chaincode install)`
	data, err := regfile.Read(filepath.Join(buildDir, layout.EntryFile), maxPath+1)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if _, lerr := os.Lstat(filepath.Join(buildDir, layout.Executable)); lerr == nil {
			dir, name = buildDir, layout.Executable // a build of an earlier version
			break
		}
		return "", "", "", &Error{File: layout.EntryFile, Problem: "no such file in BUILD_OUTPUT_DIR", Hint: hint, Err: err}
	case err != nil:
		return "", "", "", &Error{File: layout.EntryFile, Problem: err.Error(), Hint: hint}
	default:
		line, ok := strings.CutSuffix(string(data), "\n")
		if !ok || strings.Contains(line, "\n") || CheckPath(line) != nil {
			return "", "", "", &Error{File: layout.EntryFile, Problem: "expected one line naming a file inside " + layout.TreeDir + "/, found something else", Hint: hint}
		}
		dir, name = filepath.Join(buildDir, layout.TreeDir), filepath.ToSlash(filepath.Clean(line))
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return "", "", "", err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return "", "", "", &Error{File: filepath.Base(dir), Problem: "cannot be read: " + err.Error(), Hint: hint}
	}
	defer root.Close()
	f, err := openRegular(root, name)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Hint = hint
		}
		return "", "", "", err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", "", "", unreadable(name, err)
	}
	if info.Mode().Perm()&0o111 == 0 {
		return "", "", "", &Error{File: name, Problem: fmt.Sprintf("expected an executable file, found mode %04o", info.Mode().Perm()), Hint: hint}
	}
	if err := Check(name, f); err != nil {
		return "", "", "", err
	}
	if err := CheckInterpreter(name, f); err != nil {
		return "", "", "", err
	}
	return filepath.Join(dir, filepath.FromSlash(name)), dir, name, nil
}
