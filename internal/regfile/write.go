package regfile

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteAtomic writes path through a temporary file in its folder: write
// fills it, it gets mode exactly (chmod, not the umask: modes are part of
// what is reproducible and of what is secret), is synced and renamed over
// path. On any error path is left as it was and the temporary file is
// removed. An error of the file being written is a *Error ("cannot write:
// ..."); an error write returns for another reason (reading its source,
// say) is returned as it is.
func WriteAtomic(path string, mode fs.FileMode, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return writeError(err)
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := write(writer{tmp}); err != nil {
		return err
	}
	for _, step := range []func() error{func() error { return tmp.Chmod(mode) }, tmp.Sync, tmp.Close} {
		if err := step(); err != nil {
			return writeError(err)
		}
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return writeError(err)
	}
	committed = true
	return nil
}

// writer marks the errors of the file being written as such, so that
// WriteAtomic's callers can tell them from errors reading a source.
type writer struct{ f *os.File }

func (w writer) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		err = writeError(err)
	}
	return n, err
}

// ReadFrom keeps io.Copy's fast path (copy_file_range) into the file.
func (w writer) ReadFrom(r io.Reader) (int64, error) {
	n, err := w.f.ReadFrom(r)
	if err != nil {
		if pe, ok := err.(*fs.PathError); ok && pe.Path == w.f.Name() {
			err = writeError(err)
		}
	}
	return n, err
}

func writeError(err error) error {
	return &Error{Problem: "cannot write: " + reason(err), Err: err}
}
