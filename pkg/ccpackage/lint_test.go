//go:build unix

package ccpackage

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/extbuilder/extbuilder/internal/executable"
)

const (
	serviceMetadata = `{"type":"ccaas","label":"mycc_1.0"}`
	binaryMetadata  = `{"type":"binary","label":"mycc_1.0","path":"cc"}`
	plainConn       = `{"address": "cc.example.com:9999"}`
	k8sMetadata     = `{"type":"k8s","label":"mycc_1.0"}`
	k8sDigest       = "sha256:802c336235cc1e7347e2da36c73fa2e4b6437cfc6f52872674d1e23f23bba63b"
)

var connEntry = ent{name: ConnectionFile, body: []byte(plainConn)}

func lintBytes(t *testing.T, data []byte, opts LintOptions) *Report {
	t.Helper()
	file := filepath.Join(t.TempDir(), "pkg.tgz")
	writeFile(t, file, data, 0o644)
	r, err := Lint(file, opts)
	if err != nil {
		t.Fatalf("Lint: %v", err)
	}
	for _, f := range r.Findings {
		if strings.Contains(f.Message, "\n") {
			t.Errorf("finding is more than one line: %q", f.Message)
		}
	}
	return r
}

// plainTar is an uncompressed tar of ents.
func plainTar(t *testing.T, ents ...ent) []byte {
	return readGunzip(t, tarGz(t, ents...))
}

func TestLintAcceptsWhatWriteMakes(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "asset-cc")
	writeFile(t, exe, script, 0o755)
	idx := indexFolder(t, filepath.Join(dir, "idx"))
	specs := map[string]Spec{
		"ccaas with TLS files, template and indexes": {Type: "ccaas", Label: "a_1", Connection: tlsConnection(t, filepath.Join(dir, "tls")), Indexes: idx},
		"external":                {Type: "external", Label: "b_1", Connection: plainConnection(t, dir)},
		"binary script":           {Type: "binary", Label: "c_1", Executable: exe, Indexes: idx},
		"binary ELF of this host": {Type: "binary", Label: "d_1", Executable: nativeExecutable(t, dir)},
		"k8s with indexes":        {Type: "k8s", Label: "e_1", Image: "ghcr.io/org/asset@" + k8sDigest, Indexes: idx},
	}
	for name, spec := range specs {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			id, err := Write(&buf, spec)
			if err != nil {
				t.Fatal(err)
			}
			for _, opts := range []LintOptions{{}, {Expand: true, Config: `{"peername":"peer0org1"}`}} {
				r := lintBytes(t, buf.Bytes(), opts)
				if len(r.Findings) != 0 {
					t.Errorf("findings for a package made by Write (options %+v): %q", opts, r.Findings)
				}
				if r.ID != id {
					t.Errorf("lint computed ID %s, Write returned %s", r.ID, id)
				}
			}
		})
	}
}

func nativeExecutable(t *testing.T, dir string) string {
	p := filepath.Join(dir, "native")
	writeFile(t, p, nativeELF(t), 0o755)
	return p
}

func TestLintFindings(t *testing.T) {
	code := tarGz(t, connEntry)
	cases := []struct {
		name     string
		pkg      []byte
		opts     LintOptions
		severity Severity
		want     string
	}{
		// The outer archive.
		{"not gzip", plainTar(t, ent{name: MetadataFile, body: []byte(serviceMetadata)}, ent{name: CodeFile, body: code}), LintOptions{},
			Error, "pkg.tgz: expected a gzip-compressed tar, found an uncompressed tar"},
		{"not an archive at all", []byte("hello"), LintOptions{}, Error, "found something else"},
		{"./ prefix", tarGz(t, ent{name: "./" + MetadataFile, body: []byte(serviceMetadata)}, ent{name: "./" + CodeFile, body: code}), LintOptions{},
			Error, `holds "./metadata.json": expected the name metadata.json, exactly`},
		{"folder entry", tarGz(t, ent{name: "./", typ: tar.TypeDir, mode: 0o755}, ent{name: MetadataFile, body: []byte(serviceMetadata)}, ent{name: CodeFile, body: code}), LintOptions{},
			Error, `holds the folder entry "./"`},
		{"extra entry", tarGz(t, ent{name: MetadataFile, body: []byte(serviceMetadata)}, ent{name: CodeFile, body: code}, ent{name: "README.md"}), LintOptions{},
			Error, `holds the extra file "README.md"`},
		{"metadata twice", tarGz(t, ent{name: MetadataFile, body: []byte(serviceMetadata)}, ent{name: MetadataFile, body: []byte(serviceMetadata)}, ent{name: CodeFile, body: code}), LintOptions{},
			Error, "holds metadata.json more than once"},
		{"no code", tarGz(t, ent{name: MetadataFile, body: []byte(serviceMetadata)}), LintOptions{},
			Error, "has no code.tar.gz"},
		{"symlink in outer archive", tarGz(t, ent{name: MetadataFile, body: []byte(serviceMetadata)}, ent{name: CodeFile, typ: tar.TypeSymlink, link: "/etc/passwd"}), LintOptions{},
			Error, `holds "code.tar.gz", a symbolic link: the peer refuses any entry that is not a regular file`},
		{"metadata too long", pkg(t, `{"type":"ccaas","label":"x","pad":"`+strings.Repeat("x", maxMetadataBytes)+`"}`, code), LintOptions{},
			Error, "metadata.json: expected at most 64 KiB"},

		// metadata.json.
		{"malformed metadata", pkg(t, `{"type":"ccaas",`, code), LintOptions{}, Error, "metadata.json: expected JSON, found malformed JSON"},
		{"metadata not an object", pkg(t, `["ccaas"]`, code), LintOptions{}, Error, "metadata.json: expected a JSON object, found an array"},
		{"type not a string", pkg(t, `{"type":1,"label":"x"}`, code), LintOptions{}, Error, "metadata.json: type: expected a string, found a number"},
		{"bad label", pkg(t, `{"type":"ccaas","label":"my cc"}`, code), LintOptions{}, Error, `metadata.json: label: expected ASCII letters, digits and _.+- starting with a letter or digit, found "my cc": the peer refuses the package`},
		{"type not ours", pkg(t, `{"type":"golang","label":"x"}`, code), LintOptions{}, Error, `metadata.json: type: "golang" is not handled by extbuilder`},
		// The peer reads metadata.json with encoding/json
		// (persistence.ChaincodePackageMetadata): names match ignoring case.
		{"type in capitals", pkg(t, `{"Type":"ccaas","Label":"x"}`, code), LintOptions{}, Warning,
			`metadata.json: field names read ignoring case, as the peer reads them: "Type" as type, "Label" as label`},
		{"type twice", pkg(t, `{"type":"ccaas","label":"x","TYPE":"golang"}`, code), LintOptions{}, Error,
			`metadata.json: type: given twice, as "type" and "TYPE": the peer would silently use the last one`},

		// image.json of a k8s package.
		{"k8s tag only", pkg(t, k8sMetadata, tarGz(t, ent{name: "image.json", body: []byte(`{"name":"ghcr.io/org/asset","tag":"1.0"}`)})), LintOptions{},
			Error, `image.json: digest: required, but missing: the tag "1.0" alone is refused because a tag can be moved to another image`},
		{"k8s without image.json", pkg(t, k8sMetadata, code), LintOptions{}, Error, `image.json: file not found`},
		{"k8s with connection.json", pkg(t, k8sMetadata, tarGz(t, connEntry, ent{name: "image.json", body: []byte(`{"name":"a/b","digest":"` + k8sDigest + `"}`)})), LintOptions{},
			Warning, `connection.json: ignored in a package of type k8s`},

		// code.tar.gz as the peer unpacks it.
		{"code not gzip", pkg(t, serviceMetadata, plainTar(t, connEntry)), LintOptions{}, Error, "code.tar.gz: expected gzip-compressed tar, found an uncompressed tar"},
		{"symlink in code", pkg(t, serviceMetadata, tarGz(t, connEntry, ent{name: "ca.pem", typ: tar.TypeSymlink, link: "/etc/ssl/ca.pem"})), LintOptions{},
			Error, `code.tar.gz: ca.pem is a symbolic link: the peer accepts only regular files and folders and fails the install ("invalid file type"); hint: pack the file itself`},
		{"hard link in code", pkg(t, serviceMetadata, tarGz(t, connEntry, ent{name: "copy.json", typ: tar.TypeLink, link: ConnectionFile})), LintOptions{},
			Error, "code.tar.gz: copy.json is a hard link"},
		{"device in code", pkg(t, serviceMetadata, tarGz(t, connEntry, ent{name: "null", typ: tar.TypeChar})), LintOptions{},
			Error, "code.tar.gz: null is a device"},
		{"escaping path", pkg(t, serviceMetadata, tarGz(t, connEntry, ent{name: "../evil.sh", body: []byte("x")})), LintOptions{},
			Error, `code.tar.gz: "../evil.sh": absolute or escaping path`},
		{"escaping path after cleaning", pkg(t, serviceMetadata, tarGz(t, connEntry, ent{name: "a/../../evil.sh", body: []byte("x")})), LintOptions{},
			Error, `code.tar.gz: "a/../../evil.sh": absolute or escaping path`},
		{"absolute path", pkg(t, serviceMetadata, tarGz(t, connEntry, ent{name: "/etc/cron.d/evil", body: []byte("x")})), LintOptions{},
			Error, `code.tar.gz: "/etc/cron.d/evil": absolute or escaping path`},
		{"file twice", pkg(t, serviceMetadata, tarGz(t, connEntry, connEntry)), LintOptions{},
			Error, "code.tar.gz: connection.json appears twice"},
		{"file where a folder must be", pkg(t, serviceMetadata, tarGz(t, connEntry, ent{name: "tls"}, ent{name: "tls/ca.pem"})), LintOptions{},
			Error, "code.tar.gz: tls/ca.pem: cannot be unpacked: tls is a file"},
		{"unreadable mode", pkg(t, serviceMetadata, tarGz(t, ent{name: ConnectionFile, mode: 0o200, body: []byte(plainConn)})), LintOptions{},
			Warning, "code.tar.gz: connection.json: mode 0200: the peer creates the file with this mode"},

		// connection.json, as build checks it.
		{"connection.json missing", pkg(t, serviceMetadata, tarGz(t, ent{name: "other.json", body: []byte(plainConn)})), LintOptions{},
			Error, "connection.json: file not found; hint: a package of type ccaas or external carries connection.json at the top of code.tar.gz"},
		{"connection.json in a folder", pkg(t, serviceMetadata, tarGz(t, ent{name: "cc/connection.json", body: []byte(plainConn)})), LintOptions{},
			Error, "connection.json: file not found"},
		{"address without port", pkg(t, serviceMetadata, tarGz(t, ent{name: ConnectionFile, body: []byte(`{"address":"cc.example.com"}`)})), LintOptions{},
			Error, `connection.json: address: expected host:port, found "cc.example.com"`},
		{"string boolean", pkg(t, serviceMetadata, tarGz(t, ent{name: ConnectionFile, body: []byte(`{"address":"cc:1","tls_required":"false"}`)})), LintOptions{},
			Warning, `connection.json: tls_required: the string "false"`},
		{"unknown field", pkg(t, serviceMetadata, tarGz(t, ent{name: ConnectionFile, body: []byte(`{"address":"cc:1","tls_require":true}`)})), LintOptions{},
			Error, `connection.json: tls_require: unknown field`},
		{"missing template key", pkg(t, serviceMetadata, tarGz(t, ent{name: ConnectionFile, body: []byte(`{"address":"{{.peername}}:9999"}`)})),
			LintOptions{Expand: true, Config: `{"org":"org1"}`}, Error, `connection.json: address: template key "peername" is not in CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG`},
		{"template expanded to a bad address", pkg(t, serviceMetadata, tarGz(t, ent{name: ConnectionFile, body: []byte(`{"address":"{{.peername}}"}`)})),
			LintOptions{Expand: true, Config: `{"peername":"peer0"}`}, Error, `connection.json: address: expected host:port, found "peer0"`},
		{"file reference missing", pkg(t, serviceMetadata, tarGz(t, ent{name: ConnectionFile, body: []byte(`{"address":"cc:1","tls_required":true,"root_cert_file":"tls/ca.pem"}`)})), LintOptions{},
			Error, `connection.json: root_cert_file: file "tls/ca.pem" not found in the package`},

		// CouchDB indexes.
		{"invalid index", pkg(t, serviceMetadata, tarGz(t, connEntry, ent{name: "META-INF/statedb/couchdb/indexes/bad.json", body: []byte(`{"index":`)})), LintOptions{},
			Error, "META-INF/statedb/couchdb/indexes/bad.json: expected a JSON index definition, found malformed JSON"},
		{"not an index", pkg(t, serviceMetadata, tarGz(t, connEntry, ent{name: "META-INF/statedb/couchdb/README", body: []byte(`x`)})), LintOptions{},
			Warning, "META-INF/statedb/couchdb/README: not copied"},

		// The executable of a binary package.
		{"executable missing", pkg(t, binaryMetadata, tarGz(t, ent{name: "other", mode: 0o755, body: script})), LintOptions{},
			Error, `cc: no such file in the package`},
		{"default executable missing", pkg(t, `{"type":"binary","label":"x"}`, tarGz(t, ent{name: "cc", mode: 0o755, body: script})), LintOptions{},
			Error, `chaincode: no such file in the package`},
		{"executable for another architecture", pkg(t, binaryMetadata, tarGz(t, ent{name: "cc", mode: 0o755, body: foreignELF()})), LintOptions{},
			Error, "cc: is an ELF executable for"},
		{"executable path escaping", pkg(t, `{"type":"binary","label":"x","path":"../cc"}`, tarGz(t, ent{name: "cc", mode: 0o755, body: script})), LintOptions{},
			Error, `metadata.json: path: expected a path inside the package, found "../cc"`},
		{"executable is a text file", pkg(t, binaryMetadata, tarGz(t, ent{name: "cc", mode: 0o755, body: []byte("echo hi\n")})), LintOptions{},
			Error, "cc: expected an ELF executable for"},
		{"executable is a folder", pkg(t, binaryMetadata, tarGz(t, ent{name: "cc/", typ: tar.TypeDir, mode: 0o755})), LintOptions{},
			Error, "cc: expected a regular file, found a folder"},
		{"interpreter missing on this machine", pkg(t, binaryMetadata, tarGz(t, ent{name: "cc", mode: 0o755, body: []byte("#!/usr/bin/env extbuilder-no-such-runtime\n")})), LintOptions{},
			Warning, "cc: starts with #!/usr/bin/env extbuilder-no-such-runtime, but extbuilder-no-such-runtime is not installed on this peer"},
		{"ELF file for another architecture in the tree", pkg(t, binaryMetadata, tarGz(t, ent{name: "cc", mode: 0o755, body: script}, ent{name: "lib/addon.node", body: foreignELF()})), LintOptions{},
			Warning, "lib/addon.node: is an ELF file for"},
		{"connection.json in a binary package", pkg(t, binaryMetadata, tarGz(t, connEntry, ent{name: "cc", mode: 0o755, body: script})), LintOptions{},
			Warning, "connection.json: ignored in a package of type binary"},

		// Limits.
		{"too many entries", pkg(t, serviceMetadata, tarGz(t, connEntry, ent{name: "a"}, ent{name: "b"}, ent{name: "c"})), LintOptions{Limits: Limits{Entries: 3}},
			Error, "code.tar.gz: holds more than 3 entries"},
		{"unpacks too large", pkg(t, serviceMetadata, tarGz(t, connEntry, ent{name: "big", body: make([]byte, 64<<10)})), LintOptions{Limits: Limits{UnpackedBytes: 16 << 10}},
			Error, "code.tar.gz: unpacks to more than 16 KiB"},
		{"decompresses too large", tarGz(t, ent{name: MetadataFile, body: []byte(serviceMetadata)}, ent{name: "pad", body: make([]byte, 1<<20)}, ent{name: CodeFile, body: code}),
			LintOptions{Limits: Limits{PackageBytes: 64 << 10}}, Error, "pkg.tgz: decompresses to more than 64 KiB"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("PATH", "/usr/bin:/bin")
			r := lintBytes(t, c.pkg, c.opts)
			for _, f := range r.Findings {
				if f.Severity == c.severity && strings.Contains(f.Message, c.want) {
					if c.severity == Warning && r.Errors() != 0 {
						t.Errorf("a warning case gave errors too: %q", r.Findings)
					}
					return
				}
			}
			t.Errorf("no %s containing %q; findings: %q", c.severity, c.want, r.Findings)
		})
	}
}

// TestLintRefusesTheTreesBuildRefuses: lint calls build's tree checks with
// build's limits. 10,000 tar entries are read, but they unpack to 10,001
// files and folders (the folder of the files has no entry of its own),
// which build refuses.
func TestLintRefusesTheTreesBuildRefuses(t *testing.T) {
	ents := []ent{{name: "cc", mode: 0o755, body: []byte("#!/bin/sh\n")}}
	for i := 0; len(ents) < executable.MaxEntries; i++ {
		ents = append(ents, ent{name: fmt.Sprintf("d/f%05d", i)})
	}
	tmp := t.TempDir()
	if shm, err := os.MkdirTemp("/dev/shm", "extbuilder-test-"); err == nil { // 10,000 files: faster on tmpfs
		t.Cleanup(func() { os.RemoveAll(shm) })
		tmp = shm
	}
	r := lintBytes(t, pkg(t, binaryMetadata, tarGz(t, ents...)), LintOptions{TempDir: tmp})
	assert.Equal(t, []Finding{{Error, "code.tar.gz: holds more than 10000 files and folders, the most a binary package may install; hint: leave out what the chaincode does not need at run time (tests, sources, caches)"}}, r.Findings)
}

// TestLintControl shows that the packages the cases above break are fine
// when nothing is broken, so each case fails for its own reason.
func TestLintControl(t *testing.T) {
	for name, data := range map[string][]byte{
		"service":                         pkg(t, serviceMetadata, tarGz(t, connEntry, ent{name: "META-INF/statedb/couchdb/indexes/ok.json", body: []byte(`{"index":{"fields":["a"]}}`)})),
		"binary":                          pkg(t, binaryMetadata, tarGz(t, ent{name: "cc", mode: 0o755, body: script})),
		"templated address, not expanded": pkg(t, serviceMetadata, tarGz(t, ent{name: ConnectionFile, body: []byte(`{"address":"{{.peername}}"}`)})),
	} {
		if r := lintBytes(t, data, LintOptions{}); len(r.Findings) != 0 {
			t.Errorf("%s: findings for a good package: %q", name, r.Findings)
		}
	}
}

func TestLintRemovesWhatItUnpacked(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(t.TempDir(), "pkg.tgz")
	writeFile(t, file, pkg(t, serviceMetadata, tarGz(t, connEntry, ent{name: "symlink", typ: tar.TypeSymlink, link: "x"})), 0o644)
	if _, err := Lint(file, LintOptions{TempDir: tmp}); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("Lint left %d entries in its temporary folder", len(left))
	}
}

func TestLintRefusesFilesItCannotRead(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.tgz")
	writeFile(t, big, make([]byte, 4096), 0o644)
	for file, want := range map[string]string{
		filepath.Join(dir, "none.tgz"): "none.tgz: file not found",
		dir:                            "expected a regular file, found a folder",
		big:                            "expected at most 1 KiB, found 4.0 KiB",
	} {
		_, err := Lint(file, LintOptions{Limits: Limits{PackageBytes: 1024}})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Lint(%s) = %v, expected an error containing %q", file, err, want)
		}
	}
}

func TestFileIDFollowsThePeer(t *testing.T) {
	code := tarGz(t, connEntry)
	cases := []struct {
		name     string
		pkg      []byte
		want     string // error; "" when the peer gives an ID
		warnings int
	}{
		{"good", pkg(t, serviceMetadata, code), "", 0},
		{"extra file tolerated", tarGz(t, ent{name: MetadataFile, body: []byte(serviceMetadata)}, ent{name: CodeFile, body: code}, ent{name: "x"}), "", 1},
		{"./ prefix refused", tarGz(t, ent{name: "./" + MetadataFile, body: []byte(serviceMetadata)}, ent{name: "./" + CodeFile, body: code}), `holds "./metadata.json"`, 0},
		{"folder entry refused", tarGz(t, ent{name: "./", typ: tar.TypeDir}, ent{name: MetadataFile, body: []byte(serviceMetadata)}, ent{name: CodeFile, body: code}), `holds the folder entry "./"`, 0},
		{"bad label refused", pkg(t, `{"type":"ccaas","label":"my cc"}`, code), "label: expected ASCII letters", 0},
		{"not gzip refused", []byte("plain"), "expected a gzip-compressed tar", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "p.tgz")
			writeFile(t, file, c.pkg, 0o644)
			id, warnings, err := FileID(file)
			if c.want != "" {
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("FileID = %q, %v; expected an error containing %q", id, err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id != ID("mycc_1.0", c.pkg) {
				t.Errorf("FileID = %s, expected %s", id, ID("mycc_1.0", c.pkg))
			}
			if len(warnings) != c.warnings {
				t.Errorf("warnings %q, expected %d", warnings, c.warnings)
			}
		})
	}
}
