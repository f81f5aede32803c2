package connection

import (
	"encoding/base64"
	"github.com/extbuilder/extbuilder/pkg/connection/template"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
	cases := []struct{ name, addr, want string }{
		{"empty", "", "expected host:port, found an empty string"},
		{"no port", "mycc", `expected host:port, found "mycc"`},
		{"IPv6 without port", "[::1]", `expected host:port, found "[::1]"`},
		{"bare IPv6", "::1:7052", `expected host:port, found "::1:7052"`},
		{"empty host", ":9999", `expected a host before the port, found ":9999"`},
		{"scheme", "grpc://mycc:9999", `found a URL "grpc://mycc:9999"`},
		{"https scheme", "https://mycc:9999/", "found a URL"},
		{"path after port", "mycc:9999/chaincode", `expected a port from 1 to 65535, found "9999/chaincode"`},
		{"path in host", "mycc/cc:9999", `expected a host name or IP address, found "mycc/cc"`},
		{"space in host", "my cc:9999", `found "my cc"`},
		{"control character in host", "my\x00cc:9999", `found "my\x00cc"`},
		{"user info", "me@mycc:9999", `found "me@mycc"`},
		{"port 0", "mycc:0", `from 1 to 65535, found "0"`},
		{"port 65536", "mycc:65536", `found "65536"`},
		{"negative port", "mycc:-1", `found "-1"`},
		{"signed port", "mycc:+80", `found "+80"`},
		{"named port", "mycc:grpc", `found "grpc"`},
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
		{"key after the CA", f.ca.CertPEM + f.client.KeyPEM, []string{"found a private key"}},
		{"garbage", "hello", []string{"expected a PEM certificate, found no PEM block", "-----BEGIN CERTIFICATE-----"}},
		{"a path instead of PEM", "/etc/hyperledger/tls/ca.pem", []string{"found no PEM block"}},
		{"corrupt DER", corrupt, []string{"certificate 1 does not parse"}},
		{"corrupt second", f.ca.CertPEM + corrupt, []string{"certificate 2 does not parse"}},
		{"trailing text", f.ca.CertPEM + "see also ca2.pem\n", []string{"found other text after certificate 1"}},
		{"public key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", []string{`found a "PUBLIC KEY" block`}},
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
	t.Run("empty string counts as missing", func(t *testing.T) {
		_, _, err := parseDoc(t, encode(t, with(tlsDoc, "root_cert", "")), Options{Expander: template.Engine{}})
		fieldError(t, err, "root_cert", "required when tls_required is true")
	})
}

func TestClientAuth(t *testing.T) {
	f := pki()
	accepted := []struct{ name, cert, key string }{
		{"EC key in PKCS#8", f.client.CertPEM, f.client.KeyPEM},
		{"EC key in SEC 1", f.client.CertPEM, f.ecKeyPEM},
		{"openssl ecparam output", f.client.CertPEM, "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n" + f.ecKeyPEM},
		{"RSA key in PKCS#1", f.rsaCertPEM, f.rsaPKCS1PEM},
		{"RSA key in PKCS#8", f.rsaCertPEM, f.rsaPKCS8PEM},
		{"Ed25519 key", f.edCertPEM, f.edPKCS8PEM},
		{"certificate with its chain", f.client.CertPEM + f.ca.CertPEM, f.client.KeyPEM},
		{"key followed by its certificate", f.client.CertPEM, f.client.KeyPEM + f.client.CertPEM},
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
		{"two keys", []any{"client_key", f.client.KeyPEM + f.stranger.KeyPEM}, "client_key", []string{"found more than one"}, true},
		{"text after the key", []any{"client_key", f.client.KeyPEM + "# peer0\n"}, "client_key", []string{"other text after the private key"}, true},
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
