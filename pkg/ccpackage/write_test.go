//go:build unix

package ccpackage

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// inputs writes a service package's inputs into dir: connection.json with
// TLS files, and an index folder. Files are created in the given order with
// the given mtime, under the process umask.
func inputs(t *testing.T, dir string, mtime time.Time, reverse bool) Spec {
	t.Helper()
	files := map[string]string{
		"connection.json":                            `{"address": "{{.peername}}-cc:9999", "tls_required": true, "root_cert_file": "tls/ca.pem"}`,
		"tls/ca.pem":                                 fixedCA,
		"idx/indexes/a.json":                         `{"index":{"fields":["a"]}}`,
		"idx/indexes/b.json":                         `{"index":{"fields":["b"]}}`,
		"idx/collections/c1/indexes/c.json":          `{"index":{"fields":["c"]}}`,
		"idx/collections/c0/indexes/zz-last.json":    `{"index":{"fields":["z"]}}`,
		"idx/collections/c0/indexes/00-first.json":   `{"index":{"fields":["0"]}}`,
		"idx/collections/c0/indexes/middle-one.json": `{"index":{"fields":["m"]}}`,
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	// Map order is random already; sort one way or the other on top.
	sortStrings(names, reverse)
	for _, n := range names {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(files[n]), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(p, mtime, mtime)
	})
	if err != nil {
		t.Fatal(err)
	}
	return Spec{Type: "ccaas", Label: "mycc_1.0", Connection: filepath.Join(dir, "connection.json"),
		Indexes: filepath.Join(dir, "idx")}
}

func sortStrings(s []string, reverse bool) {
	sort.Slice(s, func(i, j int) bool { return (s[i] < s[j]) != reverse })
}

// withUmask runs f with the process umask set to mask.
func withUmask(mask int, f func()) {
	old := syscall.Umask(mask)
	defer syscall.Umask(old)
	f()
}

func TestWriteFileIsReproducible(t *testing.T) {
	type result struct {
		id   string
		data []byte
		mode os.FileMode
	}
	run := func(mask int, mtime time.Time, reverse bool) result {
		var r result
		withUmask(mask, func() {
			dir := t.TempDir()
			spec := inputs(t, dir, mtime, reverse)
			out := filepath.Join(dir, "out.tgz")
			id, err := WriteFile(out, spec)
			if err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(out)
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			r = result{id, data, st.Mode().Perm()}
		})
		return r
	}
	a := run(0o022, time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC), false)
	b := run(0o077, time.Date(2031, 7, 8, 9, 10, 11, 0, time.UTC), true)
	if !bytes.Equal(a.data, b.data) {
		t.Fatalf("same inputs, different mtimes, umask and creation order gave different packages (%d and %d bytes)", len(a.data), len(b.data))
	}
	if a.id != b.id {
		t.Errorf("package IDs differ: %s and %s", a.id, b.id)
	}
	if a.mode != 0o644 || b.mode != 0o644 {
		t.Errorf("package file modes are %04o and %04o, expected 0644 whatever the umask", a.mode, b.mode)
	}
}

func TestIDIsLabelAndSHA256OfTheFile(t *testing.T) {
	dir := t.TempDir()
	spec := inputs(t, dir, time.Now(), false)
	out := filepath.Join(dir, "mycc.tgz")
	id, err := WriteFile(out, spec)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	want := "mycc_1.0:" + hex.EncodeToString(sum[:])
	if id != want {
		t.Errorf("WriteFile returned %s, expected label:sha256(file) = %s", id, want)
	}
	got, warnings, err := FileID(out)
	if err != nil || got != want || len(warnings) != 0 {
		t.Errorf("FileID = %q, %q, %v; expected %s and no warnings", got, warnings, err, want)
	}
	var buf bytes.Buffer
	streamed, err := Write(&buf, spec)
	if err != nil || streamed != want || !bytes.Equal(buf.Bytes(), data) {
		t.Errorf("Write gave ID %s (error %v) and %d bytes; expected what WriteFile wrote", streamed, err, buf.Len())
	}
}

func TestWriteServicePackageLayout(t *testing.T) {
	dir := t.TempDir()
	conn := tlsConnection(t, dir)
	id, err := Write(new(bytes.Buffer), Spec{Type: "CCAAS", Label: "x", Connection: conn})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := Write(&buf, Spec{Type: "CCAAS", Label: "x", Connection: conn, Indexes: indexFolder(t, filepath.Join(dir, "idx"))}); err != nil {
		t.Fatal(err)
	}
	outer := readArchive(t, buf.Bytes())
	if outer.gzip.Name != "" || !outer.gzip.ModTime.IsZero() || outer.gzip.OS != 255 || outer.gzip.Comment != "" {
		t.Errorf("gzip header = %+v, expected no name, no time, OS 255", outer.gzip)
	}
	if got := outer.names(); !reflect.DeepEqual(got, []string{MetadataFile, CodeFile}) {
		t.Fatalf("package holds %q, expected exactly metadata.json and code.tar.gz", got)
	}
	for _, h := range outer.headers {
		checkFixedHeader(t, h, tar.TypeReg, 0o644)
	}
	if got := string(outer.bodies[MetadataFile]); got != `{"type":"ccaas","label":"x"}` {
		t.Errorf("metadata.json = %s", got)
	}
	code := readArchive(t, outer.bodies[CodeFile])
	wantNames := []string{
		"META-INF/", "META-INF/statedb/", "META-INF/statedb/couchdb/",
		"META-INF/statedb/couchdb/collections/", "META-INF/statedb/couchdb/collections/private/",
		"META-INF/statedb/couchdb/collections/private/indexes/",
		"META-INF/statedb/couchdb/collections/private/indexes/byPrice.json",
		"META-INF/statedb/couchdb/indexes/", "META-INF/statedb/couchdb/indexes/byOwner.json",
		"connection.json", "tls/", "tls/ca.pem", "tls/client.key", "tls/client.pem",
	}
	if got := code.names(); !reflect.DeepEqual(got, wantNames) {
		t.Fatalf("code.tar.gz holds\n%q\nexpected\n%q", got, wantNames)
	}
	for _, h := range code.headers {
		if strings.HasSuffix(h.Name, "/") {
			checkFixedHeader(t, h, tar.TypeDir, 0o755)
		} else {
			checkFixedHeader(t, h, tar.TypeReg, 0o644)
		}
	}
	for name, src := range map[string]string{
		"connection.json": conn,
		"tls/client.key":  filepath.Join(dir, "tls", "client.key"),
		"META-INF/statedb/couchdb/indexes/byOwner.json": filepath.Join(dir, "idx", "indexes", "byOwner.json"),
	} {
		want, _ := os.ReadFile(src)
		if !bytes.Equal(code.bodies[name], want) {
			t.Errorf("%s in code.tar.gz differs from %s", name, src)
		}
	}
	if id == "" || !strings.HasPrefix(id, "x:") {
		t.Errorf("ID %q does not start with the label", id)
	}
}

func TestWriteBinaryPackageLayout(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "bin", "asset-cc")
	writeFile(t, exe, script, 0o700)
	var buf bytes.Buffer
	if _, err := Write(&buf, Spec{Type: "binary", Label: "asset_2", Executable: exe}); err != nil {
		t.Fatal(err)
	}
	outer := readArchive(t, buf.Bytes())
	if got := string(outer.bodies[MetadataFile]); got != `{"type":"binary","label":"asset_2","path":"asset-cc"}` {
		t.Errorf("metadata.json = %s, expected path to name the executable", got)
	}
	code := readArchive(t, outer.bodies[CodeFile])
	if got := code.names(); !reflect.DeepEqual(got, []string{"asset-cc"}) {
		t.Fatalf("code.tar.gz holds %q, expected only the executable at its top", got)
	}
	checkFixedHeader(t, code.headers[0], tar.TypeReg, 0o755)
	if !bytes.Equal(code.bodies["asset-cc"], script) {
		t.Error("the executable was not packed byte for byte")
	}
}

func TestWriteKubernetesPackageLayout(t *testing.T) {
	var buf bytes.Buffer
	if _, err := Write(&buf, Spec{Type: "K8s", Label: "asset_3", Image: "ghcr.io/org/asset@" + k8sDigest}); err != nil {
		t.Fatal(err)
	}
	outer := readArchive(t, buf.Bytes())
	if got := string(outer.bodies[MetadataFile]); got != `{"type":"k8s","label":"asset_3"}` {
		t.Errorf("metadata.json = %s", got)
	}
	code := readArchive(t, outer.bodies[CodeFile])
	if got := code.names(); !reflect.DeepEqual(got, []string{"image.json"}) {
		t.Fatalf("code.tar.gz holds %q, expected only image.json", got)
	}
	checkFixedHeader(t, code.headers[0], tar.TypeReg, 0o644)
	// fabric-builder-k8s's format: its build reads these two fields.
	var img struct{ Name, Digest string }
	if err := json.Unmarshal(code.bodies["image.json"], &img); err != nil || img.Name != "ghcr.io/org/asset" || img.Digest != k8sDigest {
		t.Errorf("image.json = %s (%v)", code.bodies["image.json"], err)
	}
}

func checkFixedHeader(t *testing.T, h *tar.Header, typ byte, mode int64) {
	t.Helper()
	if h.Typeflag != typ || h.Mode != mode || h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" ||
		!h.ModTime.Equal(time.Unix(0, 0)) || strings.HasPrefix(h.Name, "./") || strings.HasPrefix(h.Name, "/") {
		t.Errorf("%s: header type %q mode %04o uid %d gid %d user %q group %q mtime %v; expected type %q mode %04o, owner 0 with no names, mtime 0",
			h.Name, h.Typeflag, h.Mode, h.Uid, h.Gid, h.Uname, h.Gname, h.ModTime, typ, mode)
	}
}

func TestWriteFileModeWithPrivateKey(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "x.tgz")
	if _, err := WriteFile(out, Spec{Type: "external", Label: "x", Connection: tlsConnection(t, dir)}); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("a package carrying client_key_file was written %04o, expected 0600", st.Mode().Perm())
	}
}

func TestWriteWarnsForAForeignArchitecture(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "cc")
	writeFile(t, exe, foreignELF(), 0o755)
	var warnings []string
	_, err := Write(new(bytes.Buffer), Spec{Type: "binary", Label: "x", Executable: exe,
		Warn: func(f string, a ...any) { warnings = append(warnings, f) }})
	if err != nil {
		t.Fatalf("an ELF for another architecture must be packed (peers may differ from this machine): %v", err)
	}
	if len(warnings) != 1 {
		t.Errorf("expected one warning, found %q", warnings)
	}
}

func TestWriteRefuses(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, dir string) Spec
		want  string
	}{
		{"bad label", func(t *testing.T, dir string) Spec {
			return Spec{Type: "ccaas", Label: "-x", Connection: plainConnection(t, dir)}
		}, `metadata.json: label: expected ASCII letters`},
		{"empty label", func(t *testing.T, dir string) Spec {
			return Spec{Type: "ccaas", Connection: plainConnection(t, dir)}
		}, `label: expected a label, found an empty string`},
		{"unknown type", func(t *testing.T, dir string) Spec {
			return Spec{Type: "golang", Label: "x", Connection: plainConnection(t, dir)}
		}, `type: expected one of ccaas, external, binary, k8s, found "golang"`},
		{"service without connection", func(t *testing.T, dir string) Spec {
			return Spec{Type: "ccaas", Label: "x"}
		}, `connection.json is required`},
		{"k8s without image", func(t *testing.T, dir string) Spec {
			return Spec{Type: "k8s", Label: "x"}
		}, `type k8s: an image is required (NAME@sha256:DIGEST)`},
		{"k8s with a tag only", func(t *testing.T, dir string) Spec {
			return Spec{Type: "k8s", Label: "x", Image: "ghcr.io/org/asset:1.0"}
		}, `image: expected NAME@sha256:DIGEST, found "ghcr.io/org/asset:1.0" without a digest; hint: a tag alone is refused`},
		{"k8s with a connection", func(t *testing.T, dir string) Spec {
			return Spec{Type: "k8s", Label: "x", Image: "a/b@" + k8sDigest, Connection: plainConnection(t, dir)}
		}, `type k8s: only the image (and indexes) are packed`},
		{"image for another type", func(t *testing.T, dir string) Spec {
			return Spec{Type: "ccaas", Label: "x", Image: "a/b@" + k8sDigest, Connection: plainConnection(t, dir)}
		}, `type ccaas: an image is only packed for type k8s`},
		{"service with executable", func(t *testing.T, dir string) Spec {
			return Spec{Type: "ccaas", Label: "x", Connection: plainConnection(t, dir), Executable: "/bin/sh"}
		}, `only packed for type binary`},
		{"binary without executable", func(t *testing.T, dir string) Spec {
			return Spec{Type: "binary", Label: "x"}
		}, `an executable, or a folder and its entry point, is required`},
		{"connection not found", func(t *testing.T, dir string) Spec {
			return Spec{Type: "ccaas", Label: "x", Connection: filepath.Join(dir, "nope.json")}
		}, `nope.json: file not found`},
		{"address without port", func(t *testing.T, dir string) Spec {
			p := filepath.Join(dir, "connection.json")
			writeFile(t, p, []byte(`{"address": "cc.example.com"}`), 0o644)
			return Spec{Type: "ccaas", Label: "x", Connection: p}
		}, `connection.json: address: expected host:port, found "cc.example.com"`},
		{"malformed template", func(t *testing.T, dir string) Spec {
			p := filepath.Join(dir, "connection.json")
			writeFile(t, p, []byte(`{"address": "{{.peername-cc:9999"}`), 0o644)
			return Spec{Type: "ccaas", Label: "x", Connection: p}
		}, `address: malformed template`},
		{"templated file reference", func(t *testing.T, dir string) Spec {
			p := filepath.Join(dir, "connection.json")
			writeFile(t, p, []byte(`{"address": "cc:1", "tls_required": true, "root_cert_file": "{{.org}}/ca.pem"}`), 0o644)
			return Spec{Type: "ccaas", Label: "x", Connection: p}
		}, `root_cert_file: a template cannot name a file to pack`},
		{"file reference missing", func(t *testing.T, dir string) Spec {
			p := filepath.Join(dir, "connection.json")
			writeFile(t, p, []byte(`{"address": "cc:1", "tls_required": true, "root_cert_file": "ca.pem"}`), 0o644)
			return Spec{Type: "ccaas", Label: "x", Connection: p}
		}, `root_cert_file: file "ca.pem" not found`},
		{"file reference escaping", func(t *testing.T, dir string) Spec {
			writeFile(t, filepath.Join(dir, "ca.pem"), []byte(fixedCA), 0o644)
			p := filepath.Join(dir, "conn", "connection.json")
			writeFile(t, p, []byte(`{"address": "cc:1", "tls_required": true, "root_cert_file": "../ca.pem"}`), 0o644)
			return Spec{Type: "ccaas", Label: "x", Connection: p}
		}, `root_cert_file: expected a path relative to the package source folder, found "../ca.pem"`},
		{"invalid index", func(t *testing.T, dir string) Spec {
			writeFile(t, filepath.Join(dir, "idx", "indexes", "bad.json"), []byte(`{"index":`), 0o644)
			return Spec{Type: "ccaas", Label: "x", Connection: plainConnection(t, dir), Indexes: filepath.Join(dir, "idx")}
		}, filepath.Join("idx", "indexes", "bad.json") + `: expected a JSON index definition, found malformed JSON`},
		{"index folder of the wrong shape", func(t *testing.T, dir string) Spec {
			indexFolder(t, filepath.Join(dir, "cc", "META-INF", "statedb", "couchdb"))
			return Spec{Type: "ccaas", Label: "x", Connection: plainConnection(t, dir), Indexes: filepath.Join(dir, "cc")}
		}, `/cc/META-INF/statedb/couchdb`}, // in the hint only
		{"symlink in index folder", func(t *testing.T, dir string) Spec {
			idx := indexFolder(t, filepath.Join(dir, "idx"))
			if err := os.Symlink("byOwner.json", filepath.Join(idx, "indexes", "link.json")); err != nil {
				t.Fatal(err)
			}
			return Spec{Type: "ccaas", Label: "x", Connection: plainConnection(t, dir), Indexes: idx}
		}, filepath.Join("idx", "indexes", "link.json") + `: expected a regular file or folder, found a symbolic link`},
		{"executable not runnable", func(t *testing.T, dir string) Spec {
			p := filepath.Join(dir, "cc.jar")
			writeFile(t, p, []byte("PK\x03\x04 a jar"), 0o755)
			return Spec{Type: "binary", Label: "x", Executable: p}
		}, `found a zip archive`},
		{"executable is a folder", func(t *testing.T, dir string) Spec {
			return Spec{Type: "binary", Label: "x", Executable: dir}
		}, `expected a regular file, found a folder`},
		{"executable clashes with indexes", func(t *testing.T, dir string) Spec {
			p := filepath.Join(dir, "META-INF")
			writeFile(t, p, script, 0o755)
			return Spec{Type: "binary", Label: "x", Executable: p, Indexes: indexFolder(t, filepath.Join(dir, "idx"))}
		}, `META-INF would be both a file and the folder`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			spec := c.setup(t, dir)
			outDir := t.TempDir()
			out := filepath.Join(outDir, "x.tgz")
			_, err := WriteFile(out, spec)
			if err == nil {
				t.Fatalf("expected an error containing %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is more than one line: %q", err)
			}
			if left, _ := os.ReadDir(outDir); len(left) != 0 {
				t.Errorf("a refused package left %d files in the output folder", len(left))
			}
		})
	}
}

// plainConnection writes a minimal valid connection.json into dir.
func plainConnection(t *testing.T, dir string) string {
	p := filepath.Join(dir, "connection.json")
	writeFile(t, p, []byte(`{"address": "cc.example.com:9999"}`), 0o644)
	return p
}

// The builder reads connection.json field names ignoring case, as the peer
// does (pkg/connection), so packaging finds "Root_Cert_File" too and packs
// the file it names; a null reference is absent.
func TestWritePacksFileReferencesInAnyCase(t *testing.T) {
	dir := t.TempDir()
	conn := tlsConnection(t, dir)
	data, err := os.ReadFile(conn)
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.Replace(data, []byte(`"root_cert_file"`), []byte(`"Root_Cert_File"`), 1)
	data = bytes.Replace(data, []byte(`"client_key_file"`), []byte(`"CLIENT_KEY_FILE"`), 1)
	data = bytes.Replace(data, []byte(`"dial_timeout": "10s",`), []byte(`"dial_timeout": "10s", "domain": null,`), 1)
	writeFile(t, conn, data, 0o644)
	out := filepath.Join(dir, "x.tgz")
	if _, err := WriteFile(out, Spec{Type: "ccaas", Label: "x", Connection: conn}); err != nil {
		t.Fatal(err)
	}
	pkg, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	code := readArchive(t, readArchive(t, pkg).bodies[CodeFile])
	for _, name := range []string{"tls/ca.pem", "tls/client.key", "tls/client.pem"} {
		if code.bodies[name] == nil {
			t.Errorf("code.tar.gz lacks %s, which connection.json names", name)
		}
	}
	if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("a package carrying CLIENT_KEY_FILE was not written 0600: %v %v", st, err)
	}
}
