package fsmsg

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestReason(t *testing.T) {
	_, err := os.Open(filepath.Join(t.TempDir(), "missing"))
	assert.EqualError(t, Reason(err), "no such file or directory")
	err = os.Rename(filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b"))
	assert.EqualError(t, Reason(err), "no such file or directory")
	other := errors.New("disk on fire")
	assert.Equal(t, other, Reason(other))
	assert.True(t, errors.Is(Reason(&fs.PathError{Op: "open", Path: "/x", Err: syscall.ENOSPC}), syscall.ENOSPC))
}

func TestKind(t *testing.T) {
	for mode, want := range map[fs.FileMode]string{
		fs.ModeDir | 0o755:                "a folder",
		0o644:                             "a regular file",
		fs.ModeSymlink | 0o777:            "a symbolic link",
		fs.ModeNamedPipe:                  "a named pipe",
		fs.ModeSocket:                     "a socket",
		fs.ModeDevice | fs.ModeCharDevice: "a device",
		fs.ModeIrregular:                  "a special file",
	} {
		assert.Equal(t, want, Kind(mode), mode.String())
	}
}
