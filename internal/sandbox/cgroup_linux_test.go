package sandbox

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The machines here have cgroup v1 only: these tests check the writes
// against a plain folder standing for a delegated cgroup v2 folder.

func read(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(data)
}

func TestCgroupWrites(t *testing.T) {
	parent := t.TempDir()
	dir, err := NewCgroup(parent, "run-42", 512<<20, 64)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(parent, "run-42"), dir)
	assert.Equal(t, "536870912\n", read(t, filepath.Join(dir, "memory.max")))
	assert.Equal(t, "64\n", read(t, filepath.Join(dir, "pids.max")))
	require.NoError(t, JoinCgroup(dir, 1234))
	assert.Equal(t, "1234\n", read(t, filepath.Join(dir, "cgroup.procs")))
	assert.False(t, IsCgroup2(parent), "a temporary folder is no cgroup")
}

func TestCgroupRefusals(t *testing.T) {
	_, err := NewCgroup(filepath.Join(t.TempDir(), "missing"), "run-1", 1, 1)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "EXTBUILDER_SANDBOX_CGROUP: cannot make a folder in ")
	assert.Contains(t, err.Error(), "no such file or directory")

	parent := t.TempDir()
	dir, err := NewCgroup(parent, "run-2", 1, 1)
	require.NoError(t, err)
	assert.Error(t, RemoveCgroup(dir), "rmdir only: a real cgroup folder holds no files of its own")
	_, err = NewCgroup(parent, "run-2", 1, 1)
	assert.Error(t, err, "an existing folder is not reused")
}

func TestIsStepNeedsThePipes(t *testing.T) {
	assert.False(t, IsStep([]string{"run", stepArg}), "fds 3 and 4 are not run's pipes here")
	assert.False(t, IsStep([]string{"run", "bld", "meta"}))
}
