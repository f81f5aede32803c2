// Package buildtest holds the fixtures shared by the tests of build's and
// release's logic (internal/builder and internal/kubebuild). Only tests
// import it.
package buildtest

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

// Dirs are the folders the peer gives build and release for one package.
type Dirs struct{ Src, Meta, Bld, Rel string }

// NewDirs makes them under t.TempDir(): metadata.json of type typ and
// label mycc in Meta, and files (path: content) in Src.
func NewDirs(t *testing.T, typ string, files map[string]string) Dirs {
	t.Helper()
	root := t.TempDir()
	d := Dirs{Src: root + "/src", Meta: root + "/meta", Bld: root + "/bld", Rel: root + "/release"}
	for _, dir := range []string{d.Src, d.Meta, d.Bld, d.Rel} {
		require.NoError(t, os.Mkdir(dir, 0o700))
	}
	require.NoError(t, os.WriteFile(d.Meta+"/metadata.json", []byte(`{"type":"`+typ+`","label":"mycc"}`), 0o700))
	for name, content := range files {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(d.Src, name)), 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(d.Src, name), []byte(content), 0o644))
	}
	return d
}

// Tree lists a folder as sorted "path mode" lines, folders included.
func Tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		require.NoError(t, err)
		if p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, fmt.Sprintf("%s %v", rel, info.Mode()))
		}
		return nil
	}))
	sort.Strings(out)
	return out
}
