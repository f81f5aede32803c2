package connection

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"github.com/extbuilder/extbuilder/pkg/connection/template"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/extbuilder/extbuilder/internal/msg"
)

func TestAddress(t *testing.T) {
	for _, addr := range []string{
		"mycc:9999", "peer0org1-cc.org1.example.com:7052", "10.0.0.1:1", "[::1]:7052",
		"[fe80::1%eth0]:65535", "localhost:09999",
	} {
		t.Run("accepted "+addr, func(t *testing.T) {
			info, _, err := parseDoc(t, encode(t, obj("address", addr)), Options{Expander: template.Engine{}})
			require.NoError(t, err)
			assert.Equal(t, addr, info.Address)
		})
	}
	// Forms the peer's gRPC dials as intended, written as it dials them.
	normalized := []struct{ addr, want, warning string }{
		{"dns:///mycc:9999", "dns:///mycc:9999", ""},
		{"dns:///[::1]:9999", "dns:///[::1]:9999", ""},
		{"DNS:///mycc:9999", "dns:///mycc:9999", "written in the form dns:///host:port"},
		{"dns:mycc:9999", "dns:///mycc:9999", "written in the form dns:///host:port"},
		{"passthrough:///mycc:9999", "mycc:9999", "passthrough:/// is how the peer dials host:port anyway"},
		// Go's dialer resolves a port name; https is 443 in Go's own table.
		{"mycc:https", "mycc:443", `the port "https" is port 443 to the peer`},
		{"dns:///mycc:https", "dns:///mycc:443", `the port "https" is port 443 to the peer`},
		{"mycc:+80", "mycc:80", `the port "+80" is port 80 to the peer`},
	}
	for _, c := range normalized {
		t.Run("accepted "+c.addr, func(t *testing.T) {
			info, warnings, err := parseDoc(t, encode(t, obj("address", c.addr)), Options{})
			require.NoError(t, err)
			assert.Equal(t, c.want, info.Address)
			if c.warning == "" {
				assert.Empty(t, warnings)
				return
			}
			require.Len(t, warnings, 1)
			w := warningFor(t, warnings, "address")
			assert.Equal(t, c.warning+"; written as "+msg.Quote(c.want), w.Problem)
		})
	}
	cases := []struct{ name, addr, want string }{
		{"empty", "", "expected host:port, found an empty string"},
		{"no port", "mycc", `expected host:port, found "mycc" without a port: the peer's dial would fail (missing port in address)`},
		{"IPv6 without port", "[::1]", `expected host:port, found "[::1]"`},
		{"bare IPv6", "::1:7052", `expected host:port, found "::1:7052"`},
		{"empty host", ":9999", `expected a host before the port, found ":9999", with which the peer would dial its own host`},
		// grpc.DialContext (comm.ClientConfig.Dial) has no resolver for
		// these schemes and dials the whole text as host:port.
		{"scheme", "grpc://mycc:9999", `found the URL "grpc://mycc:9999": the peer's gRPC has no resolver for "grpc"`},
		{"https scheme", "https://mycc:9999/", "found the URL"},
		// gRPC's unix resolver would dial a socket on the peer's host.
		{"unix socket", "unix:///var/run/docker.sock", "as a Unix socket on the peer's own file system"},
		{"abstract socket", "unix-abstract:cc", "as a Unix socket"},
		// gRPC's DNS resolver: an authority is the DNS server to ask; no
		// port means 443 (parseTarget in internal/resolver/dns).
		{"DNS server named", "dns://8.8.8.8/mycc:9999", `whose authority "8.8.8.8" the peer's gRPC would use as its DNS server`},
		{"DNS without port", "dns:///mycc", "without a port: gRPC's DNS resolver would dial port 443"},
		{"host named like a scheme", "dns:9999", `which the peer's gRPC reads as its dns resolver and the target "9999"`},
		{"DNS target checked", "dns:///my cc:9999", `found "my cc"`},
		{"path after port", "mycc:9999/chaincode", `expected a port from 1 to 65535, found "9999/chaincode"`},
		{"path in host", "mycc/cc:9999", `expected a host name or IP address, found "mycc/cc"`},
		{"space in host", "my cc:9999", `found "my cc"`},
		{"control character in host", "my\x00cc:9999", `found "my\x00cc"`},
		{"user info", "me@mycc:9999", `found "me@mycc"`},
		{"port 0", "mycc:0", `from 1 to 65535, found "0"`},
		{"port 65536", "mycc:65536", `found "65536"`},
		{"negative port", "mycc:-1", `found "-1"`},
		{"unknown port name", "mycc:no-such-service", `expected a port number, found "no-such-service", which names no TCP service here`},
		{"empty port", "mycc:", `found ""`},
		{"huge port", "mycc:99999999999999999999", "from 1 to 65535"},
		{"PEM pasted in the wrong field", pki().client.KeyPEM, "PEM text"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := parseDoc(t, encode(t, obj("address", c.addr)), Options{Expander: template.Engine{}})
			e := fieldError(t, err, "address", c.want)
			assert.NotEmpty(t, e.Hint)
		})
	}
}

func TestRootCert(t *testing.T) {
	f := pki()
	tlsDoc := obj("address", "mycc:9999", "tls_required", true, "root_cert", f.ca.CertPEM)
	t.Run("one CA", func(t *testing.T) {
		info, warnings, err := parseDoc(t, encode(t, tlsDoc), Options{Expander: template.Engine{}})
		require.NoError(t, err)
		assert.Empty(t, warnings)
		assert.Equal(t, f.ca.CertPEM, info.RootCert)
	})
	t.Run("chain of two", func(t *testing.T) {
		chain := f.ca.CertPEM + f.otherCA.CertPEM
		info, _, err := parseDoc(t, encode(t, with(tlsDoc, "root_cert", chain)), Options{Expander: template.Engine{}})
		require.NoError(t, err)
		assert.Equal(t, chain, info.RootCert)
	})
	t.Run("CRLF line ends", func(t *testing.T) {
		_, _, err := parseDoc(t, encode(t, with(tlsDoc, "root_cert", strings.ReplaceAll(f.ca.CertPEM, "\n", "\r\n"))), Options{Expander: template.Engine{}})
		require.NoError(t, err)
	})
	t.Run("escaped newlines are normalized with a warning", func(t *testing.T) {
		escaped := strings.ReplaceAll(f.ca.CertPEM, "\n", `\n`)
		info, warnings, err := parseDoc(t, encode(t, with(tlsDoc, "root_cert", escaped)), Options{Expander: template.Engine{}})
		require.NoError(t, err)
		assert.Equal(t, f.ca.CertPEM, info.RootCert)
		w := warningFor(t, warnings, "root_cert")
		assert.Contains(t, w.Problem, `\n instead of line breaks`)
	})
	t.Run("expired CA is a warning naming the date", func(t *testing.T) {
		later := f.ca.Cert.NotAfter.Add(24 * time.Hour)
		_, warnings, err := parseDoc(t, encode(t, tlsDoc), Options{Expander: template.Engine{}, Now: later})
		require.NoError(t, err)
		w := warningFor(t, warnings, "root_cert")
		assert.Contains(t, w.Problem, `"test-ca" expired on `+f.ca.Cert.NotAfter.UTC().Format(time.RFC3339))
	})
	corrupt := "-----BEGIN CERTIFICATE-----\n" + base64.StdEncoding.EncodeToString([]byte("not a certificate at all")) + "\n-----END CERTIFICATE-----\n"
	cases := []struct {
		name, value string
		want        []string
	}{
		{"missing", "", []string{"required when tls_required is true", "root_cert_file"}},
		{"private key", f.client.KeyPEM, []string{"expected PEM CERTIFICATE blocks, found a private key", "never share it"}},
		{"EC private key", f.ecKeyPEM, []string{"found a private key"}},
		{"garbage", "hello", []string{"expected a PEM certificate, found no PEM block", "-----BEGIN CERTIFICATE-----"}},
		{"a path instead of PEM", "/etc/hyperledger/tls/ca.pem", []string{"found no PEM block"}},
		// x509.CertPool.AppendCertsFromPEM, which the peer's
		// comm.SecureOptions.TLSConfig calls, skips a certificate that does
		// not parse, a block of another type and a block with PEM headers;
		// with nothing added the peer fails "error adding root certificate".
		{"corrupt DER", corrupt, []string{"found none: it skips block 1 (a CERTIFICATE that does not parse: ", `fails with "error adding root certificate"`}},
		{"public key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", []string{`it skips block 1 (a "PUBLIC KEY" block)`}},
		{"headers", withHeaders(f.ca.CertPEM), []string{"it skips block 1 (a CERTIFICATE with PEM header lines)", "error adding root certificate", "remove the header lines"}},
		{"headers and a key", withHeaders(f.ca.CertPEM) + f.client.KeyPEM, []string{"block 1 (a CERTIFICATE with PEM header lines), block 2 (a private key, which does not belong here: never share it)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := with(tlsDoc, "root_cert", c.value)
			if c.value == "" {
				doc = with(tlsDoc, "root_cert", nil)
			}
			_, _, err := parseDoc(t, encode(t, doc), Options{Expander: template.Engine{}})
			fieldError(t, err, "root_cert", c.want...)
		})
	}
	// What the peer's certificate pool skips beside a certificate it takes
	// is accepted, left out of the released value, with one warning.
	skippedCases := []struct{ name, value, warning string }{
		{"key after the CA", f.ca.CertPEM + f.client.KeyPEM, "block 2 (a private key, which does not belong here: never share it)"},
		{"corrupt second", f.ca.CertPEM + corrupt, "block 2 (a CERTIFICATE that does not parse: "},
		{"headers on the second", f.ca.CertPEM + withHeaders(f.otherCA.CertPEM), "block 2 (a CERTIFICATE with PEM header lines)"},
		{"trailing text", f.ca.CertPEM + "see also ca2.pem\n", "text outside the PEM blocks"},
		{"openssl x509 -text output", "Certificate:\n    Data:\n        Version: 3 (0x2)\n" + f.ca.CertPEM, "text outside the PEM blocks"},
		{"truncated second block", f.ca.CertPEM + f.otherCA.CertPEM[:100], "a PEM block that does not decode"},
	}
	for _, c := range skippedCases {
		t.Run("skipped: "+c.name, func(t *testing.T) {
			info, warnings, err := parseDoc(t, encode(t, with(tlsDoc, "root_cert", c.value)), Options{})
			require.NoError(t, err)
			assert.Equal(t, f.ca.CertPEM, info.RootCert, "only what the peer's pool takes is released")
			require.Len(t, warnings, 1)
			w := warningFor(t, warnings, "root_cert")
			assert.Contains(t, w.Problem, "the peer's certificate pool skips "+c.warning)
			assert.Contains(t, w.Problem, "; left out")
			pool := x509.NewCertPool()
			require.True(t, pool.AppendCertsFromPEM([]byte(c.value)), "the peer takes the value as written")
			assert.True(t, pool.Equal(poolOf(t, info.RootCert)), "the peer's pool is the same from the released value")
		})
	}
	t.Run("empty string counts as missing", func(t *testing.T) {
		_, _, err := parseDoc(t, encode(t, with(tlsDoc, "root_cert", "")), Options{Expander: template.Engine{}})
		fieldError(t, err, "root_cert", "required when tls_required is true")
	})
}

// withHeaders adds a PEM header line to the first block of text.
func withHeaders(text string) string {
	first, rest, _ := strings.Cut(text, "\n")
	return first + "\nComment: issued by ops\n\n" + rest
}

func poolOf(t *testing.T, text string) *x509.CertPool {
	t.Helper()
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM([]byte(text)))
	return pool
}

func TestClientAuth(t *testing.T) {
	f := pki()
	accepted := []struct{ name, cert, key string }{
		{"EC key in PKCS#8", f.client.CertPEM, f.client.KeyPEM},
		{"EC key in SEC 1", f.client.CertPEM, f.ecKeyPEM},
		{"RSA key in PKCS#1", f.rsaCertPEM, f.rsaPKCS1PEM},
		{"RSA key in PKCS#8", f.rsaCertPEM, f.rsaPKCS8PEM},
		{"Ed25519 key", f.edCertPEM, f.edPKCS8PEM},
		{"certificate with its chain", f.client.CertPEM + f.ca.CertPEM, f.client.KeyPEM},
	}
	for _, c := range accepted {
		t.Run("accepted "+c.name, func(t *testing.T) {
			info, warnings, err := parseDoc(t, encode(t, with(mtlsDoc(), "client_cert", c.cert, "client_key", c.key)), Options{Expander: template.Engine{}})
			require.NoError(t, err)
			assert.Empty(t, warnings)
			assert.Equal(t, c.key, info.ClientKey)
			assert.Equal(t, c.cert, info.ClientCert)
		})
	}
	// tls.X509KeyPair, which the peer's comm.SecureOptions.ClientCertificate
	// calls, takes every CERTIFICATE block (headers or not) and the first
	// PRIVATE KEY block, and skips everything else: accepted, left out of
	// the released value, with one warning.
	ecParams := "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
	skippedCases := []struct {
		name, cert, key   string
		field, warning    string
		wantCert, wantKey string
	}{
		{"openssl ecparam output", f.client.CertPEM, ecParams + f.ecKeyPEM, "client_key", `block 1 (a "EC PARAMETERS" block before the key)`, f.client.CertPEM, f.ecKeyPEM},
		{"key followed by its certificate", f.client.CertPEM, f.client.KeyPEM + f.client.CertPEM, "client_key", `block 2 (a "CERTIFICATE" block after the key)`, f.client.CertPEM, f.client.KeyPEM},
		{"two keys", f.client.CertPEM, f.client.KeyPEM + f.stranger.KeyPEM, "client_key", "block 2 (a second private key)", f.client.CertPEM, f.client.KeyPEM},
		{"text after the key", f.client.CertPEM, f.client.KeyPEM + "# peer0\n", "client_key", "text outside the PEM blocks", f.client.CertPEM, f.client.KeyPEM},
		{"certificate and key in one file", f.client.CertPEM + f.client.KeyPEM, f.client.KeyPEM, "client_cert", "block 2 (a private key, which belongs in client_key)", f.client.CertPEM, f.client.KeyPEM},
		{"Bag Attributes from openssl pkcs12", "Bag Attributes\n    friendlyName: peer0\n" + f.client.CertPEM, f.client.KeyPEM, "client_cert", "text outside the PEM blocks", f.client.CertPEM, f.client.KeyPEM},
	}
	for _, c := range skippedCases {
		t.Run("skipped: "+c.name, func(t *testing.T) {
			info, warnings, err := parseDoc(t, encode(t, with(mtlsDoc(), "client_cert", c.cert, "client_key", c.key)), Options{})
			require.NoError(t, err)
			require.Len(t, warnings, 1)
			w := warningFor(t, warnings, c.field)
			assert.Contains(t, w.Problem, "the peer's key pair loading skips "+c.warning+"; left out")
			assert.Equal(t, c.wantCert, info.ClientCert)
			assert.Equal(t, c.wantKey, info.ClientKey)
			asWritten, err := tls.X509KeyPair([]byte(c.cert), []byte(c.key))
			require.NoError(t, err, "the peer takes the pair as written")
			released, err := tls.X509KeyPair([]byte(info.ClientCert), []byte(info.ClientKey))
			require.NoError(t, err)
			assert.Equal(t, asWritten.Certificate, released.Certificate)
			assert.Equal(t, asWritten.PrivateKey, released.PrivateKey)
		})
	}
	t.Run("headers on the client certificate are kept, as the peer uses it", func(t *testing.T) {
		cert := withHeaders(f.client.CertPEM)
		info, warnings, err := parseDoc(t, encode(t, with(mtlsDoc(), "client_cert", cert)), Options{})
		require.NoError(t, err)
		assert.Empty(t, warnings)
		assert.Equal(t, cert, info.ClientCert)
		_, err = tls.X509KeyPair([]byte(cert), []byte(f.client.KeyPEM))
		require.NoError(t, err)
	})
	encrypted := "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----\n"
	legacyEncrypted := "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00000000000000000000000000000000\n\nAAAA\n-----END EC PRIVATE KEY-----\n"
	corruptKey := "-----BEGIN PRIVATE KEY-----\n" + base64.StdEncoding.EncodeToString([]byte("definitely not a key")) + "\n-----END PRIVATE KEY-----\n"
	nb, na := f.notYetValid.Cert.NotBefore.UTC().Format(time.RFC3339), f.expired.Cert.NotAfter.UTC().Format(time.RFC3339)
	nowText := f.now.UTC().Format(time.RFC3339)
	cases := []struct {
		name      string
		change    []any
		field     string
		want      []string
		wantNoKey bool
	}{
		{"key missing", []any{"client_key", nil}, "client_key", []string{"required when client_auth_required is true", "client_key_file"}, false},
		{"key empty", []any{"client_key", ""}, "client_key", []string{"required when client_auth_required is true"}, false},
		{"certificate missing", []any{"client_cert", nil}, "client_cert", []string{"required when client_auth_required is true", "client_cert_file"}, false},
		{"key of someone else", []any{"client_key", f.stranger.KeyPEM}, "client_key", []string{`does not match the public key of client_cert ("peer0-client")`}, true},
		{"RSA key for an EC certificate", []any{"client_key", f.rsaPKCS1PEM}, "client_key", []string{"does not match"}, true},
		{"expired", []any{"client_cert", f.expired.CertPEM, "client_key", f.expired.KeyPEM}, "client_cert",
			[]string{`certificate "old-client" expired on ` + na + " (now " + nowText + ")", "renew"}, true},
		{"not yet valid", []any{"client_cert", f.notYetValid.CertPEM, "client_key", f.notYetValid.KeyPEM}, "client_cert",
			[]string{`certificate "future-client" is not valid before ` + nb + " (now " + nowText + ")", "clocks"}, true},
		{"key in the certificate field", []any{"client_cert", f.client.KeyPEM}, "client_cert", []string{"found a private key"}, true},
		{"certificate in the key field", []any{"client_key", f.client.CertPEM}, "client_key", []string{"expected a PEM private key, found only a certificate", "client_cert"}, false},
		{"garbage key", []any{"client_key", "secret"}, "client_key", []string{"found no PEM block"}, false},
		{"corrupt key", []any{"client_key", corruptKey}, "client_key", []string{"found one that does not parse"}, true},
		// tls.X509KeyPair uses the first private key: the second does not rescue it.
		{"wrong key first", []any{"client_key", f.stranger.KeyPEM + f.client.KeyPEM}, "client_key", []string{"does not match"}, true},
		{"certificate field holds only a public key", []any{"client_cert", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}, "client_cert",
			[]string{`found only a "PUBLIC KEY" block`}, false},
		{"encrypted PKCS#8", []any{"client_key", encrypted}, "client_key", []string{"found an encrypted one", "decrypt"}, false},
		{"encrypted legacy PEM", []any{"client_key", legacyEncrypted}, "client_key", []string{"found an encrypted one"}, false},
		{"garbage certificate", []any{"client_cert", "cert"}, "client_cert", []string{"found no PEM block"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := parseDoc(t, encode(t, with(mtlsDoc(), c.change...)), Options{Expander: template.Engine{}})
			e := fieldError(t, err, c.field, c.want...)
			if c.wantNoKey {
				assert.NotContains(t, e.Error(), "BEGIN", "no PEM armour in messages")
			}
		})
	}
	t.Run("Options.Now decides validity", func(t *testing.T) {
		later := f.client.Cert.NotAfter.Add(time.Minute)
		_, _, err := parseDoc(t, encode(t, mtlsDoc()), Options{Expander: template.Engine{}, Now: later})
		fieldError(t, err, "client_cert", "expired on "+f.client.Cert.NotAfter.UTC().Format(time.RFC3339))
		earlier := f.client.Cert.NotBefore.Add(-time.Minute)
		_, _, err = parseDoc(t, encode(t, mtlsDoc()), Options{Expander: template.Engine{}, Now: earlier})
		fieldError(t, err, "client_cert", "is not valid before")
	})
	t.Run("client material unchecked without client auth", func(t *testing.T) {
		doc := with(mtlsDoc(), "client_auth_required", false, "client_key", "junk")
		_, _, err := parseDoc(t, encode(t, doc), Options{Expander: template.Engine{}})
		require.NoError(t, err, "the peer does not use the client pair without client_auth_required")
	})
}

func TestWarnings(t *testing.T) {
	f := pki()
	cases := []struct {
		name     string
		doc      map[string]any
		fields   []string // fields warned about, in any order
		fragment string
	}{
		{"clean mutual TLS", mtlsDoc(), nil, ""},
		{"clean plain", plainDoc(), nil, ""},
		{"client auth without TLS", obj("address", "h:1", "client_auth_required", true), []string{"client_auth_required"}, "tls_required is false"},
		{"certificates with TLS off", obj("address", "h:1", "root_cert", f.ca.CertPEM), []string{"root_cert"}, "will not use TLS"},
		{"client certificate with TLS off", obj("address", "h:1", "client_cert", f.client.CertPEM), []string{"client_cert"}, "will not use TLS"},
		{"all material with TLS off warns once", with(mtlsDoc(), "tls_required", false, "client_auth_required", nil),
			[]string{"root_cert"}, "will not use TLS"},
		{"TLS explicitly off with client auth", with(mtlsDoc(), "tls_required", false), []string{"root_cert", "client_auth_required"}, ""},
		{"domain with TLS but no client auth", obj("address", "h:1", "tls_required", true, "root_cert", f.ca.CertPEM, "domain", "cc.internal"),
			[]string{"domain"}, "only with tls_required and client_auth_required"},
		{"domain without TLS", obj("address", "h:1", "domain", "cc.internal"), []string{"domain"}, "ignored by the peer"},
		{"domain with mutual TLS", with(mtlsDoc(), "domain", "cc.internal"), nil, ""},
		{"docs' string booleans", with(mtlsDoc(), "tls_required", "true", "client_auth_required", "true"),
			[]string{"tls_required", "client_auth_required"}, "the peer rejects a string here"},
		{"escaped newlines in the key", with(mtlsDoc(), "client_key", strings.ReplaceAll(f.client.KeyPEM, "\n", `\n`)),
			[]string{"client_key"}, "instead of line breaks"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, warnings, err := parseDoc(t, encode(t, c.doc), Options{Expander: template.Engine{}})
			require.NoError(t, err)
			var fields []string
			for _, w := range warnings {
				fields = append(fields, w.Field)
				assert.Equal(t, "connection.json", w.File)
				if c.fragment != "" {
					assert.Contains(t, w.Problem, c.fragment)
				}
			}
			assert.ElementsMatch(t, c.fields, fields, "%v", warnings)
		})
	}
	t.Run("warnings come back with errors too", func(t *testing.T) {
		_, warnings, err := parseDoc(t, encode(t, obj("address", "h:1", "tls_required", "true")), Options{Expander: template.Engine{}})
		fieldError(t, err, "root_cert", "required")
		warningFor(t, warnings, "tls_required")
	})
}
