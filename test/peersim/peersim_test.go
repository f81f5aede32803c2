//go:build linux

// The fake builders are shell scripts using GNU stat.

package peersim_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/extbuilder/extbuilder/test/peersim"
)

// fakeBuilder writes a builder whose programs are shell scripts.
func fakeBuilder(t *testing.T, scripts map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "builder")
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(dir, "bin", name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func newPeer(t *testing.T, builderDir string, extraEnv ...string) *peersim.Peer {
	t.Helper()
	root := t.TempDir()
	tmp := filepath.Join(root, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	env := append([]string{"PATH=/usr/bin:/bin", "TMPDIR=" + tmp, "HOME=/root", "SECRET=do-not-pass"}, extraEnv...)
	return &peersim.Peer{
		Builders:       []peersim.Builder{{Name: "fake", Path: builderDir, PropagateEnvironment: []string{"GREETING"}}},
		Env:            env,
		FileSystemPath: filepath.Join(root, "peer"),
	}
}

func samplePackage(t *testing.T, entries ...peersim.Entry) *peersim.Package {
	t.Helper()
	if entries == nil {
		entries = []peersim.Entry{
			{Name: "connection.json", Body: []byte(`{"address":"cc:9999"}`)},
			{Name: "bin/", Type: tar.TypeDir},
			{Name: "bin/tool", Mode: 0o750, Body: []byte("x")},
		}
	}
	code, err := peersim.TarGz(entries)
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := peersim.NewPackage([]byte(`{"type":"ccaas","label":"sample_1.0"}`), code)
	if err != nil {
		t.Fatal(err)
	}
	return pkg
}

func TestPackageIsReproducibleAndShapedForInstall(t *testing.T) {
	tree := fstest.MapFS{
		"connection.json":       {Data: []byte(`{}`), Mode: 0o600, ModTime: time.Now()},
		"META-INF/x/index.json": {Data: []byte(`{}`), Mode: 0o644, ModTime: time.Unix(1, 0)},
		"run.sh":                {Data: []byte("#!/bin/sh\n"), Mode: 0o700},
	}
	pack := func() *peersim.Package {
		code, err := peersim.CodeFromFS(tree, nil)
		if err != nil {
			t.Fatal(err)
		}
		pkg, err := peersim.NewPackage([]byte(`{"type":"ccaas","label":"cc_1.0"}`), code)
		if err != nil {
			t.Fatal(err)
		}
		return pkg
	}
	a, b := pack(), pack()
	if a.ID != b.ID || !bytes.Equal(a.Tgz, b.Tgz) {
		t.Fatal("packing the same tree twice gave two package IDs")
	}
	sum := sha256.Sum256(a.Tgz)
	if a.ID != "cc_1.0:"+hex.EncodeToString(sum[:]) {
		t.Errorf("package ID %s is not label:sha256(package file)", a.ID)
	}
	if names := tarNames(t, a.Tgz); !reflect.DeepEqual(names, []string{"metadata.json", "code.tar.gz"}) {
		t.Errorf("package members %v, want exactly metadata.json and code.tar.gz", names)
	}
	want := []string{"META-INF/", "META-INF/x/", "META-INF/x/index.json", "connection.json", "run.sh"}
	if names := tarNames(t, a.Code); !reflect.DeepEqual(names, want) {
		t.Errorf("code.tar.gz members %v, want %v", names, want)
	}
	parsed, err := peersim.ParsePackage(a.Tgz)
	if err != nil {
		t.Fatal(err)
	}
	if parsed.ID != a.ID || !bytes.Equal(parsed.Code, a.Code) || !bytes.Equal(parsed.Metadata, a.Metadata) {
		t.Error("ParsePackage did not give back the package")
	}
	if _, err := peersim.NewPackage([]byte(`{"type":"ccaas","label":"-bad"}`), a.Code); err == nil {
		t.Error("a label the peer refuses was accepted")
	}
}

func tarNames(t *testing.T, tgz []byte) []string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
}

// TestInstallCallsProgramsLikeThePeer records what the programs see.
func TestInstallCallsProgramsLikeThePeer(t *testing.T) {
	record := `out=$(dirname "$0")/../seen; mkdir -p "$out"
{ echo "args $*"; echo "cwd $(pwd)"; env | sort; } > "$out/$(basename "$0")"
`
	builder := fakeBuilder(t, map[string]string{
		"detect": record + `stat -c '%a %n' "$1" "$2" "$2/metadata.json" "$1/bin" "$1/bin/tool" >> "$out/detect"
cat "$2/metadata.json" > "$out/metadata.json"
echo "on stdout"; echo "detect says hi" >&2; echo "second line" >&2
`,
		"build": record + `stat -c '%a' "$3" >> "$out/build"; mkdir "$3/sub"; echo data > "$3/sub/file"; chmod 640 "$3/sub/file"
ln -s sub/file "$3/link"
`,
		"release": record + `mkdir -p "$2/chaincode/server"; cp "$1/sub/file" "$2/chaincode/server/connection.json"`,
	})
	peer := newPeer(t, builder, "GREETING=hello")
	pkg := samplePackage(t)
	res, err := peer.Install(pkg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Builder != "fake" || len(res.Steps) != 3 {
		t.Fatalf("builder %q, %d steps", res.Builder, len(res.Steps))
	}
	seen := filepath.Join(builder, "seen")
	detect := readFile(t, filepath.Join(seen, "detect"))
	wantArgs := "args " + res.SourceDir + " " + res.MetadataDir
	if !strings.Contains(detect, wantArgs+"\n") {
		t.Errorf("detect got %q, want %q", firstLine(detect), wantArgs)
	}
	if !strings.Contains(readFile(t, filepath.Join(seen, "build")), "args "+res.SourceDir+" "+res.MetadataDir+" "+res.BldDir+"\n") {
		t.Error("build did not get SOURCE_DIR METADATA_DIR BUILD_OUTPUT_DIR")
	}
	if !strings.Contains(readFile(t, filepath.Join(seen, "release")), "args "+res.BldDir+" "+res.ReleaseDir+"\n") {
		t.Error("release did not get BUILD_OUTPUT_DIR RELEASE_OUTPUT_DIR")
	}
	wd, _ := os.Getwd()
	if !strings.Contains(detect, "cwd "+wd+"\n") {
		t.Errorf("detect ran in another working directory than the caller's (%s)", wd)
	}
	for _, want := range []string{
		"700 " + res.SourceDir, "700 " + res.MetadataDir, "700 " + res.MetadataDir + "/metadata.json",
		"700 " + res.SourceDir + "/bin", "750 " + res.SourceDir + "/bin/tool",
	} {
		if !strings.Contains(detect, want+"\n") {
			t.Errorf("detect did not see mode %q", want)
		}
	}
	if got := readFile(t, filepath.Join(seen, "metadata.json")); got != string(pkg.Metadata) {
		t.Errorf("metadata.json is %q, want the package's bytes", got)
	}
	if !strings.HasPrefix(filepath.Base(res.ScratchDir), "fabric-sample_1.0-") {
		t.Errorf("scratch folder %s is not fabric-<sanitized id>...", res.ScratchDir)
	}
	if _, err := os.Stat(res.ScratchDir); !os.IsNotExist(err) {
		t.Error("the temporary folder was not removed")
	}
	// Only propagateEnvironment and the defaults, and PWD/SHLVL/_ that sh adds itself.
	for _, line := range strings.Split(detect, "\n") {
		name, _, ok := strings.Cut(line, "=")
		if !ok || strings.Contains(name, " ") {
			continue
		}
		if !slices.Contains([]string{"GREETING", "PATH", "TMPDIR", "PWD", "SHLVL", "_"}, name) {
			t.Errorf("detect got %s, which the peer does not pass", name)
		}
	}
	if !strings.Contains(detect, "GREETING=hello\n") {
		t.Error("detect did not get the propagated GREETING")
	}
	st := res.Step("detect")
	if !reflect.DeepEqual(st.Stderr, []string{"detect says hi", "second line"}) || string(st.Stdout) != "on stdout\n" {
		t.Errorf("detect stderr %q stdout %q", st.Stderr, st.Stdout)
	}

	bld, err := peersim.Snapshot(res.CachedBld)
	if err != nil {
		t.Fatal(err)
	}
	if f := peersim.Lookup(bld, "sub/file"); f == nil || f.Mode.Perm() != 0o640 || string(f.Data) != "data\n" {
		t.Errorf("cached bld/sub/file: %+v", f)
	}
	if f := peersim.Lookup(bld, "link"); f == nil || f.Link != "sub/file" {
		t.Errorf("cached bld/link: %+v", f)
	}
	if info := readFile(t, filepath.Join(res.CacheDir, "build-info.json")); info != `{"builder_name":"fake"}` {
		t.Errorf("build-info.json is %s", info)
	}
	if _, err := os.Stat(filepath.Join(res.CachedRelease, "chaincode/server/connection.json")); err != nil {
		t.Error(err)
	}

	// Installed again: the cache answers and nothing runs.
	again, err := peer.Install(pkg)
	if err != nil || !again.Cached || len(again.Steps) != 0 {
		t.Errorf("second install: cached=%v steps=%d err=%v", again.Cached, len(again.Steps), err)
	}
	peer.Builders[0].Name = "renamed"
	if _, err := peer.Install(pkg); err == nil {
		t.Error("a package cached by a builder that is no longer configured installed fine")
	}
}

func TestInstallRefusesWhatThePeerRefuses(t *testing.T) {
	builder := fakeBuilder(t, map[string]string{"detect": "exit 0\n", "build": "exit 0\n"})
	for _, tc := range []struct {
		name        string
		entry       peersim.Entry
		invalidType bool // the peer's message says "invalid file type"
	}{
		{"symlink", peersim.Entry{Name: "link", Type: tar.TypeSymlink, Linkname: "connection.json"}, true},
		{"hard link", peersim.Entry{Name: "hard", Type: tar.TypeLink, Linkname: "connection.json"}, true},
		{"device", peersim.Entry{Name: "dev", Type: tar.TypeChar}, true},
		{"fifo", peersim.Entry{Name: "fifo", Type: tar.TypeFifo}, true},
		{"escaping path", peersim.Entry{Name: "../outside", Body: []byte("x")}, false},
		{"absolute path", peersim.Entry{Name: "/etc/outside", Body: []byte("x")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkg := samplePackage(t, peersim.Entry{Name: "connection.json", Body: []byte("{}")}, tc.entry)
			res, err := newPeer(t, builder).Install(pkg)
			if err == nil {
				t.Fatal("install succeeded")
			}
			if len(res.Steps) != 0 {
				t.Errorf("%d programs ran on a package the peer would not unpack", len(res.Steps))
			}
			if tc.invalidType && !strings.Contains(err.Error(), "invalid file type") {
				t.Errorf("error %q does not say invalid file type", err)
			}
		})
	}
	t.Run("not gzip", func(t *testing.T) {
		pkg, err := peersim.NewPackage([]byte(`{"type":"ccaas","label":"x"}`), []byte("plain tar, say"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := newPeer(t, builder).Install(pkg); err == nil {
			t.Error("install succeeded with a code.tar.gz that is not gzip")
		}
	})
}

func TestInstallBuildCacheRefusesEscapingSymlinks(t *testing.T) {
	for name, target := range map[string]string{"absolute": "/etc/passwd", "escaping": "../../outside"} {
		t.Run(name, func(t *testing.T) {
			builder := fakeBuilder(t, map[string]string{"detect": "exit 0\n", "build": `ln -s ` + target + ` "$3/link"` + "\n"})
			res, err := newPeer(t, builder).Install(samplePackage(t))
			if err == nil {
				t.Fatal("install succeeded")
			}
			if res.CachedBld != "" {
				t.Error("a refused build was cached")
			}
		})
	}
}

func TestInstallStepsAndFailures(t *testing.T) {
	t.Run("release absent or not executable is skipped", func(t *testing.T) {
		builder := fakeBuilder(t, map[string]string{"detect": "exit 0\n", "build": "exit 0\n"})
		if err := os.WriteFile(filepath.Join(builder, "bin", "release"), []byte("#!/bin/sh\nexit 1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := newPeer(t, builder).Install(samplePackage(t))
		if err != nil || res.Step("release") != nil || res.CachedRelease == "" {
			t.Errorf("err=%v release step=%v cached=%q", err, res.Step("release"), res.CachedRelease)
		}
	})
	t.Run("build failure fails the install", func(t *testing.T) {
		builder := fakeBuilder(t, map[string]string{"detect": "exit 0\n", "build": "echo no >&2; exit 3\n", "release": "exit 0\n"})
		res, err := newPeer(t, builder).Install(samplePackage(t))
		if err == nil || !strings.Contains(err.Error(), "external builder failed to build") || res.Step("release") != nil {
			t.Errorf("err=%v steps=%d", err, len(res.Steps))
		}
		if st := res.Step("build"); st.ExitCode != 3 || !reflect.DeepEqual(st.Stderr, []string{"no"}) {
			t.Errorf("build step %+v", st)
		}
	})
	t.Run("detect declines: next builder, else nobody", func(t *testing.T) {
		no := fakeBuilder(t, map[string]string{"detect": "exit 1\n"})
		yes := fakeBuilder(t, map[string]string{"detect": "exit 0\n", "build": "exit 0\n"})
		peer := newPeer(t, no)
		res, err := peer.Install(samplePackage(t))
		if err != nil || res.Claimed() || len(res.Steps) != 1 {
			t.Errorf("declined: err=%v claimed=%v steps=%d", err, res.Claimed(), len(res.Steps))
		}
		peer.Builders = append(peer.Builders, peersim.Builder{Name: "second", Path: yes})
		res, err = peer.Install(samplePackage(t))
		if err != nil || res.Builder != "second" {
			t.Errorf("second builder: err=%v builder=%q", err, res.Builder)
		}
	})
	t.Run("a line over 64 KiB ends the peer's reading", func(t *testing.T) {
		builder := fakeBuilder(t, map[string]string{"detect": `head -c 70000 /dev/zero | tr '\0' x >&2; echo >&2; echo after >&2` + "\n"})
		res, _ := newPeer(t, builder).Install(samplePackage(t))
		if st := res.Step("detect"); !st.StderrOverflow || st.ExitCode != 0 {
			t.Errorf("overflow=%v exit=%d", st.StderrOverflow, st.ExitCode)
		}
	})
}

func TestSanitizePackageID(t *testing.T) {
	if got := peersim.SanitizePackageID(`a<b>c:d"e/f\g|h?i*j&k`); got != "a-b-c-d-e-f-g-h-i-j-k" {
		t.Errorf("got %s", got)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func firstLine(s string) string { line, _, _ := strings.Cut(s, "\n"); return line }
