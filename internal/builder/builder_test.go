package builder

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/extbuilder/extbuilder/internal/buildtest"
	"github.com/extbuilder/extbuilder/internal/layout"
	"github.com/extbuilder/extbuilder/internal/release"
	"github.com/extbuilder/extbuilder/pkg/connection"
)

type pkg struct {
	src, meta, bld, rel string
	warnings            []string
	b                   *Builder
}

func newPkg(t *testing.T, typ string, files map[string]string) *pkg {
	d := buildtest.NewDirs(t, typ, files)
	p := &pkg{src: d.Src, meta: d.Meta, bld: d.Bld, rel: d.Rel}
	p.b = &Builder{Warn: func(f string, a ...any) { p.warnings = append(p.warnings, fmt.Sprintf(f, a...)) }}
	return p
}

const index = `{"index":{"fields":["a"]}}`

func TestBuildAndReleaseService(t *testing.T) {
	p := newPkg(t, "CCaaS", map[string]string{
		"connection.json":                                            `{"address":"{{.peername}}-cc:9999","dial_timeout":"10s","tls_required":"false"}`,
		"META-INF/statedb/couchdb/indexes/a.json":                    index,
		"metadata/statedb/couchdb/collections/secret/indexes/b.json": index,
	})
	p.b.Config = `{"peername":"peer0org1"}`
	require.NoError(t, p.b.Build(p.src, p.meta, p.bld))
	assert.Equal(t, []string{
		"META-INF drwxr-xr-x",
		"META-INF/statedb drwxr-xr-x",
		"META-INF/statedb/couchdb drwxr-xr-x",
		"META-INF/statedb/couchdb/collections drwxr-xr-x",
		"META-INF/statedb/couchdb/collections/secret drwxr-xr-x",
		"META-INF/statedb/couchdb/collections/secret/indexes drwxr-xr-x",
		"META-INF/statedb/couchdb/collections/secret/indexes/b.json -rw-r--r--",
		"META-INF/statedb/couchdb/indexes drwxr-xr-x",
		"META-INF/statedb/couchdb/indexes/a.json -rw-r--r--",
		"connection.json -rw-------",
	}, buildtest.Tree(t, p.bld))
	require.Len(t, p.warnings, 1)
	assert.Contains(t, p.warnings[0], `tls_required: the string "false" was written as the JSON boolean false`)

	require.NoError(t, release.Release(p.bld, p.rel))
	assert.Equal(t, []string{
		"chaincode drwxr-xr-x",
		"chaincode/server drwxr-xr-x",
		"chaincode/server/connection.json -rw-------",
		"statedb drwxr-xr-x",
		"statedb/couchdb drwxr-xr-x",
		"statedb/couchdb/collections drwxr-xr-x",
		"statedb/couchdb/collections/secret drwxr-xr-x",
		"statedb/couchdb/collections/secret/indexes drwxr-xr-x",
		"statedb/couchdb/collections/secret/indexes/b.json -rw-r--r--",
		"statedb/couchdb/indexes drwxr-xr-x",
		"statedb/couchdb/indexes/a.json -rw-r--r--",
	}, buildtest.Tree(t, p.rel))
	data, err := os.ReadFile(filepath.Join(p.rel, path.Join(layout.ServerDir, connection.File)))
	require.NoError(t, err)
	assert.JSONEq(t, `{"address":"peer0org1-cc:9999","dial_timeout":"10s","tls_required":false,"client_auth_required":false}`, string(data))
}

func TestBuildFailureLeavesNothing(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"bad connection": {"connection.json": `{"address":"nohost"}`, "META-INF/statedb/couchdb/indexes/a.json": index},
		"bad index":      {"connection.json": `{"address":"cc:9999"}`, "META-INF/statedb/couchdb/indexes/a.json": `{`},
		"no connection":  {"META-INF/statedb/couchdb/indexes/a.json": index},
	} {
		t.Run(name, func(t *testing.T) {
			p := newPkg(t, "external", files)
			require.Error(t, p.b.Build(p.src, p.meta, p.bld))
			assert.Empty(t, buildtest.Tree(t, p.bld))
		})
	}
}

func TestBuildMissingConnectionHint(t *testing.T) {
	p := newPkg(t, "ccaas", nil)
	err := p.b.Build(p.src, p.meta, p.bld)
	assert.EqualError(t, err, "connection.json: file not found; hint: a package of type ccaas or external carries connection.json at the top of code.tar.gz")
}

func TestBuildRefusesForeignType(t *testing.T) {
	p := newPkg(t, "golang", map[string]string{"connection.json": `{"address":"cc:9999"}`})
	err := p.b.Build(p.src, p.meta, p.bld)
	assert.EqualError(t, err, `metadata.json: type: "golang" is not handled by extbuilder (handled: ccaas, external, binary)`)
	assert.Empty(t, buildtest.Tree(t, p.bld))
}

// TestBuildReadOnlyOutput: an output folder that refuses writes is one
// clear error naming BUILD_OUTPUT_DIR, and nothing is left in it. It runs as
// root too (CI runs as root), where the folder is a read-only mount.
func TestBuildReadOnlyOutput(t *testing.T) {
	p := newPkg(t, "ccaas", map[string]string{"connection.json": `{"address":"cc:9999"}`})
	makeReadOnly(t, p.bld)
	err := p.b.Build(p.src, p.meta, p.bld)
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "BUILD_OUTPUT_DIR: cannot write to the output folder"), err.Error())
	assert.Empty(t, buildtest.Tree(t, p.bld))
}

func TestReleaseValidatesAgain(t *testing.T) {
	p := newPkg(t, "ccaas", map[string]string{"connection.json": `{"address":"cc:9999"}`})
	require.NoError(t, p.b.Build(p.src, p.meta, p.bld))
	// A build cache edited by hand, or a build folder from another builder.
	require.NoError(t, os.WriteFile(filepath.Join(p.bld, connection.File), []byte(`{"address":"cc:9999","tls_required":"true"}`), 0o600))
	err := release.Release(p.bld, p.rel)
	assert.EqualError(t, err, "BUILD_OUTPUT_DIR/connection.json: root_cert: required when tls_required is true; hint: give the PEM of the CA that signed the chaincode server's TLS certificate, inline or as root_cert_file")
	assert.Empty(t, buildtest.Tree(t, p.rel))
}

func TestReleaseRefusesEmptyBuild(t *testing.T) {
	p := newPkg(t, "ccaas", nil)
	err := release.Release(p.bld, p.rel)
	assert.EqualError(t, err, "BUILD_OUTPUT_DIR: holds neither connection.json nor entrypoint; hint: it must be the output of extbuilder's build")
}

func TestBuildAndReleaseBinary(t *testing.T) {
	p := newPkg(t, "binary", map[string]string{
		"bin/mycc":        "#!/bin/sh\nexec sleep 1\n",
		"lib/config.yaml": "a: 1\n",
		"connection.json": `{"address":"cc:9999"}`, // not ours in a binary package: it stays in the tree
		"META-INF/statedb/couchdb/indexes/a.json": index,
	})
	require.NoError(t, os.WriteFile(p.meta+"/metadata.json", []byte(`{"type":"binary","label":"mycc","path":"bin/mycc"}`), 0o700))
	require.NoError(t, p.b.Build(p.src, p.meta, p.bld))
	assert.Equal(t, []string{
		"META-INF drwxr-xr-x",
		"META-INF/statedb drwxr-xr-x",
		"META-INF/statedb/couchdb drwxr-xr-x",
		"META-INF/statedb/couchdb/indexes drwxr-xr-x",
		"META-INF/statedb/couchdb/indexes/a.json -rw-r--r--",
		"entrypoint -rw-r--r--",
		"tree drwxr-xr-x",
		"tree/META-INF drwxr-xr-x",
		"tree/META-INF/statedb drwxr-xr-x",
		"tree/META-INF/statedb/couchdb drwxr-xr-x",
		"tree/META-INF/statedb/couchdb/indexes drwxr-xr-x",
		"tree/META-INF/statedb/couchdb/indexes/a.json -rw-r--r--",
		"tree/bin drwxr-xr-x",
		"tree/bin/mycc -rwxr-xr-x",
		"tree/connection.json -rw-r--r--",
		"tree/lib drwxr-xr-x",
		"tree/lib/config.yaml -rw-r--r--",
	}, buildtest.Tree(t, p.bld))
	data, err := os.ReadFile(filepath.Join(p.bld, "tree/bin/mycc"))
	require.NoError(t, err)
	assert.Equal(t, "#!/bin/sh\nexec sleep 1\n", string(data))
	data, err = os.ReadFile(filepath.Join(p.bld, "entrypoint"))
	require.NoError(t, err)
	assert.Equal(t, "bin/mycc\n", string(data))

	require.NoError(t, release.Release(p.bld, p.rel))
	assert.Equal(t, []string{
		"statedb drwxr-xr-x",
		"statedb/couchdb drwxr-xr-x",
		"statedb/couchdb/indexes drwxr-xr-x",
		"statedb/couchdb/indexes/a.json -rw-r--r--",
	}, buildtest.Tree(t, p.rel), "no connection.json: the peer calls run")
}

func TestBuildBinaryDefaultPathAndFailures(t *testing.T) {
	p := newPkg(t, "BINARY", map[string]string{"chaincode": "#!/bin/sh\n"})
	require.NoError(t, p.b.Build(p.src, p.meta, p.bld))
	assert.Equal(t, []string{"entrypoint -rw-r--r--", "tree drwxr-xr-x", "tree/chaincode -rwxr-xr-x"}, buildtest.Tree(t, p.bld))

	p = newPkg(t, "binary", map[string]string{"chaincode": "#!/bin/sh\n", "lib/link": ""})
	require.NoError(t, os.Remove(filepath.Join(p.src, "lib/link")))
	require.NoError(t, os.Symlink("../chaincode", filepath.Join(p.src, "lib/link")))
	require.EqualError(t, p.b.Build(p.src, p.meta, p.bld),
		"lib/link: expected a regular file or folder, found a symbolic link; hint: pack the file itself, not a link to it (tar --dereference)")
	assert.Empty(t, buildtest.Tree(t, p.bld), "a refused tree leaves nothing behind")

	p = newPkg(t, "binary", map[string]string{"README": "no executable here", "META-INF/statedb/couchdb/indexes/a.json": index})
	err := p.b.Build(p.src, p.meta, p.bld)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "chaincode")
	assert.Empty(t, buildtest.Tree(t, p.bld), "a failed build leaves neither the indexes nor an executable")

	p = newPkg(t, "binary", map[string]string{"chaincode": "plain text, not a program"})
	require.Error(t, p.b.Build(p.src, p.meta, p.bld))
	assert.Empty(t, buildtest.Tree(t, p.bld))
}
