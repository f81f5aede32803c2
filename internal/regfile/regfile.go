// Package regfile reads and writes the files extbuilder handles, at one
// level of hardening for all of them. Reads take only a regular file: a
// symbolic link is refused, not followed (it could lead out of the folder
// the peer gave); the open does not block, so a named pipe cannot hang an
// install; a device is refused before a byte is read; and no more than a
// cap is read. Writes go through a temporary file in the same folder and a
// rename, so a file is either whole or absent.
//
// Errors say what was expected and found, without the path: callers name
// the file as the operator knows it (msg.Error). They wrap fs.ErrNotExist
// and the like for errors.Is.
package regfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/extbuilder/extbuilder/internal/msg"
)

// Error is a problem reading or writing one file; Error() is the problem
// alone, for a message that names the file its own way.
type Error struct {
	Problem string
	Err     error // the cause, for errors.Is; nil for a file of the wrong kind or size
}

func (e *Error) Error() string { return e.Problem }
func (e *Error) Unwrap() error { return e.Err }

func openError(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return &Error{Problem: "file not found", Err: err}
	}
	return &Error{Problem: "cannot open: " + reason(err), Err: err}
}

func readError(err error) error {
	return &Error{Problem: "cannot read: " + reason(err), Err: err}
}

// reason is err without the path it repeats.
func reason(err error) string { return msg.Reason(err).Error() }

func notRegular(m fs.FileMode) error {
	return &Error{Problem: "expected a regular file, found " + msg.FileKind(m)}
}

// tooLarge says how large the file was, to one decimal: exact byte counts
// of a file that grew, or of generated input, would change from run to run.
func tooLarge(max, size int64) error {
	found := approx(size)
	if found == approx(max) {
		found = "more"
	}
	return &Error{Problem: fmt.Sprintf("expected at most %s, found %s", Size(max), found)}
}

// approx shows a size to one decimal: "2.0 MiB", "64.5 KiB", "900 bytes".
func approx(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// Size shows a size limit for people: "64 KiB", "1 MiB", "1000 bytes".
func Size(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// flags open for reading without following a final symbolic link and
// without waiting for a writer at a named pipe.
const flags = syscall.O_RDONLY | syscall.O_CLOEXEC | syscall.O_NONBLOCK | syscall.O_NOFOLLOW

// Read reads the regular file at path, at most max bytes. It uses plain
// system calls and never an *os.File: os.Open would offer the file to Go's
// network poller, which refuses a regular file only after eight more system
// calls, and detect, which runs for every package a peer installs, reads
// metadata.json here (open, fstat, read, close: nothing else).
func Read(path string, max int64) ([]byte, error) {
	fd, err := open(path)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, readError(err)
	}
	if err := checkStat(&st, max); err != nil {
		return nil, err
	}
	// One read more than the size says: the file may have grown since.
	buf := make([]byte, 0, min(st.Size, max)+1)
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > max {
				return nil, tooLarge(max, int64(len(buf)))
			}
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := syscall.Read(fd, buf[len(buf):cap(buf)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, readError(err)
		}
		if n == 0 {
			break
		}
		buf = buf[:len(buf)+n]
	}
	if int64(len(buf)) > max {
		return nil, tooLarge(max, int64(len(buf)))
	}
	return buf, nil
}

// open opens path with flags, retrying an interrupted call, and words a
// refused link as such (O_NOFOLLOW says only "too many levels of links").
func open(path string) (int, error) {
	for {
		fd, err := syscall.Open(path, flags, 0)
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.ELOOP {
			if st, lerr := os.Lstat(path); lerr == nil && st.Mode()&fs.ModeSymlink != 0 {
				return -1, notRegular(st.Mode())
			}
		}
		if err != nil {
			return -1, openError(&fs.PathError{Op: "open", Path: path, Err: err})
		}
		return fd, nil
	}
}

func checkStat(st *syscall.Stat_t, max int64) error {
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return notRegular(modeOf(st))
	}
	if max > 0 && st.Size > max {
		return tooLarge(max, st.Size)
	}
	return nil
}

// Resolve follows the links in a path the operator gave on the command line
// (Kubernetes, for one, mounts secrets and config maps as links), so that
// Read and Open, which refuse a link, read what the operator meant. A path
// that does not resolve is returned as it is, for Read to say why.
func Resolve(path string) string {
	if p, err := filepath.EvalSymlinks(path); err == nil {
		return p
	}
	return path
}

// modeOf is the fs.FileMode type bits of a stat result.
func modeOf(st *syscall.Stat_t) fs.FileMode {
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		return fs.ModeDir
	case syscall.S_IFLNK:
		return fs.ModeSymlink
	case syscall.S_IFIFO:
		return fs.ModeNamedPipe
	case syscall.S_IFSOCK:
		return fs.ModeSocket
	case syscall.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case syscall.S_IFBLK:
		return fs.ModeDevice
	case syscall.S_IFREG:
		return 0
	}
	return fs.ModeIrregular
}

// Open opens the regular file at path for reading, as Read does, and
// returns it with its size, for a file too large to hold in memory (an
// executable, a package). max <= 0 sets no cap. The file is a blocking
// *os.File: the non-blocking flag, which only served the open, is cleared
// so that the network poller leaves it alone.
func Open(path string, max int64) (*os.File, int64, error) {
	fd, err := open(path)
	if err != nil {
		return nil, 0, err
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return nil, 0, readError(err)
	}
	if err := checkStat(&st, max); err != nil {
		syscall.Close(fd)
		return nil, 0, err
	}
	if err := syscall.SetNonblock(fd, false); err != nil {
		syscall.Close(fd)
		return nil, 0, readError(err)
	}
	return os.NewFile(uintptr(fd), path), st.Size, nil
}

// OpenIn opens name inside root as Open does: a link anywhere on the way
// that would lead out of root is refused by root, and a link at name itself
// is refused outright.
func OpenIn(root *os.Root, name string, max int64) (*os.File, int64, error) {
	if st, err := root.Lstat(name); err != nil {
		return nil, 0, openError(err)
	} else if !st.Mode().IsRegular() {
		return nil, 0, notRegular(st.Mode())
	}
	// The Lstat above and the fstat below bracket the open: a file swapped
	// for a link or a pipe in between is still refused, and O_NONBLOCK
	// keeps the open itself from waiting on a pipe.
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, 0, openError(err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, readError(err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, notRegular(st.Mode())
	}
	if max > 0 && st.Size() > max {
		f.Close()
		return nil, 0, tooLarge(max, st.Size())
	}
	return f, st.Size(), nil
}

// ReadIn reads name inside root as Read does, at most max bytes.
func ReadIn(root *os.Root, name string, max int64) ([]byte, error) {
	f, _, err := OpenIn(root, name, max)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAll(f, max)
}

// readAll reads f to its end, refusing more than max bytes (a file that
// grew after its size was checked).
func readAll(f *os.File, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, readError(err)
	}
	if int64(len(data)) > max {
		return nil, tooLarge(max, int64(len(data)))
	}
	return data, nil
}
