package image

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// defaultBase is the base image `make peer-image` uses unless told
// otherwise. Fully qualified: podman and buildah refuse a short name such
// as hyperledger/fabric-peer:3.1.5 when registries.conf lists no search
// registries, which is Debian's default.
const defaultBase = "docker.io/hyperledger/fabric-peer:3.1.5"

func makeVar(t *testing.T, name string) string {
	t.Helper()
	out, err := runMake(t, "-s", "--eval", "print-var: ; @echo $("+name+")", "print-var")
	require.NoError(t, err, out)
	return strings.TrimSpace(out)
}

// TestImageDefaultQualified: the Makefile, Dockerfile.peer and every
// command the docs show name the base fully qualified.
func TestImageDefaultQualified(t *testing.T) {
	needMake(t)
	assert.Equal(t, defaultBase, makeVar(t, "FABRIC_PEER_IMAGE"), "the Makefile's FABRIC_PEER_IMAGE")

	root := repoRoot(t)
	dockerfile, err := os.ReadFile(filepath.Join(root, "Dockerfile.peer"))
	require.NoError(t, err)
	assert.Contains(t, string(dockerfile), "\nARG FABRIC_PEER_IMAGE="+defaultBase+"\n", "Dockerfile.peer's default base")

	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	require.NoError(t, err)
	short := regexp.MustCompile(`(^|[^./\w-])(hyperledger/fabric-peer:\S*)`)
	for _, name := range append([]string{"Makefile", "Dockerfile.peer", "README.md"}, relAll(t, root, docs)...) {
		data, err := os.ReadFile(filepath.Join(root, name))
		require.NoError(t, err)
		for i, line := range strings.Split(string(data), "\n") {
			if m := short.FindStringSubmatch(line); m != nil {
				t.Errorf("%s:%d: %s is a short name; write docker.io/%s", name, i+1, m[2], m[2])
			}
		}
	}
}

func relAll(t *testing.T, root string, paths []string) []string {
	t.Helper()
	var out []string
	for _, p := range paths {
		r, err := filepath.Rel(root, p)
		require.NoError(t, err)
		out = append(out, r)
	}
	return out
}

// fakeTool writes a stand-in for docker/podman/buildah: its `info`
// succeeds or fails as asked, and its `build` records the arguments and
// lists the build context into log.
func fakeTool(t *testing.T, infoFails string, buildExit int) (tool, log string) {
	t.Helper()
	dir := t.TempDir()
	tool = filepath.Join(dir, "fakectr")
	log = filepath.Join(dir, "log")
	script := "#!/bin/sh\n"
	if infoFails != "" {
		script += "if [ \"$1\" = info ]; then echo 'Client: fake'; echo " + shellQuote(infoFails) + " >&2; exit 1; fi\n"
	} else {
		script += "if [ \"$1\" = info ]; then exit 0; fi\n"
	}
	script += "for a in \"$@\"; do ctx=$a; done\n" +
		"{ echo \"ARGS: $*\"; cd \"$ctx\" && find . | sort; } > " + shellQuote(log) + "\n" +
		"exit " + string(rune('0'+buildExit)) + "\n"
	require.NoError(t, os.WriteFile(tool, []byte(script), 0o755))
	return tool, log
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// TestPeerImageChecksToolFirst: a missing tool or a tool that cannot work
// (docker without its daemon) is named in one line, before anything is
// built or staged.
func TestPeerImageChecksToolFirst(t *testing.T) {
	needMake(t)
	for _, tc := range []struct {
		name, tool, want string
	}{
		{"not installed", filepath.Join(t.TempDir(), "no-such-tool"), "no-such-tool is not installed; install it or set CONTAINER_TOOL=docker, podman or buildah"},
		{"no daemon", "", "info' failed, so "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tool := tc.tool
			const reason = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"
			if tool == "" {
				tool, _ = fakeTool(t, reason, 0)
			}
			stage := filepath.Join(t.TempDir(), "stage")
			out, err := runMake(t, "-s", "peer-image", "CONTAINER_TOOL="+tool, "IMAGE_STAGE="+stage)
			require.Error(t, err, out)
			lines := strings.Split(strings.TrimSpace(out), "\n")
			// make adds its own "make: *** [...] Error 1" line.
			require.Len(t, lines, 2, "output:\n%s", out)
			assert.True(t, strings.HasPrefix(lines[0], "peer-image: "), "first line %q", lines[0])
			assert.Contains(t, lines[0], tc.want)
			if tc.tool == "" {
				assert.True(t, strings.HasSuffix(lines[0], ": "+reason), "the tool's own reason ends the line: %q", lines[0])
			}
			assert.NoDirExists(t, stage, "nothing is staged when the tool cannot build")
		})
	}
}

// TestPeerImageStaging: the build context holds exactly bin/ with the
// peer's programs, k8s/bin/ with the Kubernetes builder's and
// tools/extbuilder, the base is the qualified default,
// and the staging folder is gone afterwards, whether the build succeeded
// or failed.
func TestPeerImageStaging(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-builds the programs; skipped with -short")
	}
	needMake(t)
	progs := programs(t)
	for _, tc := range []struct {
		name string
		exit int
	}{{"build succeeds", 0}, {"build fails", 1}} {
		t.Run(tc.name, func(t *testing.T) {
			tool, log := fakeTool(t, "", tc.exit)
			stage := filepath.Join(t.TempDir(), "stage")
			bin := filepath.Join(t.TempDir(), "bin")
			out, err := runMake(t, "peer-image", "CONTAINER_TOOL="+tool, "IMAGE_STAGE="+stage, "BIN="+bin)
			if tc.exit == 0 {
				require.NoError(t, err, out)
			} else {
				require.Error(t, err, out)
			}
			data, err := os.ReadFile(log)
			require.NoError(t, err, "the tool's build did not run:\n%s", out)
			lines := strings.Split(strings.TrimSpace(string(data)), "\n")
			assert.Contains(t, lines[0], "--build-arg FABRIC_PEER_IMAGE="+defaultBase+" ")
			want := []string{".", "./bin", "./tools", "./tools/extbuilder", "./k8s", "./k8s/bin"}
			for _, p := range progs {
				want = append(want, "./bin/"+p, "./k8s/bin/"+p)
			}
			sort.Strings(want)
			assert.Equal(t, want, lines[1:], "the build context")
			assert.NoDirExists(t, stage, "the staging folder is removed")
			assert.NoDirExists(t, bin, "peer-image leaves bin/ alone")
		})
	}
}

// TestBuildLayout: `make build` puts exactly the peer's programs in bin/
// (the folder operators copy to the peer) and the operator tool in tools/;
// `make clean` removes bin/, tools/, dist/, the image staging folder and the
// Kubernetes builder's folder (all redirected here, so the test never
// touches the checkout's own).
func TestBuildLayout(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the programs; skipped with -short")
	}
	needMake(t)
	progs := programs(t)
	dir := t.TempDir()
	vars := []string{
		"BIN=" + filepath.Join(dir, "bin"), "TOOLS=" + filepath.Join(dir, "tools"),
		"DIST=" + filepath.Join(dir, "dist"), "IMAGE_STAGE=" + filepath.Join(dir, "image-stage"),
		"K8S_BIN=" + filepath.Join(dir, "k8s-bin"),
	}
	out, err := runMake(t, append([]string{"build"}, vars...)...)
	require.NoError(t, err, out)
	assert.ElementsMatch(t, progs, names(t, filepath.Join(dir, "bin")), "bin/ holds exactly the programs the peer runs")
	assert.Equal(t, []string{"extbuilder"}, names(t, filepath.Join(dir, "tools")), "tools/")

	require.NoError(t, os.MkdirAll(filepath.Join(dir, "dist"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "image-stage", "bin"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "k8s-bin"), 0o755))
	out, err = runMake(t, append([]string{"clean"}, vars...)...)
	require.NoError(t, err, out)
	assert.Empty(t, names(t, dir), "left after make clean")
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// TestMakeTestListsSkips: `make test` runs go test through test/skips, so
// its output ends with every skipped test and the reason it gave.
func TestMakeTestListsSkips(t *testing.T) {
	needMake(t)
	out, err := runMake(t, "-n", "test")
	require.NoError(t, err, out)
	assert.Regexp(t, `(?m)^go run \./test/skips -count=1 \./\.\.\.$`, out)
	assert.NotRegexp(t, `(?m)^go test `, out, "go test runs only through test/skips")
}

// TestMakeFuzzFailures: `make fuzz` fails on a target that wrote a failing
// input, and reports without failing Go's end-of-fuzztime race (a bare
// "context deadline exceeded", nothing written). A stand-in go command
// plays both.
func TestMakeFuzzFailures(t *testing.T) {
	needMake(t)
	fakeGo := filepath.Join(t.TempDir(), "go")
	require.NoError(t, os.WriteFile(fakeGo, []byte(`#!/bin/sh
case "$*" in
  *-list*) printf 'FuzzRace\nFuzzFound\nok  \tex/a\t0.01s\n' ;;
  *FuzzRace*) printf -- '--- FAIL: FuzzRace (1.00s)\n    context deadline exceeded\nFAIL\n'; exit 1 ;;
  *FuzzFound*) printf -- '--- FAIL: FuzzFound (1.00s)\n    Failing input written to testdata/fuzz/FuzzFound/0a1b\nFAIL\n'; exit 1 ;;
esac
`), 0o755))

	out, err := runMake(t, "-s", "fuzz", "GO="+fakeGo, "FUZZTIME=1s")
	require.Error(t, err, out)
	assert.Contains(t, out, "fuzz: ex/a FuzzRace: Go's end-of-fuzztime race (golang/go#75804), no failing input written: not a finding\n")
	assert.Contains(t, out, "fuzz: failures in: ex/a.FuzzFound\n")
	assert.NotContains(t, out, "ex/a.FuzzRace")
}
