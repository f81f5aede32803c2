package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// buildah runs buildah with a private storage root under a temporary folder,
// so test runs neither see nor disturb other images on the machine. vfs is
// the storage driver that works everywhere (no overlay mounts), chroot the
// isolation that works without a container runtime's privileges.
type buildah struct {
	dir   string
	flags []string // global flags: storage location and driver
}

// Flags for `make peer-image`.
func (b *buildah) containerFlags() string { return strings.Join(b.flags, " ") }

const buildFlags = "--isolation chroot"

// newBuildah returns a buildah with private storage, or skips the test when
// buildah is missing or cannot run a container on this machine.
func newBuildah(t *testing.T) *buildah {
	t.Helper()
	if _, err := exec.LookPath("buildah"); err != nil {
		t.Skip("buildah is not installed, so the peer image cannot be built here; " +
			"install it (Debian: apt-get install buildah; .ci/run does this when run as root)")
	}
	dir, err := os.MkdirTemp("", "extbuilder-image-test-")
	require.NoError(t, err)
	b := &buildah{dir: dir, flags: []string{
		"--root", filepath.Join(dir, "storage"),
		"--runroot", filepath.Join(dir, "run"),
		"--storage-driver", "vfs",
	}}
	t.Cleanup(b.cleanup(t))

	// Can buildah create a container and run a program in it here? Only
	// that decides a skip; any later failure is a test failure.
	probe := filepath.Join(dir, "probe")
	build := exec.Command("go", "build", "-o", probe, "./cmd/extbuilder")
	build.Dir = repoRoot(t)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "building the probe: %s", out)
	ctr, err := b.run("from", "scratch")
	if err != nil {
		t.Skipf("buildah cannot create a container here, so the peer image cannot be built: %v", err)
	}
	ctr = strings.TrimSpace(ctr)
	if _, err := b.run("copy", ctr, probe, "/probe"); err != nil {
		t.Skipf("buildah cannot copy into a container here: %v", err)
	}
	if _, err := b.run("run", "--isolation", "chroot", ctr, "--", "/probe", "--version"); err != nil {
		t.Skipf("buildah cannot run a program in a container here (a Dockerfile RUN step needs that): %v", err)
	}
	_, err = b.run("rm", ctr)
	require.NoError(t, err)
	return b
}

func (b *buildah) cleanup(t *testing.T) func() {
	return func() {
		// vfs storage is plain folders: removing them is all the cleanup
		// needed, and much faster than buildah rm and rmi.
		if err := os.RemoveAll(b.dir); err != nil && os.Geteuid() != 0 {
			// Rootless storage holds files owned by subordinate IDs.
			_ = exec.Command("buildah", "unshare", "rm", "-rf", b.dir).Run()
		}
		if _, err := os.Stat(b.dir); err == nil {
			t.Logf("could not remove %s", b.dir)
		}
	}
}

// run runs one buildah command and returns its standard output; the error
// carries standard error.
func (b *buildah) run(args ...string) (string, error) {
	cmd := exec.Command("buildah", append(append([]string{}, b.flags...), args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), &cmdError{args: args, err: err, stderr: stderr.String()}
	}
	return stdout.String(), nil
}

type cmdError struct {
	args   []string
	err    error
	stderr string
}

func (e *cmdError) Error() string {
	return "buildah " + strings.Join(e.args, " ") + ": " + e.err.Error() + ": " + strings.TrimSpace(e.stderr)
}

func (b *buildah) must(t *testing.T, args ...string) string {
	t.Helper()
	out, err := b.run(args...)
	require.NoError(t, err)
	return strings.TrimSpace(out)
}

// standIn is what a stand-in base image holds: the parts of the official
// peer image that Dockerfile.peer relies on, and nothing else.
type standIn struct {
	ref      string
	cfgPath  string // FABRIC_CFG_PATH, where core.yaml is
	coreYAML []byte
}

// commitStandIn builds the stand-in from scratch: core.yaml in cfgPath, the
// folders the peer image has, its VOLUMEs, its FABRIC_CFG_PATH, and an OCI
// version label such as the official image inherits from Ubuntu (the built
// image must replace it).
func (b *buildah) commitStandIn(t *testing.T, s standIn) {
	t.Helper()
	rootfs := filepath.Join(t.TempDir(), "rootfs")
	for _, d := range []string{s.cfgPath, "/usr/local/bin", "/opt/hyperledger/ccaas_builder/bin", "/var/hyperledger/production"} {
		require.NoError(t, os.MkdirAll(filepath.Join(rootfs, d), 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(rootfs, s.cfgPath, "core.yaml"), s.coreYAML, 0o644))
	// Stands for Fabric's own builder; the image test checks it survives.
	require.NoError(t, os.WriteFile(filepath.Join(rootfs, "/opt/hyperledger/ccaas_builder/bin/detect"), []byte("#!/bin/sh\nexit 1\n"), 0o755))

	ctr := b.must(t, "from", "scratch")
	b.must(t, "copy", ctr, rootfs+"/", "/")
	b.must(t, "config",
		"--env", "FABRIC_CFG_PATH="+s.cfgPath,
		"--volume", "/etc/hyperledger/fabric",
		"--volume", "/var/hyperledger",
		"--label", "org.opencontainers.image.version=24.04",
		"--cmd", "peer node start",
		ctr)
	b.must(t, "commit", "--quiet", ctr, s.ref)
	b.must(t, "rm", ctr)
}

// imageFS is an image's file system after applying its layers in order,
// and its configuration.
type imageFS struct {
	files  map[string]*imageFile // by absolute path
	config gjson.Result          // the OCI image configuration
}

type imageFile struct {
	hdr  *tar.Header
	data []byte
}

// export pushes ref to an OCI layout folder and reads it back: no mount, no
// privileges, and exactly what a registry would receive.
func (b *buildah) export(t *testing.T, ref string) *imageFS {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "oci")
	b.must(t, "push", "--quiet", ref, "oci:"+dir+":test")
	blob := func(digest string) []byte {
		algo, hex, ok := strings.Cut(digest, ":")
		require.True(t, ok, "digest %q", digest)
		data, err := os.ReadFile(filepath.Join(dir, "blobs", algo, hex))
		require.NoError(t, err)
		return data
	}
	index, err := os.ReadFile(filepath.Join(dir, "index.json"))
	require.NoError(t, err)
	manifest := blob(gjson.GetBytes(index, "manifests.0.digest").String())
	img := &imageFS{
		files:  map[string]*imageFile{},
		config: gjson.ParseBytes(blob(gjson.GetBytes(manifest, "config.digest").String())),
	}
	for _, layer := range gjson.GetBytes(manifest, "layers").Array() {
		img.apply(t, blob(layer.Get("digest").String()))
	}
	return img
}

// apply adds one layer, honouring OCI whiteouts.
func (img *imageFS) apply(t *testing.T, layer []byte) {
	t.Helper()
	var r io.Reader = bytes.NewReader(layer)
	if bytes.HasPrefix(layer, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(r)
		require.NoError(t, err)
		r = zr
	}
	tr := tar.NewReader(bufio.NewReader(r))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return
		}
		require.NoError(t, err)
		name := path.Clean("/" + hdr.Name)
		dir, base := path.Split(name)
		switch {
		case base == ".wh..wh..opq":
			img.removeUnder(path.Clean(dir))
			continue
		case strings.HasPrefix(base, ".wh."):
			gone := path.Join(dir, strings.TrimPrefix(base, ".wh."))
			delete(img.files, gone)
			img.removeUnder(gone)
			continue
		}
		f := &imageFile{hdr: hdr}
		if hdr.Typeflag == tar.TypeReg {
			f.data, err = io.ReadAll(tr)
			require.NoError(t, err)
		}
		img.files[name] = f
	}
}

func (img *imageFS) removeUnder(dir string) {
	for p := range img.files {
		if strings.HasPrefix(p, dir+"/") {
			delete(img.files, p)
		}
	}
}

// list returns the names of the entries directly inside dir.
func (img *imageFS) list(dir string) []string {
	var names []string
	for p := range img.files {
		if path.Dir(p) == dir {
			names = append(names, path.Base(p))
		}
	}
	return names
}

func (img *imageFS) env(name string) (string, bool) {
	for _, kv := range img.config.Get("config.Env").Array() {
		if k, v, ok := strings.Cut(kv.String(), "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}
