//go:build unix

package executable

import (
	"net"
	"syscall"
)

func mkfifo(path string) error { return syscall.Mkfifo(path, 0o600) }

// mknodNull makes a character device like /dev/null (root only).
func mknodNull(path string) error { return syscall.Mknod(path, syscall.S_IFCHR|0o600, 1<<8|3) }

// mksocket leaves a unix socket file at path.
func mksocket(path string) error {
	l, err := net.Listen("unix", path)
	if err != nil {
		return err
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	return l.Close()
}
