package regfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out")
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	require.NoError(t, WriteAtomic(p, 0o755, func(w io.Writer) error {
		_, err := io.WriteString(w, "new")
		return err
	}))
	st, err := os.Stat(p)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), st.Mode().Perm(), "the mode is exact, whatever the umask")
	data, _ := os.ReadFile(p)
	assert.Equal(t, "new", string(data))

	// A failing writer leaves the old file and no temporary file.
	boom := errors.New("source went away")
	err = WriteAtomic(p, 0o600, func(w io.Writer) error {
		io.WriteString(w, "half")
		return boom
	})
	assert.Same(t, boom, err, "the writer's own error comes back as it is")
	data, _ = os.ReadFile(p)
	assert.Equal(t, "new", string(data))
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 1)
}

func TestWriteAtomicWriteErrors(t *testing.T) {
	// A folder that does not exist: the temporary file cannot be made.
	err := WriteAtomic(filepath.Join(t.TempDir(), "no", "out"), 0o644, func(io.Writer) error { return nil })
	var we *Error
	require.True(t, errors.As(err, &we), "%v", err)
	assert.Equal(t, "cannot write: no such file or directory", err.Error())

	// A full disk: /dev/full refuses every write. The writer's write
	// error is marked as a write error.
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full:", err)
	}
	defer full.Close()
	_, err = writer{f: full}.Write([]byte("x"))
	require.True(t, errors.As(err, &we), "%v", err)
	assert.Equal(t, "cannot write: no space left on device", err.Error())
}
