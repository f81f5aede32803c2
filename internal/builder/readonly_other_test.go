//go:build !linux

package builder

import (
	"os"
	"testing"
)

// makeReadOnly makes dir refuse new entries (root, which ignores permission
// bits, is handled on Linux only, with a read-only bind mount).
func makeReadOnly(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() == 0 {
		t.Skip("root ignores folder permissions, and read-only bind mounts are Linux only")
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
}
