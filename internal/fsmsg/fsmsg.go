// Package fsmsg words file-system problems for one-line messages that
// already name the file: the reason without the path, and what kind of
// thing stands where a file or folder was expected.
package fsmsg

import (
	"errors"
	"io/fs"
	"os"
)

// Reason strips the path from a path or link error, keeping the cause
// ("no such file or directory"); other errors are returned as they are.
func Reason(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// Kind names the type of a file for "expected ..., found <Kind>".
func Kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m.IsRegular():
		return "a regular file"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}
