package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const distVersion = "v0.0.0-disttest"

var distArches = []string{"amd64", "arm64"}

func needGNUTar(t *testing.T) {
	t.Helper()
	out, err := exec.Command("tar", "--version").Output()
	if err != nil || !strings.Contains(string(out), "GNU tar") {
		t.Skip("make dist needs GNU tar (for reproducible archives), not found as tar")
	}
	if _, err := exec.LookPath("sha256sum"); err != nil {
		t.Skip("make dist needs sha256sum, not found")
	}
}

func makeDist(t *testing.T) string {
	t.Helper()
	dist := t.TempDir()
	out, err := runMake(t, "dist", "DIST="+dist, "VERSION="+distVersion)
	require.NoError(t, err, "make dist:\n%s", out)
	return dist
}

func TestDist(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles for two architectures; skipped with -short")
	}
	needMake(t)
	needGNUTar(t)
	progs := programs(t)
	dist := makeDist(t)

	var archives []string
	for _, arch := range distArches {
		archives = append(archives, "extbuilder-"+distVersion+"-linux-"+arch+".tar.gz")
	}
	entries, err := os.ReadDir(dist)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, append([]string{"SHA256SUMS"}, archives...), names, "files in DIST")

	t.Run("checksums verify", func(t *testing.T) {
		sums := readSums(t, filepath.Join(dist, "SHA256SUMS"))
		assert.ElementsMatch(t, archives, keys(sums))
		for name, want := range sums {
			data, err := os.ReadFile(filepath.Join(dist, name))
			require.NoError(t, err)
			got := sha256.Sum256(data)
			assert.Equal(t, want, hex.EncodeToString(got[:]), "SHA-256 of %s", name)
		}
	})

	for i, arch := range distArches {
		t.Run(arch, func(t *testing.T) {
			files := readArchive(t, filepath.Join(dist, archives[i]))
			want := []string{"extbuilder/", "extbuilder/bin/", "extbuilder/tools/", "extbuilder/tools/extbuilder"}
			for _, p := range progs {
				want = append(want, "extbuilder/bin/"+p)
			}
			var got []string
			for _, f := range files {
				got = append(got, f.hdr.Name)
			}
			assert.ElementsMatch(t, want, got, "archive entries")
			assert.True(t, sort.StringsAreSorted(got), "entries in name order: %v", got)

			mtime := files[0].hdr.ModTime
			for _, f := range files {
				h := f.hdr
				assert.Equal(t, 0, h.Uid, "%s owner", h.Name)
				assert.Equal(t, 0, h.Gid, "%s group", h.Name)
				assert.Empty(t, h.Uname+h.Gname, "%s: no user or group names", h.Name)
				assert.Equal(t, mtime, h.ModTime, "%s: one fixed timestamp", h.Name)
				if h.Typeflag == tar.TypeDir {
					assert.Equal(t, int64(0o755), h.Mode&0o777, "%s mode", h.Name)
				} else {
					requireProgram(t, h.Name, h, f.data, arch, distVersion)
				}
			}
		})
	}

	t.Run("reproducible", func(t *testing.T) {
		again := makeDist(t)
		first, err := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
		require.NoError(t, err)
		second, err := os.ReadFile(filepath.Join(again, "SHA256SUMS"))
		require.NoError(t, err)
		if string(first) == string(second) {
			return
		}
		// Say what differs: metadata points at the tar flags, contents at
		// the build (or at sources edited between the two runs).
		for _, name := range archives {
			a, b := readArchive(t, filepath.Join(dist, name)), readArchive(t, filepath.Join(again, name))
			require.Equal(t, len(a), len(b), "%s: number of entries differs between two runs", name)
			for i := range a {
				assert.Equal(t, *a[i].hdr, *b[i].hdr, "%s: entry %d header differs between two runs", name, i)
				assert.True(t, bytes.Equal(a[i].data, b[i].data), "%s: %s differs between two runs", name, a[i].hdr.Name)
			}
		}
		t.Errorf("a second make dist gave other archives:\n%s\n%s", first, second)
	})
}

// readSums reads a sha256sum file: "<hex>  <name>" per line.
func readSums(t *testing.T, name string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(name)
	require.NoError(t, err)
	sums := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		sum, file, ok := strings.Cut(sc.Text(), "  ")
		require.True(t, ok, "SHA256SUMS line %q", sc.Text())
		require.Len(t, sum, 64, "SHA256SUMS line %q", sc.Text())
		sums[file] = sum
	}
	return sums
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

type archived struct {
	hdr  *tar.Header
	data []byte
}

func readArchive(t *testing.T, name string) []archived {
	t.Helper()
	f, err := os.Open(name)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	assert.True(t, zr.ModTime.IsZero(), "%s: no timestamp in the gzip header", name)
	assert.Empty(t, zr.Name, "%s: no file name in the gzip header", name)
	tr := tar.NewReader(zr)
	var files []archived
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return files
		}
		require.NoError(t, err)
		a := archived{hdr: hdr}
		if hdr.Typeflag == tar.TypeReg {
			a.data, err = io.ReadAll(tr)
			require.NoError(t, err)
		}
		files = append(files, a)
	}
}
