//go:build linux

package corpus

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const (
	validMetadata = `{"type":"ccaas","label":"corpus_1.0","path":""}`
	noMetadata    = "\x00no metadata.json\x00" // sentinel: do not write metadata.json
	binaryMeta    = `{"type":"binary","label":"corpus_1.0","path":"chaincode"}`
	plainConn     = `{"address":"corpus-cc:9999","dial_timeout":"10s"}`
	indexDef      = `{"index":{"fields":["docType","owner"]},"ddoc":"indexOwnerDoc","name":"indexOwner","type":"json"}`
	indexes       = "META-INF/statedb/couchdb/indexes/"
	// startedMarker is what the test chaincode creates in its folder when
	// started: run must never get that far on a bad chaincode.json.
	startedMarker = "STARTED"
	chaincode     = "#!/bin/sh\ntouch \"$(dirname \"$0\")/" + startedMarker + "\"\nexit 0\n"
)

func str(s string) *string { return &s }

// js is the JSON encoding of v: how a PEM value is written into a case.
func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// conn is a connection.json with the given fields (values JSON-encoded).
func conn(kv ...any) string {
	var b strings.Builder
	b.WriteString("{")
	for i := 0; i < len(kv); i += 2 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(js(kv[i]) + ":" + js(kv[i+1]))
	}
	b.WriteString("}")
	return b.String()
}

// mtls is a mutual-TLS connection.json with some fields replaced.
func mtls(kv ...any) string {
	fields := []any{"address", "corpus-cc:9999", "tls_required", true, "client_auth_required", true,
		"client_key", pki.Client.KeyPEM, "client_cert", pki.Client.CertPEM, "root_cert", pki.ServerCA.CertPEM}
	for i := 0; i < len(kv); i += 2 {
		replaced := false
		for j := 0; j < len(fields); j += 2 {
			if fields[j] == kv[i] {
				fields[j+1], replaced = kv[i+1], true
			}
		}
		if !replaced {
			fields = append(fields, kv[i], kv[i+1])
		}
	}
	return conn(fields...)
}

// withConn is a service package source holding connection.json and more.
func withConn(c string, more ...file) []file {
	return append([]file{{name: "connection.json", body: c}}, more...)
}

// publicKeyPEM is a PEM block of the wrong type where a certificate belongs.
func publicKeyPEM() string {
	der, err := x509.MarshalPKIXPublicKey(pki.Client.Cert.PublicKey)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// keyBody is a PEM block's base64 body on one line, without its
// -----BEGIN/-----END lines: key material no header gives away.
func keyBody(pemText string) string {
	lines := strings.Split(strings.TrimSpace(pemText), "\n")
	return strings.Join(lines[1:len(lines)-1], "")
}

// symlink plants a symbolic link at rel inside dir (a link the peer's
// unpack would refuse, so someone put it there directly).
func symlink(dir func(*dirs) string, rel, target string) func(*testing.T, *dirs) ([]string, string) {
	return func(t *testing.T, d *dirs) ([]string, string) {
		p := filepath.Join(dir(d), filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		os.RemoveAll(p)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		return nil, ""
	}
}

// fifo plants a named pipe at rel inside dir. Opening it for reading
// blocks until someone writes: a program that does so hangs the install.
func fifo(dir func(*dirs) string, rel string) func(*testing.T, *dirs) ([]string, string) {
	return func(t *testing.T, d *dirs) ([]string, string) {
		p := filepath.Join(dir(d), filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		os.RemoveAll(p)
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Fatal(err)
		}
		return nil, ""
	}
}

// device plants a character device like /dev/zero (endless zeros) at rel.
func device(dir func(*dirs) string, rel string) func(*testing.T, *dirs) ([]string, string) {
	return func(t *testing.T, d *dirs) ([]string, string) {
		p := filepath.Join(dir(d), filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		os.RemoveAll(p)
		if err := syscall.Mknod(p, syscall.S_IFCHR|0o644, int(mkdev(1, 5))); err != nil {
			return nil, "cannot create a device file here (needs root): " + err.Error()
		}
		return nil, ""
	}
}

func mkdev(major, minor uint64) uint64 { return major<<8 | minor }

func src(d *dirs) string      { return d.src }
func bld(d *dirs) string      { return d.bld }
func metadata(d *dirs) string { return d.metadata }

func corpusCases() []corpusCase {
	huge := strings.Repeat("x", 2<<20)
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	softHyphens := strings.Repeat(`\u00ad`, 10000)

	cases := []corpusCase{
		// ---- metadata.json (detect, and build where it matters) ----
		{name: "metadata-missing", why: "METADATA_DIR holds no metadata.json", program: "detect",
			metadata: str(noMetadata), want: []string{"metadata.json"}},
		{name: "metadata-empty", why: "metadata.json is an empty file", program: "detect",
			metadata: str(""), want: []string{"metadata.json"}},
		{name: "metadata-truncated", why: "metadata.json cut off mid-field", program: "detect",
			metadata: str(`{"type":"ccaas","lab`), want: []string{"metadata.json"}},
		{name: "metadata-type-number", why: "type is a number", program: "detect",
			metadata: str(`{"type":7,"label":"corpus"}`), want: []string{"metadata.json", "type"}},
		{name: "metadata-type-object", why: "type is an object", program: "detect",
			metadata: str(`{"type":{"ccaas":true},"label":"corpus"}`), want: []string{"metadata.json", "type"}},
		{name: "metadata-type-deep-nesting", why: "type is an array nested 30,000 deep", program: "detect",
			metadata: str(`{"type":` + deep(30000) + `}`), want: []string{"metadata.json", "type"}},
		{name: "metadata-type-nul", why: "type holds an escaped NUL character", program: "detect",
			metadata: str(`{"type":"cc\u0000aas","label":"corpus"}`), want: []string{"metadata.json", "type"}},
		// The peer's encoding/json would read the last type ("golang"); gjson the first.
		{name: "metadata-type-two-spellings", why: "type given as type and TYPE with different values", program: "detect",
			metadata: str(`{"type":"ccaas","label":"corpus","TYPE":"golang"}`), want: []string{"metadata.json", "type", "given twice"}},
		{name: "metadata-raw-nul", why: "metadata.json holds a raw NUL byte", program: "detect",
			metadata: str("{\"type\":\"ccaas\",\x00\"label\":\"corpus\"}"), want: []string{"metadata.json"}},
		{name: "metadata-invalid-utf8", why: "type holds bytes that are not UTF-8", program: "detect",
			metadata: str("{\"type\":\"cc\xff\xfeas\",\"label\":\"corpus\"}"), want: []string{"metadata.json"}},
		{name: "metadata-huge", why: "metadata.json of 2 MiB", program: "detect",
			metadata: str(`{"type":"ccaas","label":"corpus","pad":"` + huge + `"}`), want: []string{"metadata.json"}},
		{name: "metadata-long-type", why: "a 20,000-byte type that %q would print three times as long", program: "detect",
			metadata: str(`{"type":"` + softHyphens + `"}`), want: []string{"metadata.json", "type"}},
		{name: "metadata-is-a-folder", why: "metadata.json is a folder", program: "detect",
			metadata: str(noMetadata), want: []string{"metadata.json"},
			plant: func(t *testing.T, d *dirs) ([]string, string) {
				if err := os.Mkdir(filepath.Join(d.metadata, "metadata.json"), 0o700); err != nil {
					t.Fatal(err)
				}
				return nil, ""
			}},
		{name: "metadata-type-not-ours-build", why: "build called on a golang package (detect declined it)", program: "build",
			metadata: str(`{"type":"golang","label":"corpus","path":"github.com/x/y"}`), src: withConn(plainConn),
			want: []string{"metadata.json", "type"}},

		// ---- connection.json: shape ----
		{name: "connection-empty", why: "connection.json is an empty file", program: "build",
			src: withConn(""), want: []string{"connection.json"}},
		{name: "connection-truncated", why: "connection.json cut off mid-field", program: "build",
			src: withConn(`{"address":"corpus-cc:9999","tls_re`), want: []string{"connection.json"}},
		{name: "connection-huge", why: "connection.json of 2 MiB", program: "build",
			src:  withConn(`{"address":"corpus-cc:9999","dial_timeout":"10s"` + strings.Repeat(" ", 2<<20) + `}`),
			want: []string{"connection.json"}},
		{name: "connection-raw-nul", why: "connection.json holds a raw NUL byte", program: "build",
			src: withConn("{\"address\":\"corpus-cc:9999\",\x00\"dial_timeout\":\"10s\"}"), want: []string{"connection.json"}},
		{name: "connection-address-nul", why: "address holds an escaped NUL character", program: "build",
			src: withConn(`{"address":"corpus\u0000cc:9999"}`), want: []string{"connection.json", "address"}},
		{name: "connection-invalid-utf8", why: "address holds bytes that are not UTF-8", program: "build",
			src: withConn("{\"address\":\"corpus\xff-cc:9999\"}"), want: []string{"connection.json"}},
		{name: "connection-deep-nesting", why: "address is an array nested 100,000 deep", program: "build",
			src: withConn(`{"address":` + deep(100000) + `}`), want: []string{"connection.json"}},
		{name: "connection-tls-required-number", why: "tls_required is the number 1", program: "build",
			src: withConn(`{"address":"corpus-cc:9999","tls_required":1}`), want: []string{"connection.json", "tls_required"}},
		{name: "connection-address-object", why: "address is an object", program: "build",
			src: withConn(`{"address":{"host":"corpus-cc","port":9999}}`), want: []string{"connection.json", "address"}},
		{name: "connection-duplicate-field", why: "address given twice (the peer would take the last)", program: "build",
			src: withConn(`{"address":"a-cc:9999","address":"b-cc:9999"}`), want: []string{"connection.json", "address"}},
		// The peer's encoding/json matches names ignoring case and keeps the last.
		{name: "connection-two-spellings", why: "tls_required given as tls_required and TLS_REQUIRED (the peer would take the last, false)", program: "build",
			src:  withConn(conn("address", "corpus-cc:9999", "tls_required", true, "root_cert", pki.ServerCA.CertPEM, "TLS_REQUIRED", false)),
			want: []string{"connection.json", "tls_required", "given twice"}},
		// externalbuilder.Duration.UnmarshalJSON fails on null.
		{name: "connection-dial-timeout-null", why: "dial_timeout is null, which the peer fails to decode", program: "build",
			src: withConn(`{"address":"corpus-cc:9999","dial_timeout":null}`), want: []string{"connection.json", "dial_timeout", "null"}},
		{name: "connection-dial-timeout-negative", why: "dial_timeout is negative: the peer would give up at once", program: "build",
			src: withConn(`{"address":"corpus-cc:9999","dial_timeout":"-5s"}`), want: []string{"connection.json", "dial_timeout"}},
		// grpc.DialContext (comm.ClientConfig.Dial) resolves these schemes.
		{name: "connection-address-unix-socket", why: "address makes the peer's gRPC dial the Docker socket on its own host", program: "build",
			src: withConn(`{"address":"unix:///var/run/docker.sock"}`), want: []string{"connection.json", "address", "Unix socket"}},
		{name: "connection-address-dns-server", why: "address names the DNS server the peer's gRPC would ask", program: "build",
			src: withConn(`{"address":"dns://203.0.113.7:53/corpus-cc:9999"}`), want: []string{"connection.json", "address", "DNS server"}},
		{name: "connection-is-a-folder", why: "connection.json is a folder", program: "build",
			src: []file{{name: "connection.json/x", body: "{}"}}, want: []string{"connection.json"}},

		// ---- connection.json: PEM in the wrong place ----
		{name: "connection-root-cert-is-private-key", why: "root_cert holds the client's private key", program: "build",
			src: withConn(mtls("root_cert", pki.Client.KeyPEM)), want: []string{"connection.json", "root_cert"}},
		{name: "connection-client-cert-is-private-key", why: "client_cert holds the private key", program: "build",
			src: withConn(mtls("client_cert", pki.Client.KeyPEM)), want: []string{"connection.json", "client_cert"}},
		{name: "connection-client-key-is-certificate", why: "client_key holds a certificate", program: "build",
			src: withConn(mtls("client_key", pki.Client.CertPEM)), want: []string{"connection.json", "client_key"}},
		{name: "connection-root-cert-public-key", why: "root_cert holds a PUBLIC KEY block", program: "build",
			src: withConn(mtls("root_cert", publicKeyPEM())), want: []string{"connection.json", "root_cert"}},
		// x509.CertPool.AppendCertsFromPEM skips a block with PEM headers: the
		// peer would fail "error adding root certificate" at the first dial.
		{name: "connection-root-cert-headers", why: "root_cert's only certificate carries PEM header lines", program: "build",
			src:  withConn(mtls("root_cert", strings.Replace(pki.ServerCA.CertPEM, "-----\n", "-----\nProc-Type: 4,ENCRYPTED\n\n", 1))),
			want: []string{"connection.json", "root_cert", "header lines", "error adding root certificate"}},
		{name: "connection-client-chain-wrong-order", why: "client_cert is a chain with the CA first, so the key matches the second certificate", program: "build",
			src:  withConn(mtls("client_cert", pki.ClientCA.CertPEM+pki.Client.CertPEM)),
			want: []string{"connection.json", "client_"}},
		{name: "connection-client-key-for-other-cert", why: "client_key belongs to another certificate", program: "build",
			src: withConn(mtls("client_key", pki.Other.KeyPEM)), want: []string{"connection.json", "client_"}},
		{name: "connection-key-in-address", why: "address holds a private key", program: "build",
			src: withConn(mtls("address", pki.Client.KeyPEM)), want: []string{"connection.json", "address"}},
		{name: "connection-key-as-field-name", why: "an unknown field whose name is a private key", program: "build",
			src: withConn(conn("address", "corpus-cc:9999", pki.Client.KeyPEM, true)), want: []string{"connection.json"}},
		{name: "connection-key-in-domain-template", why: "a template prints a private key from the configuration into domain", program: "build",
			config: str(js(map[string]string{"key": pki.Client.KeyPEM})),
			src:    withConn(mtls("domain", `{{.key}}`)), want: []string{"connection.json", "domain"}},

		// ---- key material in any field a program quotes: described, never shown ----
		{name: "metadata-key-in-type", why: "type holds a private key after a handled type's name", program: "detect",
			metadata: str(js(map[string]string{"type": "ccaas" + pki.Client.KeyPEM, "label": "corpus"})), want: []string{"metadata.json", "type"}},
		{name: "metadata-key-body-in-type", why: "type holds a private key's base64 body without its PEM lines", program: "detect",
			metadata: str(js(map[string]string{"type": keyBody(pki.Client.KeyPEM), "label": "corpus"})), want: []string{"metadata.json", "type"}},
		{name: "binary-key-in-path", why: "metadata.json path holds a private key", program: "build",
			metadata: str(js(map[string]string{"type": "binary", "label": "corpus", "path": pki.Client.KeyPEM})), want: []string{"metadata.json", "path"}},
		{name: "connection-key-in-dial-timeout", why: "dial_timeout holds a private key", program: "build",
			src: withConn(mtls("dial_timeout", pki.Client.KeyPEM)), want: []string{"connection.json", "dial_timeout"}},
		{name: "connection-key-body-in-address", why: "address holds a private key's base64 body without its PEM lines", program: "build",
			src: withConn(mtls("address", keyBody(pki.Client.KeyPEM)+":9999")), want: []string{"connection.json", "address"}},
		{name: "couchdb-key-in-sort-order", why: "an index's sort order is a private key", program: "build",
			src:  withConn(plainConn, file{name: indexes + "byOwner.json", body: `{"index":{"fields":[{"owner":` + js(pki.Client.KeyPEM) + `}]},"name":"byOwner","type":"json"}`}),
			want: []string{"byOwner.json", "index.fields[0]"}},
		{name: "release-key-in-domain", why: "BUILD_OUTPUT_DIR/connection.json with a private key as domain", program: "release",
			bld: []file{{name: "connection.json", body: mtls("domain", pki.Client.KeyPEM), mode: 0o600}}, want: []string{"connection.json", "domain"}},

		// ---- connection.json: file references ----
		{name: "connection-file-ref-dotdot", why: "root_cert_file climbs out of the package", program: "build",
			src:  withConn(conn("address", "corpus-cc:9999", "tls_required", true, "root_cert_file", "../metadata/metadata.json")),
			want: []string{"connection.json", "root_cert_file"}},
		{name: "connection-file-ref-absolute", why: "client_key_file is an absolute path", program: "build",
			src:  withConn(mtls("client_key", "", "client_key_file", "/etc/ssl/private/peer.key")),
			want: []string{"connection.json", "client_key_file"}},
		{name: "connection-file-ref-folder", why: "root_cert_file names a folder", program: "build",
			src:  withConn(conn("address", "corpus-cc:9999", "tls_required", true, "root_cert_file", "tls"), file{name: "tls/ca.pem", body: pki.ServerCA.CertPEM}),
			want: []string{"connection.json", "root_cert_file"}},
		{name: "connection-file-ref-huge", why: "root_cert_file names a 2 MiB file", program: "build",
			src:  withConn(conn("address", "corpus-cc:9999", "tls_required", true, "root_cert_file", "tls/ca.pem"), file{name: "tls/ca.pem", body: huge}), // no certificate in it: its PEM length varies, and the size is in the golden
			want: []string{"connection.json", "root_cert_file"}},
		{name: "connection-file-ref-binary", why: "root_cert_file names a file with NUL bytes", program: "build",
			src:  withConn(conn("address", "corpus-cc:9999", "tls_required", true, "root_cert_file", "tls/ca.der"), file{name: "tls/ca.der", body: string(pki.ServerCA.Cert.Raw)}),
			want: []string{"connection.json", "root_cert_file"}},
		{name: "connection-file-ref-key-as-cert", why: "client_cert_file names the private key file", program: "build",
			src: withConn(conn("address", "corpus-cc:9999", "tls_required", true, "client_auth_required", true, "root_cert", pki.ServerCA.CertPEM,
				"client_cert_file", "tls/client.key", "client_key_file", "tls/client.key"),
				file{name: "tls/client.key", body: pki.Client.KeyPEM}),
			want: []string{"connection.json", "client_cert"}},
		{name: "connection-file-ref-symlink-out", why: "root_cert_file is a symbolic link planted to leave the package", program: "build",
			src:   withConn(conn("address", "corpus-cc:9999", "tls_required", true, "root_cert_file", "tls/ca.pem")),
			plant: symlink(src, "tls/ca.pem", "../../metadata/metadata.json"), want: []string{"connection.json", "root_cert_file"}},
		{name: "connection-file-ref-fifo", why: "root_cert_file names a planted named pipe", program: "build",
			src:   withConn(conn("address", "corpus-cc:9999", "tls_required", true, "root_cert_file", "tls/ca.pem")),
			plant: fifo(src, "tls/ca.pem"), want: []string{"connection.json", "root_cert_file"}},
		{name: "connection-file-ref-device", why: "root_cert_file names a planted character device (endless zeros)", program: "build",
			src:   withConn(conn("address", "corpus-cc:9999", "tls_required", true, "root_cert_file", "tls/ca.pem")),
			plant: device(src, "tls/ca.pem"), want: []string{"connection.json", "root_cert_file"}},
		{name: "connection-symlink-out", why: "connection.json is a symbolic link planted to a file outside the package", program: "build",
			plant: func(t *testing.T, d *dirs) ([]string, string) {
				// A valid connection.json outside the source folder: following
				// the link would read (and release) a file the package does not hold.
				outside := filepath.Join(d.scratch, "outside.json")
				if err := os.WriteFile(outside, []byte(plainConn), 0o644); err != nil {
					t.Fatal(err)
				}
				return symlink(src, "connection.json", outside)(t, d)
			},
			want: []string{"connection.json"}},
		{name: "connection-fifo", why: "connection.json is a planted named pipe", program: "build",
			plant: fifo(src, "connection.json"), want: []string{"connection.json"}},

		// ---- template configuration ----
		{name: "config-malformed", why: "CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG is cut off", program: "build",
			config: str(`{"peername":"peer0`), src: withConn(conn("address", "{{.peername}}-cc:9999")),
			want: []string{configVariable}},
		{name: "config-array", why: "the configuration is a JSON array, not an object", program: "build",
			config: str(`["peer0org1"]`), src: withConn(conn("address", "{{.peername}}-cc:9999")),
			want: []string{configVariable}},
		{name: "config-invalid-utf8", why: "the configuration holds bytes that are not UTF-8", program: "build",
			config: str("{\"peername\":\"peer\xff0\"}"), src: withConn(conn("address", "{{.peername}}-cc:9999")),
			want: []string{configVariable}},
		{name: "config-deep-nesting", why: "the configuration nests 60,000 arrays", program: "build",
			config: str(`{"peername":` + deep(60000) + `}`), src: withConn(conn("address", "{{.peername}}-cc:9999")),
			want: []string{configVariable}},
		{name: "config-template-syntax", why: "address holds an unterminated template action", program: "build",
			config: str(`{"peername":"peer0"}`), src: withConn(conn("address", "{{.peername-cc:9999")),
			want: []string{"connection.json", "address"}},
		{name: "config-output-explosion", why: "a 100 KiB value printed 20 times into address", program: "build",
			config: str(js(map[string]string{"v": strings.Repeat("a", 100<<10)})),
			src:    withConn(conn("address", strings.Repeat("{{.v}}", 20)+":9999")), want: []string{"connection.json", "address"}},

		// ---- CouchDB indexes ----
		{name: "index-truncated", why: "an index definition cut off", program: "build",
			src: withConn(plainConn, file{name: indexes + "byOwner.json", body: indexDef[:40]}), want: []string{indexes + "byOwner.json"}},
		{name: "index-wrong-shape", why: "an index definition that is a JSON array", program: "build",
			src: withConn(plainConn, file{name: indexes + "byOwner.json", body: `[1,2]`}), want: []string{indexes + "byOwner.json"}},
		{name: "index-raw-nul", why: "an index definition with a raw NUL byte", program: "build",
			src: withConn(plainConn, file{name: indexes + "byOwner.json", body: "{\"index\":\x00{\"fields\":[\"a\"]}}"}), want: []string{indexes + "byOwner.json"}},
		{name: "index-invalid-utf8", why: "an index definition with bytes that are not UTF-8", program: "build",
			src:  withConn(plainConn, file{name: indexes + "byOwner.json", body: "{\"index\":{\"fields\":[\"own\xffer\"]},\"type\":\"json\"}"}),
			want: []string{indexes + "byOwner.json"}},
		{name: "index-deep-nesting", why: "an index definition nested 100,000 deep", program: "build",
			src: withConn(plainConn, file{name: indexes + "byOwner.json", body: `{"index":{"fields":` + deep(100000) + `}}`}), want: []string{indexes + "byOwner.json"}},
		{name: "index-huge", why: "an index definition of 2 MiB", program: "build",
			src: withConn(plainConn, file{name: indexes + "byOwner.json", body: `{"index":{"fields":["a"]},"pad":"` + huge + `"}`}), want: []string{indexes + "byOwner.json"}},
		{name: "index-folder-is-a-file", why: "META-INF/statedb/couchdb/indexes is a file", program: "build",
			src: withConn(plainConn, file{name: "META-INF/statedb/couchdb/indexes", body: indexDef}), want: []string{"META-INF/statedb/couchdb/indexes"}},
		{name: "index-collections-is-a-file", why: "META-INF/statedb/couchdb/collections is a file", program: "build",
			src: withConn(plainConn, file{name: "META-INF/statedb/couchdb/collections", body: indexDef}), want: []string{"META-INF/statedb/couchdb/collections"}},
		{name: "index-duplicate-layouts", why: "the same index in META-INF/ and in the docs' metadata/ layout", program: "build",
			src: withConn(plainConn, file{name: indexes + "byOwner.json", body: indexDef},
				file{name: "metadata/statedb/couchdb/indexes/byOwner.json", body: indexDef}),
			want: []string{"byOwner.json"}},
		// The peer would create no index for a collection name Fabric never
		// allows (HandleChaincodeDeploy), and deploys couchdb2/ as if it were
		// couchdb/ (ExtractFileEntries matches by prefix).
		{name: "index-collection-name-invalid", why: "an index for a collection named with a space", program: "build",
			src:  withConn(plainConn, file{name: "META-INF/statedb/couchdb/collections/my coll/indexes/byOwner.json", body: indexDef}),
			want: []string{"collection name", "my coll"}},
		{name: "index-folder-beside-couchdb", why: "indexes in META-INF/statedb/couchdb2/, which the peer deploys too", program: "build",
			src:  withConn(plainConn, file{name: "META-INF/statedb/couchdb2/indexes/byOwner.json", body: indexDef}),
			want: []string{"couchdb2", "prefix"}},
		{name: "index-symlink-out", why: "an index file that is a planted symbolic link to a file outside", program: "build",
			src: withConn(plainConn), plant: symlink(src, indexes+"byOwner.json", "/etc/hostname"), want: []string{indexes + "byOwner.json"}},
		{name: "index-statedb-symlink", why: "META-INF/statedb is a planted symbolic link to another folder", program: "build",
			src: withConn(plainConn), plant: symlink(src, "META-INF/statedb", "/etc"), want: []string{"META-INF/statedb"}},
		{name: "index-fifo", why: "an index file that is a planted named pipe", program: "build",
			src: withConn(plainConn), plant: fifo(src, indexes+"byOwner.json"), want: []string{indexes + "byOwner.json"}},

		// ---- binary packages ----
		{name: "binary-truncated-elf", why: "the executable is the first 5 bytes of an ELF header", program: "build",
			metadata: str(binaryMeta), src: []file{{name: "chaincode", body: "\x7fELF\x02", mode: 0o755}}, want: []string{"chaincode"}},
		{name: "binary-empty", why: "the executable is an empty file", program: "build",
			metadata: str(binaryMeta), src: []file{{name: "chaincode", body: "", mode: 0o755}}, want: []string{"chaincode"}},
		{name: "binary-macho", why: "the executable was built for macOS", program: "build",
			metadata: str(binaryMeta), src: []file{{name: "chaincode", body: "\xcf\xfa\xed\xfe\x07\x00\x00\x01" + strings.Repeat("\x00", 56), mode: 0o755}},
			want: []string{"chaincode"}},
		{name: "binary-path-absolute", why: "metadata.json path is /bin/sh", program: "build",
			metadata: str(`{"type":"binary","label":"corpus","path":"/bin/sh"}`), src: []file{{name: "chaincode", body: chaincode, mode: 0o755}},
			want: []string{"metadata.json", "path"}},
		{name: "binary-path-dotdot", why: "metadata.json path climbs out to metadata.json", program: "build",
			metadata: str(`{"type":"binary","label":"corpus","path":"../metadata/metadata.json"}`), want: []string{"metadata.json", "path"}},
		{name: "binary-path-nul", why: "metadata.json path holds a NUL character", program: "build",
			metadata: str(`{"type":"binary","label":"corpus","path":"chain\u0000code"}`), src: []file{{name: "chaincode", body: chaincode, mode: 0o755}},
			want: []string{"path"}},
		{name: "binary-path-very-long", why: "metadata.json path of 60,000 characters", program: "build",
			metadata: str(`{"type":"binary","label":"corpus","path":"` + strings.Repeat("a/", 30000) + `"}`), want: []string{"path"}},
		{name: "binary-symlink-out", why: "the executable is a planted symbolic link to /bin/sh", program: "build",
			metadata: str(binaryMeta), plant: symlink(src, "chaincode", "/bin/sh"), want: []string{"chaincode"}},
		{name: "binary-fifo", why: "the executable is a planted named pipe", program: "build",
			metadata: str(binaryMeta), plant: fifo(src, "chaincode"), want: []string{"chaincode"}},
		{name: "binary-device", why: "the executable is a planted character device", program: "build",
			metadata: str(binaryMeta), plant: device(src, "chaincode"), want: []string{"chaincode"}},
		{name: "binary-tree-symlink-out", why: "beside a good executable, the tree holds a planted symbolic link to /etc", program: "build",
			metadata: str(binaryMeta), src: []file{{name: "chaincode", body: chaincode, mode: 0o755}},
			plant: symlink(src, "lib/etc", "/etc"), want: []string{"lib/etc", "symbolic link"}},
		{name: "binary-tree-fifo", why: "beside a good executable, the tree holds a planted named pipe", program: "build",
			metadata: str(binaryMeta), src: []file{{name: "chaincode", body: chaincode, mode: 0o755}},
			plant: fifo(src, "var/pipe"), want: []string{"var/pipe", "named pipe"}},
		{name: "binary-tree-device", why: "beside a good executable, the tree holds a planted /dev/zero", program: "build",
			metadata: str(binaryMeta), src: []file{{name: "chaincode", body: chaincode, mode: 0o755}},
			plant: device(src, "data/zero"), want: []string{"data/zero", "device"}},

		// ---- release, on a build folder that is not what build wrote ----
		{name: "release-empty-build-folder", why: "BUILD_OUTPUT_DIR holds nothing", program: "release",
			want: []string{"BUILD_OUTPUT_DIR"}},
		{name: "release-connection-truncated", why: "BUILD_OUTPUT_DIR/connection.json cut off", program: "release",
			bld: []file{{name: "connection.json", body: `{"address":"corpus-cc:99`, mode: 0o600}}, want: []string{"connection.json"}},
		{name: "release-connection-key-in-root-cert", why: "BUILD_OUTPUT_DIR/connection.json with a private key as root_cert", program: "release",
			bld: []file{{name: "connection.json", body: mtls("root_cert", pki.Client.KeyPEM), mode: 0o600}}, want: []string{"connection.json", "root_cert"}},
		{name: "release-connection-symlink-out", why: "BUILD_OUTPUT_DIR/connection.json is a planted symbolic link to a file outside", program: "release",
			plant: func(t *testing.T, d *dirs) ([]string, string) {
				outside := filepath.Join(d.scratch, "outside.json")
				if err := os.WriteFile(outside, []byte(plainConn), 0o644); err != nil {
					t.Fatal(err)
				}
				return symlink(bld, "connection.json", outside)(t, d)
			},
			want: []string{"connection.json"}},
		{name: "release-index-symlink", why: "an index in BUILD_OUTPUT_DIR is a planted symbolic link", program: "release",
			bld:   []file{{name: "connection.json", body: plainConn, mode: 0o600}},
			plant: symlink(bld, "META-INF/statedb/couchdb/indexes/byOwner.json", "/etc/hostname"), want: []string{"byOwner.json", "symbolic link"}},

		// ---- output folders the programs cannot write ----
		{name: "build-output-read-only", why: "BUILD_OUTPUT_DIR is read-only", program: "build",
			src: withConn(plainConn), plant: readOnly(bld), want: []string{"BUILD_OUTPUT_DIR"}},
		{name: "build-output-full", why: "BUILD_OUTPUT_DIR is on a full file system", program: "build",
			src: withConn(mtls()), plant: fullDisk(bld), want: []string{"BUILD_OUTPUT_DIR"}},
		{name: "build-output-full-binary", why: "BUILD_OUTPUT_DIR is on a file system too small for the executable", program: "build",
			metadata: str(binaryMeta), src: []file{{name: "chaincode", body: chaincode + strings.Repeat("#", 1<<20), mode: 0o755}},
			plant: fullDisk(bld), want: []string{"BUILD_OUTPUT_DIR", "chaincode"}},
		{name: "release-output-read-only", why: "RELEASE_OUTPUT_DIR is read-only", program: "release",
			bld: []file{{name: "connection.json", body: plainConn, mode: 0o600}}, plant: readOnly(func(d *dirs) string { return d.release }),
			want: []string{"RELEASE_OUTPUT_DIR"}},
		{name: "release-output-full", why: "RELEASE_OUTPUT_DIR is on a full file system", program: "release",
			bld:   []file{{name: "connection.json", body: mtls(), mode: 0o600}, {name: "META-INF/statedb/couchdb/indexes/byOwner.json", body: indexDef}},
			plant: fullDisk(func(d *dirs) string { return d.release }), want: []string{"RELEASE_OUTPUT_DIR"}},
	}
	return append(cases, runCases()...)
}

// runCases are bad chaincode.json files and launch folders for bin/run.
func runCases() []corpusCase {
	good := map[string]string{
		"chaincode_id": "corpus_1.0:0123456789abcdef", "peer_address": "peer0.org1.example.com:7052",
		"client_cert": pki.Client.CertPEM, "client_key": pki.Client.KeyPEM, "root_cert": pki.ServerCA.CertPEM, "mspid": "Org1MSP",
	}
	with := func(kv ...string) *string {
		m := map[string]any{}
		for k, v := range good {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return str(js(m))
	}
	exe := []file{{name: "chaincode", body: chaincode, mode: 0o755}}
	return []corpusCase{
		{name: "run-chaincode-json-missing", why: "RUN_METADATA_DIR holds no chaincode.json", program: "run",
			bld: exe, want: []string{"chaincode.json"}},
		{name: "run-chaincode-json-truncated", why: "chaincode.json cut off", program: "run",
			bld: exe, cc: str(`{"chaincode_id":"corpus_1.0:01`), want: []string{"chaincode.json"}},
		{name: "run-chaincode-json-huge", why: "chaincode.json of 2 MiB", program: "run",
			bld: exe, cc: with("mspid", strings.Repeat("x", 2<<20)), want: []string{"chaincode.json"}},
		{name: "run-chaincode-id-number", why: "chaincode_id is a number", program: "run",
			bld: exe, cc: str(`{"chaincode_id":7,"peer_address":"peer0:7052"}`), want: []string{"chaincode.json", "chaincode_id"}},
		{name: "run-peer-address-missing", why: "peer_address is missing", program: "run",
			bld: exe, cc: str(`{"chaincode_id":"corpus_1.0:01"}`), want: []string{"chaincode.json", "peer_address"}},
		{name: "run-chaincode-id-nul", why: "chaincode_id holds a NUL character", program: "run",
			bld: exe, cc: with("chaincode_id", "corpus\x00:01"), want: []string{"chaincode.json", "chaincode_id"}},
		{name: "run-invalid-utf8", why: "chaincode.json holds bytes that are not UTF-8", program: "run",
			bld: exe, cc: str("{\"chaincode_id\":\"corpus\xff:01\",\"peer_address\":\"peer0:7052\"}"), want: []string{"chaincode.json"}},
		{name: "run-deep-nesting", why: "mspid is an array nested 100,000 deep", program: "run",
			bld: exe, cc: str(`{"chaincode_id":"corpus_1.0:01","peer_address":"peer0:7052","mspid":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`),
			want: []string{"chaincode.json"}},
		{name: "run-root-cert-is-private-key", why: "root_cert holds the client's private key", program: "run",
			bld: exe, cc: with("root_cert", pki.Client.KeyPEM), want: []string{"chaincode.json", "root_cert"}},
		{name: "run-client-key-is-certificate", why: "client_key holds a certificate", program: "run",
			bld: exe, cc: with("client_key", pki.Client.CertPEM), want: []string{"chaincode.json", "client_key"}},
		{name: "run-client-cert-is-private-key", why: "client_cert holds the private key", program: "run",
			bld: exe, cc: with("client_cert", pki.Client.KeyPEM), want: []string{"chaincode.json", "client_cert"}},
		{name: "run-client-key-for-other-cert", why: "client_key belongs to another certificate", program: "run",
			bld: exe, cc: with("client_key", pki.Other.KeyPEM), want: []string{"chaincode.json", "client_"}},
		{name: "run-key-as-field-name", why: "an unknown field whose name is a private key (run warns about unknown fields)", program: "run",
			bld: exe, cc: str(js(map[string]string{"chaincode_id": "corpus_1.0:01", "peer_address": "peer0:7052", pki.Client.KeyPEM: "x"})),
			warnOnly: true, want: []string{"chaincode.json"}},
		{name: "run-key-in-peer-address", why: "peer_address holds a private key", program: "run",
			bld: exe, cc: with("peer_address", pki.Client.KeyPEM), want: []string{"chaincode.json", "peer_address"}},
		{name: "run-key-body-in-peer-address", why: "peer_address holds a private key's base64 body as host", program: "run",
			bld: exe, cc: with("peer_address", keyBody(pki.Client.KeyPEM)+":7052"), want: []string{"chaincode.json", "peer_address"}},
		{name: "run-chaincode-json-fifo", why: "chaincode.json is a planted named pipe", program: "run",
			bld: exe, plant: fifo(func(d *dirs) string { return d.runMetadata }, "chaincode.json"), want: []string{"chaincode.json"}},
		{name: "run-executable-missing", why: "BUILD_OUTPUT_DIR holds no chaincode", program: "run",
			cc: with(), want: []string{"chaincode"}},
		{name: "run-entrypoint-escapes", why: "BUILD_OUTPUT_DIR/entrypoint names ../../bin/sh", program: "run",
			bld: []file{{name: "entrypoint", body: "../../bin/sh\n", mode: 0o644}, {name: "tree/chaincode", body: chaincode, mode: 0o755}},
			cc:  with(), want: []string{"entrypoint"}},
		{name: "run-entrypoint-symlink-out", why: "the entry point in BUILD_OUTPUT_DIR/tree is a planted symbolic link to /bin/sh", program: "run",
			bld:   []file{{name: "entrypoint", body: "start\n", mode: 0o644}, {name: "tree/chaincode", body: chaincode, mode: 0o755}},
			plant: symlink(bld, "tree/start", "/bin/sh"), cc: with(), want: []string{"start", "symbolic link"}},
		{name: "run-metadata-read-only", why: "RUN_METADATA_DIR is read-only, so the TLS files cannot be written", program: "run",
			bld: exe, cc: with(), plant: readOnly(func(d *dirs) string { return d.runMetadata }), want: []string{"RUN_METADATA_DIR"}},
	}
}
