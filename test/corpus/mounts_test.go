//go:build linux

package corpus

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// readOnly makes a folder unwritable. Tests run as root here, and root
// ignores permission bits, so as root the folder becomes a read-only tmpfs
// (holding what the folder held); otherwise its mode becomes 0500.
func readOnly(dir func(*dirs) string) func(*testing.T, *dirs) ([]string, string) {
	return func(t *testing.T, d *dirs) ([]string, string) {
		p := dir(d)
		if os.Geteuid() != 0 {
			if err := os.Chmod(p, 0o500); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(p, 0o700) })
			return nil, ""
		}
		if skip := mountTmpfs(t, p, "size=1m,mode=0700"); skip != "" {
			return nil, skip
		}
		if err := syscall.Mount("tmpfs", p, "tmpfs", syscall.MS_REMOUNT|syscall.MS_RDONLY, "size=1m,mode=0700"); err != nil {
			return nil, "cannot remount the tmpfs read-only: " + err.Error()
		}
		return nil, ""
	}
}

// fullDisk puts the folder on a 64 KiB tmpfs (holding what the folder held)
// and fills what is left with a file named .filler, which the case keeps.
// Mounting needs root; without it the case is skipped.
func fullDisk(dir func(*dirs) string) func(*testing.T, *dirs) ([]string, string) {
	return func(t *testing.T, d *dirs) ([]string, string) {
		p := dir(d)
		if os.Geteuid() != 0 {
			return nil, "a full file system is simulated with a tmpfs mount, which needs root"
		}
		if skip := mountTmpfs(t, p, "size=64k,mode=0700"); skip != "" {
			return nil, skip
		}
		f, err := os.Create(filepath.Join(p, ".filler"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		chunk := make([]byte, 4096)
		for {
			if _, err := f.Write(chunk); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatal(err)
				}
				break
			}
		}
		keep, err := names(p)
		if err != nil {
			t.Fatal(err)
		}
		return keep, ""
	}
}

// mountTmpfs mounts a tmpfs over p, copying p's files (a flat folder) into
// it first, and unmounts it when the test ends.
func mountTmpfs(t *testing.T, p, options string) string {
	t.Helper()
	saved := map[string][]byte{}
	entries, err := os.ReadDir(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			t.Fatalf("mountTmpfs copies regular files only, %s is not one", e.Name())
		}
		if saved[e.Name()], err = os.ReadFile(filepath.Join(p, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mount("tmpfs", p, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, options); err != nil {
		return "cannot mount a tmpfs here: " + err.Error()
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", p, err)
		}
	})
	for name, data := range saved {
		if err := os.WriteFile(filepath.Join(p, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return ""
}

func names(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out, nil
}
