package regfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tree makes a folder holding a file, a link to it, a link out, a pipe,
// a folder and a large file.
func tree(t *testing.T) string {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "file"), []byte("hello"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "large"), make([]byte, 2000), 0o644))
	require.NoError(t, os.Symlink("file", filepath.Join(dir, "link")))
	require.NoError(t, os.Symlink("/etc/hostname", filepath.Join(dir, "link-out")))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "folder"), 0o755))
	return dir
}

// The same file kinds give the same answers, by path and inside a root.
func TestReadAndReadIn(t *testing.T) {
	dir := tree(t)
	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	defer root.Close()
	for name, want := range map[string]string{
		"file":     "",
		"large":    "expected at most 1000 bytes, found 2.0 KiB",
		"link":     "expected a regular file, found a symbolic link",
		"link-out": "expected a regular file, found a symbolic link",
		"pipe":     "expected a regular file, found a named pipe",
		"folder":   "expected a regular file, found a folder",
		"missing":  "file not found",
	} {
		for how, read := range map[string]func() ([]byte, error){
			"Read":   func() ([]byte, error) { return Read(filepath.Join(dir, name), 1000) },
			"ReadIn": func() ([]byte, error) { return ReadIn(root, name, 1000) },
		} {
			data, err := read()
			if want == "" {
				require.NoError(t, err, how+" "+name)
				assert.Equal(t, "hello", string(data), how+" "+name)
				continue
			}
			assert.EqualError(t, err, want, how+" "+name)
			assert.Nil(t, data)
			assert.NotContains(t, err.Error(), dir, "the caller names the file")
		}
	}
	_, err = Read(filepath.Join(dir, "missing"), 10)
	assert.True(t, errors.Is(err, fs.ErrNotExist))
}

func TestDeviceIsRefused(t *testing.T) {
	_, err := Read("/dev/zero", 1<<20)
	assert.EqualError(t, err, "expected a regular file, found a device")
	f, _, err := Open("/dev/zero", 0)
	assert.Nil(t, f)
	assert.EqualError(t, err, "expected a regular file, found a device")
}

// A file may grow between the size check and the read; the cap still holds.
func TestReadCapsWhatItReads(t *testing.T) {
	_, err := Read("/proc/self/status", 10) // size 0 by stat, more when read
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "expected at most 10 bytes, found "), err.Error())
}

func TestReadEmptyFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "empty")
	require.NoError(t, os.WriteFile(p, nil, 0o644))
	data, err := Read(p, 10)
	require.NoError(t, err)
	assert.Empty(t, data)
}

// Open leaves a blocking file, which the network poller does not take.
func TestOpenIsBlocking(t *testing.T) {
	dir := tree(t)
	f, size, err := Open(filepath.Join(dir, "file"), 0)
	require.NoError(t, err)
	defer f.Close()
	assert.Equal(t, int64(5), size)
	fl, _, errno := syscall.Syscall(syscall.SYS_FCNTL, f.Fd(), syscall.F_GETFL, 0)
	require.Zero(t, errno)
	assert.Zero(t, fl&syscall.O_NONBLOCK)
	_, _, err = Open(filepath.Join(dir, "large"), 100)
	assert.EqualError(t, err, "expected at most 100 bytes, found 2.0 KiB")
}

func TestOpenInRefusesEscapes(t *testing.T) {
	dir := tree(t)
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	require.NoError(t, os.Symlink("/etc", filepath.Join(dir, "sub", "etc")))
	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	defer root.Close()
	_, _, err = OpenIn(root, "sub/etc/hostname", 0)
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "cannot open: "), err.Error())
	_, _, err = OpenIn(root, "../x", 0)
	require.Error(t, err)
}

func TestSize(t *testing.T) {
	assert.Equal(t, "64 KiB", Size(64<<10))
	assert.Equal(t, "1 MiB", Size(1<<20))
	assert.Equal(t, "1 GiB", Size(1<<30))
	assert.Equal(t, "1000 bytes", Size(1000))
}
