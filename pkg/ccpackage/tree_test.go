//go:build unix

package ccpackage

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// appTree writes a binary package's program into dir: an entry point that
// execs a sibling, a data file, node_modules, an empty folder. Files are
// created in the given order with the given mtime, under the process umask
// (owner's execute bit as given).
func appTree(t *testing.T, dir string, mtime time.Time, reverse bool) {
	t.Helper()
	files := map[string]struct {
		body string
		exec bool
	}{
		"bin/start":                          {"#!/bin/sh\nexec ./lib/server \"$@\"\n", true},
		"lib/server":                         {"#!/bin/sh\nexec sleep 600\n", true},
		"etc/config.json":                    {`{"greeting":"hello"}`, false},
		"node_modules/left-pad/index.js":     {"module.exports = (s) => s\n", false},
		"node_modules/left-pad/package.json": {`{"name":"left-pad"}`, false},
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sortStrings(names, reverse)
	for _, n := range names {
		p := filepath.Join(dir, filepath.FromSlash(n))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o777))
		mode := os.FileMode(0o666)
		if files[n].exec {
			mode = 0o777
		}
		require.NoError(t, os.WriteFile(p, []byte(files[n].body), mode))
	}
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "var/empty"), 0o777))
	require.NoError(t, filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		require.NoError(t, err)
		return os.Chtimes(p, mtime, mtime)
	}))
}

func TestWriteDirIsReproducible(t *testing.T) {
	run := func(mask int, mtime time.Time, reverse bool) (string, []byte) {
		var id string
		var data []byte
		withUmask(mask, func() {
			dir := t.TempDir()
			appTree(t, filepath.Join(dir, "app"), mtime, reverse)
			out := filepath.Join(dir, "out.tgz")
			var err error
			id, err = WriteFile(out, Spec{Type: "binary", Label: "app_1.0", Dir: filepath.Join(dir, "app"), Entry: "bin/start"})
			require.NoError(t, err)
			data, err = os.ReadFile(out)
			require.NoError(t, err)
		})
		return id, data
	}
	idA, a := run(0o022, time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC), false)
	idB, b := run(0o077, time.Date(2031, 7, 8, 9, 10, 11, 0, time.UTC), true)
	assert.True(t, bytes.Equal(a, b), "same tree, different mtimes, umask and creation order gave different packages")
	assert.Equal(t, idA, idB)
	assert.Equal(t, ID("app_1.0", a), idA)
}

func TestWriteDirLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "app")
	appTree(t, dir, time.Unix(1e9, 0), false)
	require.NoError(t, os.Chmod(filepath.Join(dir, "bin/start"), 0o644)) // the entry point is packed executable anyway
	var buf bytes.Buffer
	_, err := Write(&buf, Spec{Type: "binary", Label: "app_1.0", Dir: dir, Entry: "./bin//start"})
	require.NoError(t, err)
	outer := readArchive(t, buf.Bytes())
	assert.Equal(t, `{"type":"binary","label":"app_1.0","path":"bin/start"}`, string(outer.bodies[MetadataFile]))
	code := readArchive(t, outer.bodies[CodeFile])
	want := []string{"bin/", "bin/start", "etc/", "etc/config.json", "lib/", "lib/server",
		"node_modules/", "node_modules/left-pad/", "node_modules/left-pad/index.js", "node_modules/left-pad/package.json",
		"var/", "var/empty/"}
	require.Equal(t, want, code.names())
	modes := map[string]int64{"bin/start": 0o755, "lib/server": 0o755, "etc/config.json": 0o644, "node_modules/left-pad/index.js": 0o644}
	for _, h := range code.headers {
		typ, mode := byte(tar.TypeReg), int64(0o644)
		if strings.HasSuffix(h.Name, "/") {
			typ, mode = tar.TypeDir, 0o755
		} else if m, ok := modes[h.Name]; ok {
			mode = m
		}
		checkFixedHeader(t, h, typ, mode)
	}
	assert.Equal(t, "#!/bin/sh\nexec ./lib/server \"$@\"\n", string(code.bodies["bin/start"]))
	assert.Equal(t, `{"greeting":"hello"}`, string(code.bodies["etc/config.json"]))
}

func TestWriteDirRefuses(t *testing.T) {
	cases := []struct {
		name  string
		entry string
		setup func(t *testing.T, dir string)
		want  string
	}{
		{"no entry point", "", nil, "app: the entry point is required"},
		{"entry point missing", "bin/gone", nil, "app: bin/gone: no such file in the package"},
		{"entry point escaping", "../start", nil, `app: entry point: expected a path inside the package, found "../start"`},
		{"entry point absolute", "/bin/sh", nil, `app: entry point: expected a path inside the package, found "/bin/sh"`},
		{"entry point not a program", "etc/config.json", nil, "app: etc/config.json: expected an ELF executable for"},
		{"symbolic link", "bin/start", func(t *testing.T, dir string) {
			require.NoError(t, os.Symlink("/usr/lib", filepath.Join(dir, "lib/system")))
		}, "app: lib/system: expected a regular file or folder, found a symbolic link; hint: pack the file itself, not a link to it (tar --dereference)"},
		{"named pipe", "bin/start", func(t *testing.T, dir string) {
			require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "var/fifo"), 0o600))
		}, "app: var/fifo: expected a regular file or folder, found a named pipe"},
		{"not a folder", "bin/start", func(t *testing.T, dir string) {
			require.NoError(t, os.RemoveAll(dir))
			require.NoError(t, os.WriteFile(dir, nil, 0o644))
		}, "app: expected the folder of the chaincode's program"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "app")
			appTree(t, dir, time.Unix(1e9, 0), false)
			if c.setup != nil {
				c.setup(t, dir)
			}
			spec := Spec{Type: "binary", Label: "app_1.0", Dir: dir, Entry: c.entry}
			_, err := Write(new(bytes.Buffer), spec)
			require.Error(t, err)
			msg := strings.ReplaceAll(err.Error(), dir, "app")
			assert.True(t, strings.HasPrefix(msg, c.want), "got %q", msg)
			assert.NotContains(t, msg, "\n")
		})
	}
}

func TestWriteDirWarnsForWhatThisMachineCannotRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "app")
	writeFile(t, filepath.Join(dir, "bin/cc"), foreignELF(), 0o755)
	writeFile(t, filepath.Join(dir, "index.js"), []byte("#!/usr/bin/env extbuilder-no-such-runtime\n"), 0o755)
	for entry, want := range map[string]string{
		"bin/cc":   "bin/cc: is an ELF executable for",
		"index.js": "index.js: starts with #!/usr/bin/env extbuilder-no-such-runtime, but extbuilder-no-such-runtime is not installed on this machine",
	} {
		var warnings []string
		_, err := Write(new(bytes.Buffer), Spec{Type: "binary", Label: "x", Dir: dir, Entry: entry,
			Warn: func(f string, a ...any) {
				warnings = append(warnings, strings.ReplaceAll(fmt.Sprintf(f, a...), dir+"/", ""))
			}})
		require.NoError(t, err, "packed anyway: the peers may differ from this machine")
		require.Len(t, warnings, 1)
		assert.True(t, strings.HasPrefix(warnings[0], want), "got %q", warnings[0])
		assert.Contains(t, warnings[0], "packed anyway")
	}
}
