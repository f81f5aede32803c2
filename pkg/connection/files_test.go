package connection

import (
	"github.com/extbuilder/extbuilder/pkg/connection/template"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// packageDir lays out a package source folder with TLS material by file.
func packageDir(t *testing.T) string {
	t.Helper()
	f := pki()
	src := t.TempDir()
	for name, content := range map[string]string{
		"tls/ca.pem":     f.ca.CertPEM,
		"tls/client.pem": f.client.CertPEM,
		"tls/client.key": f.client.KeyPEM,
	} {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(src, name)), 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(src, name), []byte(content), 0o600))
	}
	return src
}

func byFileDoc() map[string]any {
	return obj("address", "mycc:9999", "tls_required", true, "client_auth_required", true,
		"root_cert_file", "tls/ca.pem", "client_cert_file", "tls/client.pem", "client_key_file", "tls/client.key")
}

func TestFileReferences(t *testing.T) {
	f := pki()
	src := packageDir(t)
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "ca.pem"), []byte(f.ca.CertPEM), 0o600))
	require.NoError(t, os.Symlink(filepath.Join(outside, "ca.pem"), filepath.Join(src, "tls", "escape.pem")))
	require.NoError(t, os.Symlink("../../outside.pem", filepath.Join(src, "tls", "up.pem")))
	require.NoError(t, os.Symlink("ca.pem", filepath.Join(src, "tls", "alias.pem")))
	require.NoError(t, os.WriteFile(filepath.Join(src, "big.pem"), make([]byte, MaxSize+1), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(src, "binary.pem"), []byte("\x00\x01\x02"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(src, "escaped.pem"), []byte(strings.ReplaceAll(f.ca.CertPEM, "\n", `\n`)), 0o600))

	t.Run("all material by file", func(t *testing.T) {
		info, warnings, err := parseDoc(t, encode(t, byFileDoc()), Options{Expander: template.Engine{}, SourceDir: src})
		require.NoError(t, err)
		assert.Empty(t, warnings)
		assert.Equal(t, f.ca.CertPEM, info.RootCert)
		assert.Equal(t, f.client.CertPEM, info.ClientCert)
		assert.Equal(t, f.client.KeyPEM, info.ClientKey)
		out := string(info.Marshal())
		assert.NotContains(t, out, "_file", "the peer gets inline PEM")
	})
	accepted := []string{"./tls/ca.pem", "tls/../tls/ca.pem", "tls//ca.pem"}
	for _, path := range accepted {
		t.Run("accepted "+path, func(t *testing.T) {
			info, _, err := parseDoc(t, encode(t, with(byFileDoc(), "root_cert_file", path)), Options{Expander: template.Engine{}, SourceDir: src})
			require.NoError(t, err)
			assert.Equal(t, f.ca.CertPEM, info.RootCert)
		})
	}
	t.Run("escaped newlines in a file are normalized like inline text", func(t *testing.T) {
		info, warnings, err := parseDoc(t, encode(t, with(byFileDoc(), "root_cert_file", "escaped.pem")), Options{Expander: template.Engine{}, SourceDir: src})
		require.NoError(t, err)
		assert.Equal(t, f.ca.CertPEM, info.RootCert)
		warningFor(t, warnings, "root_cert")
	})
	cases := []struct {
		name, field, path string
		want              []string
	}{
		{"absolute", "root_cert_file", filepath.Join(src, "tls", "ca.pem"), []string{"expected a path relative to the package source folder", "tls/ca.pem"}},
		{"parent", "root_cert_file", "../ca.pem", []string{`expected a path relative to the package source folder, found "../ca.pem"`}},
		{"escaping through a folder", "client_cert_file", "tls/../../x.pem", []string{`found "tls/../../x.pem"`}},
		{"empty", "client_key_file", "", []string{`found ""`}},
		// The peer never unpacks a link into a package: one there was
		// planted, wherever it leads.
		{"symlink out of the package", "root_cert_file", "tls/escape.pem", []string{`"tls/escape.pem": expected a regular file, found a symbolic link`}},
		{"relative symlink out of the package", "root_cert_file", "tls/up.pem", []string{`"tls/up.pem": expected a regular file, found a symbolic link`}},
		{"symlink inside the package", "root_cert_file", "tls/alias.pem", []string{`"tls/alias.pem": expected a regular file, found a symbolic link`}},
		{"missing", "client_cert_file", "tls/nope.pem", []string{`file "tls/nope.pem" not found in the package`}},
		{"folder", "root_cert_file", "tls", []string{`"tls": expected a regular file, found a folder`}},
		{"oversize", "root_cert_file", "big.pem", []string{`"big.pem": expected at most 1 MiB, found more`}},
		{"binary", "root_cert_file", "binary.pem", []string{`expected a PEM text file, found binary data in "binary.pem"`}},
		{"wrong content still validated", "root_cert_file", "tls/client.key", []string{"found a private key"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := parseDoc(t, encode(t, with(byFileDoc(), c.field, c.path)), Options{Expander: template.Engine{}, SourceDir: src})
			field := c.field
			if c.name == "wrong content still validated" {
				field = "root_cert"
			}
			fieldError(t, err, field, c.want...)
		})
	}
	for inline, file := range pemFiles {
		t.Run("both "+inline+" and "+file, func(t *testing.T) {
			doc := with(byFileDoc(), inline, pki().ca.CertPEM)
			_, _, err := parseDoc(t, encode(t, doc), Options{Expander: template.Engine{}, SourceDir: src})
			e := fieldError(t, err, inline, "both "+inline+" and "+file+" are set")
			assert.Equal(t, "keep one of them", e.Hint)
		})
	}
	t.Run("not allowed without a source folder", func(t *testing.T) {
		_, _, err := parseDoc(t, encode(t, byFileDoc()), Options{Expander: template.Engine{}})
		e := fieldError(t, err, "client_key_file", "file references are not allowed here")
		assert.Contains(t, e.Hint, "inline")
	})
	t.Run("file references with TLS off are read and warned about", func(t *testing.T) {
		info, warnings, err := parseDoc(t, encode(t, with(byFileDoc(), "tls_required", false)), Options{Expander: template.Engine{}, SourceDir: src})
		require.NoError(t, err)
		assert.Equal(t, f.ca.CertPEM, info.RootCert)
		warningFor(t, warnings, "root_cert")
	})
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "connection.json")
	require.NoError(t, os.WriteFile(good, encode(t, plainDoc()), 0o600))
	info, _, err := Load(good, Options{Expander: template.Engine{}})
	require.NoError(t, err)
	assert.Equal(t, "mycc.example.com:9999", info.Address)

	t.Run("missing", func(t *testing.T) {
		_, _, err := Load(filepath.Join(dir, "nope.json"), Options{Expander: template.Engine{}})
		e := fieldError(t, err, "", "file not found")
		assert.Equal(t, "connection.json: file not found", e.Error(), "internal/builder matches this problem text")
	})
	t.Run("folder", func(t *testing.T) {
		_, _, err := Load(dir, Options{Expander: template.Engine{}, File: "SOURCE_DIR/connection.json"})
		e := fieldError(t, err, "", "expected a regular file, found a folder")
		assert.Equal(t, "SOURCE_DIR/connection.json", e.File)
	})
	t.Run("oversize", func(t *testing.T) {
		big := filepath.Join(dir, "big.json")
		data := append(encode(t, plainDoc()), make([]byte, MaxSize)...)
		require.NoError(t, os.WriteFile(big, data, 0o600))
		_, _, err := Load(big, Options{Expander: template.Engine{}})
		fieldError(t, err, "", "expected at most 1 MiB, found")
	})
	t.Run("exactly MaxSize is fine", func(t *testing.T) {
		exact := filepath.Join(dir, "exact.json")
		data := encode(t, plainDoc())
		data = append(data, []byte(strings.Repeat(" ", MaxSize-len(data)))...)
		require.NoError(t, os.WriteFile(exact, data, 0o600))
		_, _, err := Load(exact, Options{Expander: template.Engine{}})
		require.NoError(t, err)
	})
	t.Run("errors of the content", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.json")
		require.NoError(t, os.WriteFile(bad, []byte(`{"address":"mycc"}`), 0o600))
		_, _, err := Load(bad, Options{Expander: template.Engine{}})
		fieldError(t, err, "address", "expected host:port")
	})
}

// TestSpecialFilesAreRefusedNotOpened: a named pipe would hang the install
// if opened, and a link could lead out of the folder the peer gave us.
func TestSpecialFilesAreRefusedNotOpened(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "connection.json"), 0o600))
	_, _, err := Load(filepath.Join(dir, "connection.json"), Options{Expander: template.Engine{}})
	require.Error(t, err)
	assert.Equal(t, "connection.json: expected a regular file, found a named pipe", err.Error())

	outside := filepath.Join(t.TempDir(), "elsewhere.json")
	require.NoError(t, os.WriteFile(outside, []byte(`{"address":"cc:1"}`), 0o600))
	link := filepath.Join(t.TempDir(), "connection.json")
	require.NoError(t, os.Symlink(outside, link))
	_, _, err = Load(link, Options{Expander: template.Engine{}})
	require.Error(t, err)
	assert.Equal(t, "connection.json: expected a regular file, found a symbolic link", err.Error())

	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "ca.pem"), 0o600))
	_, _, err = Parse([]byte(`{"address":"cc:1","tls_required":true,"root_cert_file":"ca.pem"}`), Options{Expander: template.Engine{}, SourceDir: dir})
	require.Error(t, err)
	assert.Equal(t, `connection.json: root_cert_file: "ca.pem": expected a regular file, found a named pipe`, err.Error())
}

func TestDomainAndConfigAreChecked(t *testing.T) {
	_, _, err := Parse([]byte(`{"address":"cc:1","domain":"cc.example.com:443"}`), Options{Expander: template.Engine{}})
	require.Error(t, err)
	assert.Equal(t, `connection.json: domain: expected a host name or IP address, found "cc.example.com:443"; hint: give the name in the chaincode server's TLS certificate, without port or scheme`, err.Error())

	_, _, err = Parse([]byte(`{"address":"{{.peer}}-cc:9999"}`), Options{Expander: template.Engine{}, Config: "{\"peer\":\"p\xff\"}"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG: expected UTF-8 JSON, found invalid UTF-8 at byte 10")
}
