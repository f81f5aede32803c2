package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// IsCgroup2 reports whether dir is in a cgroup v2 file system.
func IsCgroup2(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
}

// NewCgroup makes parent/name, one launch's cgroup folder, and writes its
// memory.max and pids.max. The caller removes it with RemoveCgroup once
// every process in it has ended.
func NewCgroup(parent, name string, memory, pids int64) (string, error) {
	dir := filepath.Join(parent, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", fmt.Errorf("%s: cannot make a folder in %s: %v", CgroupVariable, quote(parent), reason(err))
	}
	for _, f := range []struct {
		name  string
		value int64
	}{{"memory.max", memory}, {"pids.max", pids}} {
		if err := writeControl(dir, f.name, strconv.FormatInt(f.value, 10)); err != nil {
			os.Remove(dir)
			return "", err
		}
	}
	return dir, nil
}

// JoinCgroup moves process pid into dir.
func JoinCgroup(dir string, pid int) error {
	return writeControl(dir, "cgroup.procs", strconv.Itoa(pid))
}

// RemoveCgroup removes a folder made by NewCgroup; a cgroup folder holds
// only kernel files, so rmdir is all it takes.
func RemoveCgroup(dir string) error { return os.Remove(dir) }

// writeControl writes a cgroup control file, which exists already in a
// real cgroup folder (O_CREATE serves the tests' plain folders).
func writeControl(dir, name, value string) error {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err == nil {
		_, err = f.WriteString(value + "\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("%s: cannot write %s in %s: %v", CgroupVariable, name, quote(dir), reason(err))
	}
	return nil
}
