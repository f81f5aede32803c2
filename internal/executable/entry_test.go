package executable

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEntryFindsTheInstalledEntryPoint(t *testing.T) {
	src := pkg(t, map[string][]byte{"bin/start": []byte("#!/bin/sh\n"), "data/x": []byte("x")})
	bld := t.TempDir()
	require.NoError(t, InstallTree(src, "./bin//start", bld, nil))
	exe, dir, name, err := Entry(bld)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(bld, "tree"), dir)
	assert.Equal(t, filepath.Join(bld, "tree", "bin", "start"), exe)
	assert.Equal(t, "bin/start", name)
}

func TestEntryStartsAnEarlierBuildInBUILD_OUTPUT_DIR(t *testing.T) {
	bld := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(bld, "chaincode"), []byte("#!/bin/sh\n"), 0o755))
	exe, dir, name, err := Entry(bld)
	require.NoError(t, err)
	assert.Equal(t, bld, dir)
	assert.Equal(t, filepath.Join(bld, "chaincode"), exe)
	assert.Equal(t, "chaincode", name)
}

func TestEntryRefuses(t *testing.T) {
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "sh"), []byte("#!/bin/sh\n"), 0o755))
	cases := []struct {
		name  string
		entry string // the entrypoint file's contents; "-" for none
		setup func(t *testing.T, tree string)
		want  string
	}{
		{"nothing built", "-", nil, `entrypoint: no such file in BUILD_OUTPUT_DIR; hint: build writes it for packages of type "binary"`},
		{"no newline", "bin/start", nil, "entrypoint: expected one line naming a file inside tree/, found something else"},
		{"two lines", "bin/start\nbin/other\n", nil, "entrypoint: expected one line naming a file inside tree/"},
		{"escaping", "../../etc/passwd\n", nil, "entrypoint: expected one line naming a file inside tree/"},
		{"absolute", "/bin/sh\n", nil, "entrypoint: expected one line naming a file inside tree/"},
		{"too long", string(bytes.Repeat([]byte("a"), 5000)) + "\n", nil, "entrypoint: expected at most 4097 bytes, found 4.9 KiB"},
		{"missing file", "bin/gone\n", nil, "bin/gone: no such file in the package"},
		{"link out of the tree", "bin/link\n", func(t *testing.T, tree string) {
			require.NoError(t, os.Symlink(filepath.Join(outside, "sh"), filepath.Join(tree, "bin/link")))
		}, "bin/link: expected a regular file, found a symbolic link"},
		{"not executable", "bin/start\n", func(t *testing.T, tree string) {
			require.NoError(t, os.Chmod(filepath.Join(tree, "bin/start"), 0o644))
		}, "bin/start: expected an executable file, found mode 0644"},
		{"interpreter gone", "bin/start\n", func(t *testing.T, tree string) {
			require.NoError(t, os.WriteFile(filepath.Join(tree, "bin/start"), []byte("#!/opt/gone/java -jar\n"), 0o755))
		}, "bin/start: starts with #!/opt/gone/java, which is not installed on this peer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bld := t.TempDir()
			tree := filepath.Join(bld, "tree")
			require.NoError(t, os.MkdirAll(filepath.Join(tree, "bin"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(tree, "bin/start"), []byte("#!/bin/sh\n"), 0o755))
			if c.entry != "-" {
				require.NoError(t, os.WriteFile(filepath.Join(bld, "entrypoint"), []byte(c.entry), 0o644))
			}
			if c.setup != nil {
				c.setup(t, tree)
			}
			_, _, _, err := Entry(bld)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.NotContains(t, err.Error(), bld, "names files as the package does")
		})
	}
}

func TestCheckInterpreter(t *testing.T) {
	bin := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(bin, "myruntime"), []byte("#!/bin/sh\n"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(bin, "notexec"), []byte("#!/bin/sh\n"), 0o644))
	t.Setenv("PATH", "relative/dir:"+bin)
	ok := []string{
		"#!/bin/sh\n",
		"#! /bin/sh -e\n",
		"#!/usr/bin/env myruntime\n",
		"#!/usr/bin/env -S myruntime --flag\n",
		"#!/usr/bin/env -S A=1 myruntime\n",
		"#!/usr/bin/env " + bin + "/myruntime\n",
		"#!/usr/bin/env\n",              // env alone: prints the environment
		"#!/usr/bin/env ./local\n",      // relative to the working folder: left to the launch
		"#!/bin/sh", "not a script", "", // no newline; and not scripts at all
	}
	for _, script := range ok {
		assert.NoError(t, CheckInterpreter("start", bytes.NewReader([]byte(script))), "%q", script)
	}
	bad := map[string]string{
		"#!/nonexistent/node\n":            "start: starts with #!/nonexistent/node, which is not installed on this peer",
		"#!/usr/bin/env node-xyz-absent\n": "start: starts with #!/usr/bin/env node-xyz-absent, but node-xyz-absent is not installed on this peer (not in PATH=relative/dir:" + bin + ")",
		"#!/usr/bin/env notexec\n":         "but notexec is not installed on this peer",
		"#!/usr/bin/env -S localonly x\n":  "but localonly is not installed on this peer",
		"#!/usr/bin/env /opt/x/java\n":     "start: starts with #!/usr/bin/env /opt/x/java, and /opt/x/java is not installed on this peer",
		"#!\n":                             "start: starts with #! but names no interpreter",
		"#!bin/node\n":                     `start: expected an absolute interpreter path after #!, found "bin/node"`,
	}
	for script, want := range bad {
		err := CheckInterpreter("start", bytes.NewReader([]byte(script)))
		require.Error(t, err, "%q", script)
		assert.Contains(t, err.Error(), want)
	}
	assert.ErrorIs(t, CheckInterpreter("s", bytes.NewReader([]byte("#!/nonexistent/node\n"))), ErrNoInterpreter)
}
