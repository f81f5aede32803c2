package couchdb

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const index = `{"index":{"fields":["owner"]},"ddoc":"byOwner","name":"byOwner","type":"json"}`

func write(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
}

func collect(t *testing.T, src string) ([]Index, []string, error) {
	var warnings []string
	ix, err := Collect(src, func(f string, a ...any) { warnings = append(warnings, fmt.Sprintf(f, a...)) })
	return ix, warnings, err
}

func TestCollectBothLayouts(t *testing.T) {
	src := t.TempDir()
	write(t, src, "META-INF/statedb/couchdb/indexes/byOwner.json", index)
	write(t, src, "META-INF/statedb/couchdb/collections/private/indexes/byColor.json", index)
	write(t, src, "metadata/statedb/couchdb/indexes/bySize.json", index)
	write(t, src, "META-INF/statedb/couchdb/README.md", "notes")
	write(t, src, "META-INF/statedb/couchdb/indexes/notes.txt", "notes")
	write(t, src, "META-INF/statedb/leveldb/x.json", "{}")
	write(t, src, "connection.json", "{}") // not under statedb: ignored silently

	ix, warnings, err := collect(t, src)
	require.NoError(t, err)
	var dests []string
	for _, i := range ix {
		dests = append(dests, i.Source+" -> "+i.Dest)
		assert.JSONEq(t, index, string(i.Data))
	}
	sort.Strings(dests)
	assert.Equal(t, []string{
		"META-INF/statedb/couchdb/collections/private/indexes/byColor.json -> collections/private/indexes/byColor.json",
		"META-INF/statedb/couchdb/indexes/byOwner.json -> indexes/byOwner.json",
		"metadata/statedb/couchdb/indexes/bySize.json -> indexes/bySize.json",
	}, dests)
	assert.Len(t, warnings, 3)
	assert.Contains(t, warnings[0], "META-INF/statedb/couchdb/README.md: not copied")

	out := t.TempDir()
	require.NoError(t, Write(ix, out))
	rel := t.TempDir()
	require.NoError(t, Release(out, rel))
	for _, p := range []string{"indexes/byOwner.json", "indexes/bySize.json", "collections/private/indexes/byColor.json"} {
		data, err := os.ReadFile(filepath.Join(rel, ReleaseDir, p))
		require.NoError(t, err, p)
		assert.JSONEq(t, index, string(data))
	}
}

// The peer deploys every file of an index folder, subfolders included,
// whatever its name: Fabric's ccprovider.ExtractFileEntries groups the
// release folder's files by folder and getIndexInfo (core/ledger/kvledger/
// txmgmt/privacyenabledstate) keeps a folder when its fourth part is
// "indexes", or its fourth "collections" and its sixth "indexes".
func TestCollectAsThePeerSelects(t *testing.T) {
	src := t.TempDir()
	write(t, src, "META-INF/statedb/couchdb/indexes/v2/owner.json", index)
	write(t, src, "META-INF/statedb/couchdb/indexes/a/b/deep.json", index)
	write(t, src, "META-INF/statedb/couchdb/indexes/byColor", index) // no .json: the peer deploys it all the same
	write(t, src, "META-INF/statedb/couchdb/indexes/.gitkeep", "")
	write(t, src, "META-INF/statedb/couchdb/collections/private_1/indexes/v1/byPrice.json", index)
	write(t, src, "META-INF/statedb/couchdb/collections/private_1/notes.json", index) // not in indexes/: ignored by the peer
	write(t, src, "metadata/statedb/couchdb/indexes/old/bySize.json", index)

	ix, warnings, err := collect(t, src)
	require.NoError(t, err)
	var dests []string
	for _, i := range ix {
		dests = append(dests, i.Dest)
	}
	sort.Strings(dests)
	assert.Equal(t, []string{
		"collections/private_1/indexes/v1/byPrice.json",
		"indexes/a/b/deep.json",
		"indexes/byColor",
		"indexes/old/bySize.json",
		"indexes/v2/owner.json",
	}, dests)
	sort.Strings(warnings)
	assert.Equal(t, []string{
		"META-INF/statedb/couchdb/collections/private_1/notes.json: not copied: the peer deploys only files below couchdb/indexes/ and couchdb/collections/<name>/indexes/",
		"META-INF/statedb/couchdb/indexes/.gitkeep: not copied: not a CouchDB index definition (the peer would pass it to CouchDB, which would refuse it)",
	}, warnings)

	out := t.TempDir()
	require.NoError(t, Write(ix, out))
	rel := t.TempDir()
	require.NoError(t, Release(out, rel))
	for _, p := range dests {
		data, err := os.ReadFile(filepath.Join(rel, ReleaseDir, p))
		require.NoError(t, err, p)
		assert.JSONEq(t, index, string(data))
	}
}

func TestCollectNone(t *testing.T) {
	ix, warnings, err := collect(t, t.TempDir())
	require.NoError(t, err)
	assert.Empty(t, ix)
	assert.Empty(t, warnings)
	rel := t.TempDir()
	require.NoError(t, Release(t.TempDir(), rel))
	entries, _ := os.ReadDir(rel)
	assert.Empty(t, entries)
}

func TestCollectRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(src string)
		want  string
	}{
		{"malformed JSON", func(src string) {
			write(t, src, "META-INF/statedb/couchdb/indexes/bad.json", `{"index":`)
		}, "META-INF/statedb/couchdb/indexes/bad.json: expected a JSON index definition, found malformed JSON"},
		{"not an index", func(src string) {
			write(t, src, "META-INF/statedb/couchdb/indexes/bad.json", `{"fields":["a"]}`)
		}, `META-INF/statedb/couchdb/indexes/bad.json: expected a JSON object with "index": {"fields": [...]}, found another shape`},
		{"duplicate across layouts", func(src string) {
			write(t, src, "META-INF/statedb/couchdb/indexes/a.json", index)
			write(t, src, "metadata/statedb/couchdb/indexes/a.json", index)
		}, "metadata/statedb/couchdb/indexes/a.json: same index as META-INF/statedb/couchdb/indexes/a.json"},
		{"index folder is a file", func(src string) {
			write(t, src, "META-INF/statedb/couchdb/indexes", index)
		}, "META-INF/statedb/couchdb/indexes: expected a folder of index definitions, found a file"},
		{"symlink", func(src string) {
			write(t, src, "META-INF/statedb/couchdb/indexes/a.json", index)
			require.NoError(t, os.Symlink("/etc/passwd", filepath.Join(src, "META-INF/statedb/couchdb/indexes/b.json")))
		}, "META-INF/statedb/couchdb/indexes/b.json: expected a regular file or folder, found a symbolic link"},
		{"named pipe", func(src string) {
			require.NoError(t, os.MkdirAll(filepath.Join(src, "META-INF/statedb/couchdb/indexes"), 0o700))
			require.NoError(t, syscall.Mkfifo(filepath.Join(src, "META-INF/statedb/couchdb/indexes/p.json"), 0o600))
		}, "META-INF/statedb/couchdb/indexes/p.json: expected a regular file or folder, found a special file"},
		{"invalid UTF-8", func(src string) {
			write(t, src, "META-INF/statedb/couchdb/indexes/bad.json", "{\"index\":{\"fields\":[\"own\xffer\"]}}")
		}, "META-INF/statedb/couchdb/indexes/bad.json: expected UTF-8 JSON, found invalid UTF-8 at byte 24"},
		{"nested field array", func(src string) {
			write(t, src, "META-INF/statedb/couchdb/indexes/bad.json", `{"index":{"fields":["a",[["b"]]]}}`)
		}, `META-INF/statedb/couchdb/indexes/bad.json: index.fields[1]: expected a field name or {"<field>": "asc" or "desc"}, found an array`},
		{"field number", func(src string) {
			write(t, src, "META-INF/statedb/couchdb/indexes/bad.json", `{"index":{"fields":[7]}}`)
		}, `META-INF/statedb/couchdb/indexes/bad.json: index.fields[0]: expected a field name or {"<field>": "asc" or "desc"}, found a number`},
		{"sort object with two keys", func(src string) {
			write(t, src, "META-INF/statedb/couchdb/indexes/bad.json", `{"index":{"fields":[{"a":"asc","b":"asc"}]}}`)
		}, `META-INF/statedb/couchdb/indexes/bad.json: index.fields[0]: expected a field name or {"<field>": "asc" or "desc"}, found an object with 2 keys`},
		{"sort order not asc or desc", func(src string) {
			write(t, src, "META-INF/statedb/couchdb/indexes/bad.json", `{"index":{"fields":["a",{"b":"up"}]}}`)
		}, `META-INF/statedb/couchdb/indexes/bad.json: index.fields[1]: expected a field name or {"<field>": "asc" or "desc"}, found the sort order "up"`},
		{"sort order not a string", func(src string) {
			write(t, src, "META-INF/statedb/couchdb/indexes/bad.json", `{"index":{"fields":[{"b":{"c":"asc"}}]}}`)
		}, `META-INF/statedb/couchdb/indexes/bad.json: index.fields[0]: expected a field name or {"<field>": "asc" or "desc"}, found an object as the sort order`},
		// Fabric allows collection names of [A-Za-z0-9_-]+ (ccmetadata's
		// AllowedCharsCollectionName); HandleChaincodeDeploy logs an error
		// and creates nothing for an index of any other collection.
		{"collection name no collection can have", func(src string) {
			write(t, src, "META-INF/statedb/couchdb/collections/my coll/indexes/a.json", index)
		}, `META-INF/statedb/couchdb/collections/my coll/indexes/a.json: expected a collection name of letters, digits, '_' and '-', found "my coll"; the peer would create no index for it`},
		// ExtractFileEntries matches META-INF/statedb/couchdb as a prefix of
		// the file name, so statedb/couchdb2/indexes/ is deployed too.
		{"index folder beside couchdb", func(src string) {
			write(t, src, "META-INF/statedb/couchdb2/indexes/a.json", index)
		}, `META-INF/statedb/couchdb2/indexes/a.json: expected index definitions in statedb/couchdb/, found them in the folder "couchdb2", which the peer would deploy as well because it matches the name by prefix; hint: move them to statedb/couchdb/ or remove them`},
		{"invalid index in a subfolder", func(src string) {
			write(t, src, "META-INF/statedb/couchdb/indexes/v2/bad.json", `{"index":`)
		}, "META-INF/statedb/couchdb/indexes/v2/bad.json: expected a JSON index definition, found malformed JSON"},
		{"too large", func(src string) {
			write(t, src, "META-INF/statedb/couchdb/indexes/big.json", index+string(make([]byte, maxIndexSize)))
		}, "META-INF/statedb/couchdb/indexes/big.json: expected at most 1 MiB, found more"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := t.TempDir()
			tc.setup(src)
			ix, _, err := collect(t, src)
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
			assert.Nil(t, ix)
		})
	}
}

func TestCollectAcceptsSortSyntax(t *testing.T) {
	src := t.TempDir()
	def := `{"index":{"fields":["docType",{"owner":"asc"},{"size":"desc"},"a.b"],"partial_filter_selector":{"x":{"$gt":1}}},"type":"json"}`
	write(t, src, "META-INF/statedb/couchdb/indexes/sorted.json", def)
	ix, _, err := collect(t, src)
	require.NoError(t, err)
	require.Len(t, ix, 1)
	assert.JSONEq(t, def, string(ix[0].Data))
}

func TestReleaseRefusesSymlink(t *testing.T) {
	bld := t.TempDir()
	write(t, bld, BuildDir+"/indexes/a.json", index)
	require.NoError(t, os.Symlink("/etc/passwd", filepath.Join(bld, BuildDir, "indexes/b.json")))
	err := Release(bld, t.TempDir())
	require.Error(t, err)
	assert.Equal(t, "BUILD_OUTPUT_DIR/META-INF/statedb/couchdb/indexes/b.json: expected a regular file or folder, found a symbolic link", err.Error())
}

func TestReleaseWriteErrorNamesReleaseFile(t *testing.T) {
	bld := t.TempDir()
	write(t, bld, BuildDir+"/indexes/a.json", index)
	rel := t.TempDir()
	// A file where the index folder belongs fails the write without root
	// privileges or a full disk, and reports the path the same way.
	write(t, rel, ReleaseDir+"/indexes", "in the way")
	err := Release(bld, rel)
	require.Error(t, err)
	assert.Equal(t, "RELEASE_OUTPUT_DIR: cannot write statedb/couchdb/indexes: not a directory", err.Error())
}

func BenchmarkCollect2000(b *testing.B) {
	src := b.TempDir()
	dir := filepath.Join(src, "META-INF/statedb/couchdb/indexes")
	require.NoError(b, os.MkdirAll(dir, 0o700))
	for i := 0; i < 2000; i++ {
		require.NoError(b, os.WriteFile(filepath.Join(dir, fmt.Sprintf("i%04d.json", i)), []byte(index), 0o644))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ix, err := Collect(src, func(string, ...any) {})
		if err != nil || len(ix) != 2000 {
			b.Fatal(err, len(ix))
		}
		out := b.TempDir()
		if err := Write(ix, out); err != nil {
			b.Fatal(err)
		}
	}
}
