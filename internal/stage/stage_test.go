package stage

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func names(t *testing.T, dir string) []string {
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestCommitMovesEverythingLastLast(t *testing.T) {
	final := t.TempDir()
	d, err := New(final)
	require.NoError(t, err)
	require.NoError(t, d.WriteFile("secret.json", []byte("s"), 0o600))
	require.NoError(t, d.WriteFile("a/b/c.json", []byte("c"), 0o644))
	assert.Len(t, names(t, final), 1, "only the staging folder exists before Commit")
	require.NoError(t, d.Commit("secret.json", "absent"))
	d.Discard()
	assert.Equal(t, []string{"a", "secret.json"}, names(t, final))
	st, err := os.Stat(filepath.Join(final, "secret.json"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
}

func TestDiscardLeavesNothing(t *testing.T) {
	final := t.TempDir()
	d, err := New(final)
	require.NoError(t, err)
	require.NoError(t, d.WriteFile("x/y", []byte("y"), 0o644))
	d.Discard()
	assert.Empty(t, names(t, final))
}

func TestCommitRefusesToOverwrite(t *testing.T) {
	final := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(final, "connection.json"), []byte("old"), 0o600))
	d, err := New(final)
	require.NoError(t, err)
	defer d.Discard()
	require.NoError(t, d.WriteFile("connection.json", []byte("new"), 0o600))
	assert.EqualError(t, d.Commit(), "output folder already holds connection.json")
	data, _ := os.ReadFile(filepath.Join(final, "connection.json"))
	assert.Equal(t, "old", string(data))
}

func TestNewFailsOnMissingFolder(t *testing.T) {
	_, err := New(filepath.Join(t.TempDir(), "missing"))
	assert.EqualError(t, err, "cannot write to the output folder: no such file or directory")
}
