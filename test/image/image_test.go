package image

import (
	"os"
	"path"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/extbuilder/extbuilder/internal/kubelaunch"
)

const (
	testVersion   = "v0.0.0-imagetest"
	builderDir    = "/opt/hyperledger/extbuilder"
	ourEntry      = "extbuilder"
	k8sBuilderDir = "/opt/hyperledger/extbuilder-k8s"
	k8sEntry      = "extbuilder-k8s"
)

// The fixture shaped like the 3.1 peer image's core.yaml (ccaas_builder
// listed, Fabric's indentation and comments).
func fabricCoreYAML(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "internal", "coreyaml", "testdata", "core-3.1.yaml"))
	require.NoError(t, err)
	return b
}

// makePeerImage runs `make peer-image` the way docs/peer-image.md tells
// operators to with buildah, against a stand-in base.
func makePeerImage(t *testing.T, b *buildah, base, image string, extra ...string) (string, error) {
	t.Helper()
	args := append([]string{
		"peer-image",
		"CONTAINER_TOOL=buildah",
		"CONTAINER_FLAGS=" + b.containerFlags(),
		"CONTAINER_BUILD_FLAGS=" + buildFlags,
		"FABRIC_PEER_IMAGE=" + base,
		"IMAGE=" + image,
		"VERSION=" + testVersion,
		"BIN=" + t.TempDir(),
		"IMAGE_STAGE=" + filepath.Join(t.TempDir(), "stage"),
	}, extra...)
	return runMake(t, args...)
}

func TestPeerImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a container image; skipped with -short")
	}
	needMake(t)
	progs := programs(t)
	arch := hostArch(t)
	b := newBuildah(t)
	core := fabricCoreYAML(t)

	t.Run("3.1 layout", func(t *testing.T) {
		base := standIn{ref: "localhost/extbuilder-test/fabric-peer:3.1-standin", cfgPath: "/etc/hyperledger/fabric", coreYAML: core}
		b.commitStandIn(t, base)
		out, err := makePeerImage(t, b, base.ref, "localhost/extbuilder-test/peer:3.1")
		require.NoError(t, err, "make peer-image:\n%s", out)
		img := b.export(t, "localhost/extbuilder-test/peer:3.1")

		checkBinaries(t, img, progs, arch)
		checkCoreYAML(t, img, "/etc/hyperledger/fabric/core.yaml", core)
		checkConfig(t, img, base)
	})

	t.Run("2.5.0 to 2.5.5 layout with CORE_YAML_DIR", func(t *testing.T) {
		const cfg = "/var/hyperledger/fabric/config"
		base := standIn{ref: "localhost/extbuilder-test/fabric-peer:2.5.0-standin", cfgPath: cfg, coreYAML: core}
		b.commitStandIn(t, base)

		// Without CORE_YAML_DIR the build must fail, not produce an image
		// whose peer reads an unpatched core.yaml.
		out, err := makePeerImage(t, b, base.ref, "localhost/extbuilder-test/peer:wrong-dir")
		require.Error(t, err, "make peer-image without CORE_YAML_DIR on a 2.5.0 layout:\n%s", out)
		assert.Contains(t, out, "/etc/hyperledger/fabric/core.yaml")

		out, err = makePeerImage(t, b, base.ref, "localhost/extbuilder-test/peer:2.5.0", "CORE_YAML_DIR="+cfg)
		require.NoError(t, err, "make peer-image:\n%s", out)
		img := b.export(t, "localhost/extbuilder-test/peer:2.5.0")

		checkBinaries(t, img, progs, arch)
		checkCoreYAML(t, img, cfg+"/core.yaml", core)
		assert.NotContains(t, img.files, "/etc/hyperledger/fabric/core.yaml")
		checkConfig(t, img, base)
	})
}

// checkBinaries: every program the peer runs, and nothing else, in the
// builder's bin/, executable and static; the operator tool on the PATH.
func checkBinaries(t *testing.T, img *imageFS, progs []string, arch string) {
	t.Helper()
	got := img.list(builderDir + "/bin")
	sort.Strings(got)
	want := append([]string(nil), progs...)
	sort.Strings(want)
	assert.Equal(t, want, got, "files in %s/bin", builderDir)

	for _, p := range append(progs, "/usr/local/bin/extbuilder") {
		name := p
		if !path.IsAbs(p) {
			name = path.Join(builderDir, "bin", p)
		}
		f := img.files[name]
		require.NotNil(t, f, "%s is missing from the image", name)
		requireProgram(t, name, f.hdr, f.data, arch, testVersion)
	}
	// The Kubernetes builder: the same four programs, in a folder of its own.
	k8s := img.list(k8sBuilderDir + "/bin")
	sort.Strings(k8s)
	assert.Equal(t, want, k8s, "files in %s/bin", k8sBuilderDir)
	for _, p := range progs {
		name := path.Join(k8sBuilderDir, "bin", p)
		f := img.files[name]
		require.NotNil(t, f, "%s is missing from the image", name)
		requireProgram(t, name, f.hdr, f.data, arch, testVersion)
	}
	assert.Contains(t, img.files, "/opt/hyperledger/ccaas_builder/bin/detect", "the base's ccaas_builder is kept")
	for p := range img.files {
		assert.NotContains(t, p, "/extbuilder-image", "a file of the patch stage leaked into the image")
	}
}

// checkCoreYAML: the image's core.yaml is the base's with exactly two
// entries added, extbuilder then extbuilder-k8s first in
// chaincode.externalBuilders, ccaas_builder still there, third.
func checkCoreYAML(t *testing.T, img *imageFS, name string, base []byte) {
	t.Helper()
	f := img.files[name]
	require.NotNil(t, f, "%s is missing from the image", name)
	patched := string(f.data)

	added := insertedBlock(t, string(base), patched)
	require.Len(t, added, 4+3+len(kubelaunch.Variables), "lines added to core.yaml: %q", added)

	entries := listEntries(t, patched)
	require.Len(t, entries, 3, "externalBuilders entries: %+v", entries)
	assert.Equal(t, ourEntry, entries[0].name, "the first builder the peer asks")
	assert.Equal(t, []string{
		"path: " + builderDir,
		"propagateEnvironment:",
		"- CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG",
	}, entries[0].body)
	assert.Equal(t, k8sEntry, entries[1].name, "the Kubernetes builder, second")
	k8sBody := []string{"path: " + k8sBuilderDir, "propagateEnvironment:"}
	for _, v := range kubelaunch.Variables {
		k8sBody = append(k8sBody, "- "+v)
	}
	assert.Equal(t, k8sBody, entries[1].body, "every variable the Kubernetes builder's run reads is propagated")
	assert.Equal(t, "ccaas_builder", entries[2].name, "Fabric's own builder stays, third")
	assert.Equal(t, []string{
		"path: /opt/hyperledger/ccaas_builder",
		"propagateEnvironment:",
		"- CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG",
	}, entries[2].body)
}

// checkConfig: OCI labels, and the base's runtime configuration kept.
func checkConfig(t *testing.T, img *imageFS, base standIn) {
	t.Helper()
	labels := img.config.Get("config.Labels").Map()
	assert.Equal(t, "https://github.com/extbuilder/extbuilder", labels["org.opencontainers.image.source"].String())
	assert.Equal(t, testVersion, labels["org.opencontainers.image.version"].String(), "the base's version label is replaced")
	assert.Equal(t, base.ref, labels["org.opencontainers.image.base.name"].String())

	cfg, ok := img.env("FABRIC_CFG_PATH")
	assert.True(t, ok, "FABRIC_CFG_PATH is set")
	assert.Equal(t, base.cfgPath, cfg, "FABRIC_CFG_PATH points at the patched core.yaml")
	volumes := img.config.Get("config.Volumes").Map()
	assert.Contains(t, volumes, "/etc/hyperledger/fabric")
	assert.Contains(t, volumes, "/var/hyperledger")
	assert.Equal(t, `["peer","node","start"]`, img.config.Get("config.Cmd").Raw)
}
