package imageref

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const digest = "sha256:802c336235cc1e7347e2da36c73fa2e4b6437cfc6f52872674d1e23f23bba63b"

func TestParseAcceptsFabricBuilderK8sFiles(t *testing.T) {
	// fabric-builder-k8s's documented example, byte for byte the shape its
	// users' packages carry.
	img, warnings, err := Parse([]byte(`{
  "name": "ghcr.io/hyperledger-labs/go-contract",
  "digest": "`+digest+`"
}`), File)
	require.NoError(t, err)
	assert.Empty(t, warnings)
	assert.Equal(t, "ghcr.io/hyperledger-labs/go-contract@"+digest, img.Reference())
	assert.Equal(t, `{"name":"ghcr.io/hyperledger-labs/go-contract","digest":"`+digest+`"}`+"\n", string(img.Marshal()))

	for _, name := range []string{"asset", "library/asset", "localhost:5000/org/asset", "registry.example.com:443/a/b/c", "docker.io/org/asset-transfer_basic"} {
		_, _, err := Parse([]byte(`{"name":"`+name+`","digest":"`+digest+`"}`), File)
		assert.NoError(t, err, name)
	}
}

func TestParseRefusesBadFiles(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"name":"ghcr.io/hyperledger/asset-transfer-basic","tag":"1.0"}`,
			`image.json: digest: required, but missing: the tag "1.0" alone is refused because a tag can be moved to another image; hint: pin the image by digest`},
		{`{"name":"ghcr.io/org/asset"}`, `image.json: digest: required, but missing; hint: pin the image by digest`},
		{`{"digest":"` + digest + `"}`, `image.json: name: required, but missing; hint: write the image repository, e.g. "ghcr.io/org/asset"`},
		{`{"name":"","digest":"` + digest + `"}`, `image.json: name: required, but empty`},
		{`{"name":"ghcr.io/org/asset:1.0","digest":"` + digest + `"}`, `image.json: name: expected a repository name without a tag, found "ghcr.io/org/asset:1.0"`},
		{`{"name":"ghcr.io/org/asset@` + digest + `","digest":"` + digest + `"}`, `image.json: name: expected a repository name without a digest`},
		{`{"name":"GHCR.io/Org/Asset","digest":"` + digest + `"}`, `image.json: name: expected an image repository name, found "GHCR.io/Org/Asset" (invalid reference format: repository name (Org/Asset) must be lowercase)`},
		{`{"name":"ghcr.io/org/asset","digest":"sha512:` + strings.Repeat("a", 128) + `"}`, `image.json: digest: expected "sha256:" and 64 hexadecimal digits, found "sha512:`},
		{`{"name":"ghcr.io/org/asset","digest":"sha256:` + strings.Repeat("A", 64) + `"}`, `image.json: digest: expected 64 lower-case hexadecimal digits after "sha256:", found "AAAA`},
		{`{"name":"ghcr.io/org/asset","digest":"sha256:abc"}`, `image.json: digest: expected 64 lower-case hexadecimal digits after "sha256:", found "abc"`},
		{`{"name":"ghcr.io/org/asset","digest":42}`, `image.json: digest: expected a JSON string, found a number`},
		{`["ghcr.io/org/asset"]`, `image.json: expected a JSON object, found an array`},
		{`null`, `image.json: expected a JSON object, found null`},
		{`{"name":`, `image.json: malformed JSON at byte`},
		{"{\"name\":\"a\xff\"}", `image.json: expected UTF-8 JSON, found invalid UTF-8 at byte 10`},
	} {
		_, _, err := Parse([]byte(tc.in), File)
		if assert.Error(t, err, tc.in) {
			assert.True(t, strings.HasPrefix(err.Error(), tc.want), "%s\n got: %s\nwant: %s...", tc.in, err, tc.want)
			assert.NotContains(t, err.Error(), "\n")
		}
	}
}

func TestParseWarnsAboutIgnoredFields(t *testing.T) {
	_, warnings, err := Parse([]byte(`{"name":"ghcr.io/org/asset","digest":"`+digest+`","tag":"1.0","extra":true}`), File)
	require.NoError(t, err)
	assert.Equal(t, []string{
		`image.json: field "extra" is not part of the format and is ignored (known: name, digest)`,
		`image.json: field "tag" is ignored: the pod runs the image by its digest`,
	}, warnings)
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	_, _, err := Read(dir, "image.json")
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.ErrorContains(t, err, "image.json: file not found; hint: a package of type k8s carries image.json at the top of code.tar.gz")

	require.NoError(t, os.Mkdir(filepath.Join(dir, File), 0o755))
	_, _, err = Read(dir, "image.json")
	assert.EqualError(t, err, "image.json: expected a regular file, found a folder")
	require.NoError(t, os.Remove(filepath.Join(dir, File)))

	require.NoError(t, os.WriteFile(filepath.Join(dir, File), []byte(`{"name":"a/b","digest":"`+digest+`"}`+strings.Repeat(" ", maxSize)), 0o644))
	_, _, err = Read(dir, "BUILD_OUTPUT_DIR/image.json")
	assert.EqualError(t, err, "BUILD_OUTPUT_DIR/image.json: expected at most 65536 bytes, found more")

	require.NoError(t, os.WriteFile(filepath.Join(dir, File), []byte(`{"name":"a/b","digest":"`+digest+`"}`), 0o644))
	img, _, err := Read(dir, "image.json")
	require.NoError(t, err)
	assert.Equal(t, &Image{Name: "a/b", Digest: digest}, img)
}

func TestParseReference(t *testing.T) {
	img, f := ParseReference("ghcr.io/org/asset@" + digest)
	require.Nil(t, f)
	assert.Equal(t, &Image{Name: "ghcr.io/org/asset", Digest: digest}, img)

	_, f = ParseReference("ghcr.io/org/asset:1.0")
	require.NotNil(t, f)
	assert.Contains(t, f.Error(), `expected NAME@sha256:DIGEST, found "ghcr.io/org/asset:1.0" without a digest; hint: a tag alone is refused`)
	_, f = ParseReference("ghcr.io/org/asset:1.0@" + digest)
	require.NotNil(t, f)
	assert.Contains(t, f.Error(), "without a tag")
	_, f = ParseReference("ghcr.io/org/asset@sha256:1234")
	require.NotNil(t, f)
	assert.Contains(t, f.Error(), "64 lower-case hexadecimal digits")
}
