package ccpackage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/extbuilder/extbuilder/internal/testpki"
)

// ent is one member of an archive a test builds by hand, rules broken or not.
type ent struct {
	name string
	typ  byte // tar.TypeReg when zero
	mode int64
	body []byte
	link string
}

// tarGz builds a gzip tar of ents, in order, with nothing fixed up.
func tarGz(t *testing.T, ents ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range ents {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Linkname: e.link, ModTime: time.Unix(0, 0)}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pkg wraps metadata.json and code.tar.gz the way the peer expects.
func pkg(t *testing.T, metadataJSON string, code []byte) []byte {
	return tarGz(t, ent{name: MetadataFile, body: []byte(metadataJSON)}, ent{name: CodeFile, body: code})
}

// archive is a read-back package or code.tar.gz: headers and bodies in order.
type archive struct {
	gzip    gzip.Header
	headers []*tar.Header
	bodies  map[string][]byte
}

func readArchive(t *testing.T, data []byte) *archive {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	a := &archive{gzip: zr.Header, bodies: map[string][]byte{}}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return a
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		a.headers = append(a.headers, h)
		a.bodies[h.Name] = body
	}
}

func (a *archive) names() []string {
	var n []string
	for _, h := range a.headers {
		n = append(n, h.Name)
	}
	return n
}

func writeFile(t *testing.T, name string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, data, mode); err != nil {
		t.Fatal(err)
	}
}

// foreignELF is the 64-byte header of an ELF executable for an architecture
// this machine is not, which is all executable.Check reads.
func foreignELF() []byte {
	machine := elf.EM_AARCH64
	if runtime.GOARCH == "arm64" {
		machine = elf.EM_X86_64
	}
	return elfHeader(machine)
}

// nativeELF is an ELF header for this machine's architecture.
func nativeELF(t *testing.T) []byte {
	m := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[runtime.GOARCH]
	if m == 0 {
		t.Skipf("no ELF machine number in this test for %s", runtime.GOARCH)
	}
	return elfHeader(m)
}

func elfHeader(machine elf.Machine) []byte {
	h := make([]byte, 64)
	copy(h, elf.ELFMAG)
	h[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	h[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	h[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	binary.LittleEndian.PutUint16(h[16:], uint16(elf.ET_EXEC))
	binary.LittleEndian.PutUint16(h[18:], uint16(machine))
	binary.LittleEndian.PutUint32(h[20:], uint32(elf.EV_CURRENT))
	binary.LittleEndian.PutUint16(h[52:], 64) // header size
	return h
}

// fixedCA is one CA certificate for a whole test run, so that two packages
// made from it in one run can be compared byte for byte.
var fixedCA = testpki.NewCA("fixed test CA").CertPEM

// script is an executable a binary package can carry on any machine.
var script = []byte("#!/bin/sh\nexec sleep 1000\n")

// tlsConnection writes a connection.json with mutual TLS whose material is
// in files next to it, and returns its path.
func tlsConnection(t *testing.T, dir string) string {
	t.Helper()
	serverCA := testpki.NewCA("chaincode server CA")
	client := testpki.NewCA("peer client CA").Client("peer0.org1.example.com")
	writeFile(t, filepath.Join(dir, "tls", "ca.pem"), []byte(serverCA.CertPEM), 0o644)
	writeFile(t, filepath.Join(dir, "tls", "client.pem"), []byte(client.CertPEM), 0o644)
	writeFile(t, filepath.Join(dir, "tls", "client.key"), []byte(client.KeyPEM), 0o600)
	conn := filepath.Join(dir, "connection.json")
	writeFile(t, conn, []byte(`{
  "address": "{{.peername}}-cc.org1.svc:9999",
  "dial_timeout": "10s",
  "tls_required": true,
  "client_auth_required": true,
  "root_cert_file": "tls/ca.pem",
  "client_cert_file": "tls/client.pem",
  "client_key_file": "tls/client.key"
}
`), 0o644)
	return conn
}

// indexFolder writes a couchdb folder with one index and one collection index.
func indexFolder(t *testing.T, dir string) string {
	t.Helper()
	writeFile(t, filepath.Join(dir, "indexes", "byOwner.json"), []byte(`{"index":{"fields":["owner"]},"ddoc":"byOwner","name":"byOwner","type":"json"}`), 0o644)
	writeFile(t, filepath.Join(dir, "collections", "private", "indexes", "byPrice.json"), []byte(`{"index":{"fields":["price"]}}`), 0o644)
	return dir
}

// readGunzip decompresses data.
func readGunzip(t *testing.T, data []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
