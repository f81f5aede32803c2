package kubebuild

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/extbuilder/extbuilder/internal/buildtest"
)

const k8sDigest = "sha256:b35962f000d26ad046d4102f22d70a1351692fc69a9ddead89dfa13aefb942a7"

func TestBuildAndRelease(t *testing.T) {
	// A package as fabric-builder-k8s's users write it: image.json and
	// CouchDB indexes under META-INF.
	p := newPkg(t, "k8s", map[string]string{
		"image.json": `{
  "name": "ghcr.io/hyperledger/asset-transfer-basic",
  "digest": "` + k8sDigest + `",
  "tag": "1.0"
}`,
		"META-INF/statedb/couchdb/indexes/a.json":                    index,
		"META-INF/statedb/couchdb/collections/secret/indexes/b.json": index,
	})
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
		"image.json -rw-r--r--",
	}, buildtest.Tree(t, p.bld))
	data, err := os.ReadFile(filepath.Join(p.bld, "image.json"))
	require.NoError(t, err)
	assert.JSONEq(t, `{"name":"ghcr.io/hyperledger/asset-transfer-basic","digest":"`+k8sDigest+`"}`, string(data))
	assert.Equal(t, []string{`image.json: field "tag" is ignored: the pod runs the image by its digest`}, p.warnings)

	require.NoError(t, p.b.Release(p.bld, p.rel))
	// Indexes where the peer reads them, and no connection.json: the
	// peer calls run.
	assert.Equal(t, []string{
		"statedb drwxr-xr-x",
		"statedb/couchdb drwxr-xr-x",
		"statedb/couchdb/collections drwxr-xr-x",
		"statedb/couchdb/collections/secret drwxr-xr-x",
		"statedb/couchdb/collections/secret/indexes drwxr-xr-x",
		"statedb/couchdb/collections/secret/indexes/b.json -rw-r--r--",
		"statedb/couchdb/indexes drwxr-xr-x",
		"statedb/couchdb/indexes/a.json -rw-r--r--",
	}, buildtest.Tree(t, p.rel))
}

func TestBuildKubernetesRefusesBadPackages(t *testing.T) {
	for _, tc := range []struct {
		name, typ string
		files     map[string]string
		want      string
	}{
		{"tag only", "k8s", map[string]string{"image.json": `{"name":"ghcr.io/hyperledger/asset-transfer-basic","tag":"1.0"}`},
			`image.json: digest: required, but missing: the tag "1.0" alone is refused because a tag can be moved to another image; hint: pin the image by digest`},
		{"no image.json", "k8s", map[string]string{"connection.json": `{}`},
			`image.json: file not found; hint: a package of type k8s carries image.json at the top of code.tar.gz`},
		{"not k8s", "binary", map[string]string{"image.json": `{}`},
			`metadata.json: type: "binary" is not handled by extbuilder's Kubernetes builder (handled: k8s)`},
		{"bad index", "k8s", map[string]string{"image.json": `{"name":"a/b","digest":"` + k8sDigest + `"}`, "META-INF/statedb/couchdb/indexes/a.json": `{`},
			`META-INF/statedb/couchdb/indexes/a.json`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPkg(t, tc.typ, tc.files)
			err := p.b.Build(p.src, p.meta, p.bld)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Empty(t, buildtest.Tree(t, p.bld), "nothing half-written")
		})
	}
}

func TestReleaseKubernetesChecksTheBuild(t *testing.T) {
	p := newPkg(t, "k8s", nil)
	require.NoError(t, os.WriteFile(filepath.Join(p.bld, "image.json"), []byte(`{"name":"a/b","digest":"sha256:1"}`), 0o644))
	err := p.b.Release(p.bld, p.rel)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `BUILD_OUTPUT_DIR/image.json: digest: expected 64 lower-case hexadecimal digits`)
	assert.Empty(t, buildtest.Tree(t, p.rel))
}

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
