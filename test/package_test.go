//go:build unix

package test

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/extbuilder/extbuilder/internal/bindir"
	"github.com/extbuilder/extbuilder/internal/testpki"
	"github.com/extbuilder/extbuilder/test/peersim"
)

// The operator's tool, built once next to the builders (and removed with them).
var (
	extbuilderOnce sync.Once
	extbuilderPath string
	extbuilderErr  error
)

func extbuilderBinary(t *testing.T) string {
	t.Helper()
	extbuilderOnce.Do(func() {
		extbuilderPath = filepath.Join(filepath.Dir(builderDir), "tools", "extbuilder")
		if err := bindir.GoBuild("..", extbuilderPath, []string{"./cmd/extbuilder"}); err != nil {
			extbuilderErr = fmt.Errorf("building extbuilder failed: %v", err)
		}
	})
	if extbuilderErr != nil {
		t.Fatal(extbuilderErr)
	}
	return extbuilderPath
}

// extbuilder runs the built tool in dir under the given umask, as an
// operator's shell would.
func extbuilder(t *testing.T, dir, umask string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command("/bin/sh", append([]string{"-c", `umask "$1"; shift; exec "$@"`, "sh", umask, extbuilderBinary(t)}, args...)...)
	cmd.Dir = dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

// packageInputs is what an operator packages: files by relative path, and
// the extbuilder package arguments that name them.
type packageInputs struct {
	files map[string]string
	args  []string
}

// writeInputs writes the inputs into a fresh folder with the given file
// mode and modification time.
func writeInputs(t *testing.T, in packageInputs, mode os.FileMode, mtime time.Time) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range in.files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
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
	return dir
}

// TestPackageInstallsThroughThePeer makes packages with `extbuilder
// package` twice (other umask, modes and mtimes: same bytes, same ID), checks
// them with `extbuilder lint` and `extbuilder id`, and installs them with
// peersim exactly as a peer would.
func TestPackageInstallsThroughThePeer(t *testing.T) {
	serverCA := testpki.NewCA("chaincode server CA")
	client := testpki.NewCA("peer client CA").Client("peer0.org1.example.com")
	const index = `{"index":{"fields":["owner"]},"ddoc":"byOwner","name":"byOwner","type":"json"}`
	cases := []struct {
		name    string
		in      packageInputs
		address string // what the peer dials, templates expanded
		tls     bool
		indexes int
		binary  bool
	}{
		{
			name: "ccaas, templated address, TLS by file reference, indexes",
			in: packageInputs{
				files: map[string]string{
					"deploy/connection.json": `{"address": "{{.peername}}-cc.org1.svc:9999", "tls_required": true, "client_auth_required": true,
  "root_cert_file": "tls/ca.pem", "client_cert_file": "tls/client.pem", "client_key_file": "tls/client.key"}`,
					"deploy/tls/ca.pem":                                serverCA.CertPEM,
					"deploy/tls/client.pem":                            client.CertPEM,
					"deploy/tls/client.key":                            client.KeyPEM,
					"couchdb/indexes/byOwner.json":                     index,
					"couchdb/collections/private/indexes/byOwner.json": index,
				},
				args: []string{"--type", "ccaas", "--label", "asset_1.0", "--connection", "deploy/connection.json", "--indexes", "couchdb"},
			},
			address: "peer0org1-cc.org1.svc:9999", tls: true, indexes: 2,
		},
		{
			name: "external, no TLS",
			in: packageInputs{
				files: map[string]string{"connection.json": `{"address": "asset.example.com:9999", "dial_timeout": "10s"}`},
				args:  []string{"--type", "external", "--label", "asset_2.0", "--connection", "connection.json"},
			},
			address: "asset.example.com:9999",
		},
		{
			name: "binary",
			in: packageInputs{
				files: map[string]string{"build/asset-cc": "#!/bin/sh\nexec sleep 1000\n", "couchdb/indexes/byOwner.json": index},
				args:  []string{"--type", "binary", "--label", "asset_3.0", "--executable", "build/asset-cc", "--indexes", "couchdb"},
			},
			binary: true, indexes: 1,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			first := writeInputs(t, c.in, 0o644, time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC))
			second := writeInputs(t, c.in, 0o600, time.Date(2029, 6, 1, 12, 0, 0, 0, time.UTC))
			code, id, stderr := extbuilder(t, first, "022", append(append([]string{"package"}, c.in.args...), "-o", "out.tgz")...)
			if code != 0 || stderr != "" {
				t.Fatalf("package: exit %d, stderr %q", code, stderr)
			}
			id = strings.TrimSuffix(id, "\n")
			code, id2, stderr := extbuilder(t, second, "077", append(append([]string{"package"}, c.in.args...), "-o", "out.tgz")...)
			if code != 0 || stderr != "" {
				t.Fatalf("package again: exit %d, stderr %q", code, stderr)
			}
			tgz, err := os.ReadFile(filepath.Join(first, "out.tgz"))
			if err != nil {
				t.Fatal(err)
			}
			again, _ := os.ReadFile(filepath.Join(second, "out.tgz"))
			if !bytes.Equal(tgz, again) || strings.TrimSuffix(id2, "\n") != id {
				t.Fatalf("other umask, modes and mtimes gave another package: IDs %s and %s", id, id2)
			}
			sum := sha256.Sum256(tgz)
			label := c.in.args[3]
			if want := label + ":" + hex.EncodeToString(sum[:]); id != want {
				t.Errorf("package printed %s, expected label:sha256(file) = %s", id, want)
			}

			if code, stdout, stderr := extbuilder(t, first, "022", "lint", "out.tgz"); code != 0 || stdout != "" {
				t.Errorf("lint: exit %d, findings %q, %s", code, stdout, stderr)
			}
			if code, stdout, _ := extbuilder(t, first, "022", "id", "out.tgz"); code != 0 || stdout != id+"\n" {
				t.Errorf("id: exit %d, printed %q, expected %s", code, stdout, id)
			}

			pkg, err := peersim.ParsePackage(tgz)
			if err != nil {
				t.Fatalf("peersim refuses the package: %v", err)
			}
			if pkg.ID != id {
				t.Errorf("peersim computed ID %s, package printed %s", pkg.ID, id)
			}
			res, err := packagePeer(t).Install(pkg)
			if c.binary && err != nil && stepSays(res, "build", "not supported yet") {
				t.Skip("bin/build does not handle binary packages yet")
			}
			if err != nil || !res.Claimed() {
				t.Fatalf("install: %v (claimed by %q); steps: %+v", err, res.Builder, res.Steps)
			}
			info, err := peersim.ReadConnection(res.CachedRelease)
			if err != nil {
				t.Fatalf("the peer would fail the launch: %v", err)
			}
			switch {
			case c.binary && info != nil:
				t.Error("a binary package released a connection.json: the peer would dial instead of calling run")
			case !c.binary && (info == nil || info.Address != c.address || info.TLS != c.tls || info.ClientAuth != c.tls):
				t.Errorf("the peer would dial %+v, expected address %s, TLS and client auth %v", info, c.address, c.tls)
			}
			indexes, err := peersim.CouchDBIndexes(res.CachedRelease)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, files := range indexes {
				n += len(files)
			}
			if n != c.indexes {
				t.Errorf("the peer would deploy %d CouchDB indexes, expected %d", n, c.indexes)
			}
		})
	}
}

// packagePeer is a peer with extbuilder as its only builder and the
// template configuration of peer0.org1.
func packagePeer(t *testing.T) *peersim.Peer {
	root := t.TempDir()
	tmp := filepath.Join(root, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	return &peersim.Peer{
		Builders: []peersim.Builder{{Name: "extbuilder", Path: builderDir, PropagateEnvironment: []string{configVariable}}},
		Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin", "TMPDIR=" + tmp,
			configVariable + `={"peername":"peer0org1"}`},
		FileSystemPath: filepath.Join(root, "peer"),
	}
}

func stepSays(res *peersim.Result, program, text string) bool {
	if st := res.Step(program); st != nil {
		return strings.Contains(strings.Join(st.Stderr, "\n"), text)
	}
	return false
}

// TestLintAgreesWithThePeer builds packages the peer refuses at install and
// checks that lint fails them offline, for the same reason.
func TestLintAgreesWithThePeer(t *testing.T) {
	meta := []byte(`{"type":"ccaas","label":"bad_1"}`)
	conn := peersim.Entry{Name: "connection.json", Body: []byte(`{"address":"cc.example.com:9999"}`)}
	code := func(entries ...peersim.Entry) []byte {
		data, err := peersim.TarGz(entries)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	outer := func(entries ...peersim.Entry) []byte { return code(entries...) }
	cases := []struct {
		name string
		tgz  []byte
		peer string // what the peer (peersim) says
		lint string // the finding lint must print
	}{
		{"symlink in code.tar.gz", outer(peersim.Entry{Name: "metadata.json", Body: meta},
			peersim.Entry{Name: "code.tar.gz", Body: code(conn, peersim.Entry{Name: "ca.pem", Type: tar.TypeSymlink, Linkname: "/etc/ssl/ca.pem"})}),
			"invalid file type", "error: code.tar.gz: ca.pem is a symbolic link"},
		{"escaping path in code.tar.gz", outer(peersim.Entry{Name: "metadata.json", Body: meta},
			peersim.Entry{Name: "code.tar.gz", Body: code(conn, peersim.Entry{Name: "../../evil", Body: []byte("x")})}),
			"absolute or escaping path", `error: code.tar.gz: "../../evil": absolute or escaping path`},
		{"./ prefixed package members", outer(peersim.Entry{Name: "./metadata.json", Body: meta}, peersim.Entry{Name: "./code.tar.gz", Body: code(conn)}),
			"", `error: pkg.tgz: holds "./metadata.json"`},
		{"folder entry in the package", outer(peersim.Entry{Name: "./", Type: tar.TypeDir}, peersim.Entry{Name: "metadata.json", Body: meta}, peersim.Entry{Name: "code.tar.gz", Body: code(conn)}),
			`"./"`, `error: pkg.tgz: holds the folder entry "./"`},
		{"bad label", outer(peersim.Entry{Name: "metadata.json", Body: []byte(`{"type":"ccaas","label":"bad label"}`)}, peersim.Entry{Name: "code.tar.gz", Body: code(conn)}),
			"label", `error: metadata.json: label:`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pkg, err := peersim.ParsePackage(c.tgz)
			if err == nil {
				_, err = packagePeer(t).Install(pkg)
			}
			if err == nil || !strings.Contains(err.Error(), c.peer) {
				t.Fatalf("the peer emulator accepted the package or refused it otherwise: %v", err)
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "pkg.tgz"), c.tgz, 0o644); err != nil {
				t.Fatal(err)
			}
			code, stdout, _ := extbuilder(t, dir, "022", "lint", "pkg.tgz")
			if code != 1 || !strings.Contains(stdout, c.lint) {
				t.Errorf("lint: exit %d, findings:\n%s\nexpected exit 1 and %q", code, stdout, c.lint)
			}
		})
	}
}
