// Package samples turns readable sample package trees into chaincode
// packages with freshly generated certificates, and redacts those
// certificates and keys again from whatever the builders produce, so that
// golden files stay stable and never hold key material.
//
// A sample tree holds metadata.json and src/ (the contents of code.tar.gz).
// Files under src/ may contain placeholders @@name@@ (a syntax that cannot
// clash with the Go templates of connection.json). In *.json files a
// placeholder becomes the JSON-escaped value, to sit inside a JSON string;
// in any other file it becomes the raw value (a PEM file, say). The names
// are those of PKI.Values plus "padding_1MiB".
package samples

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"time"

	"github.com/extbuilder/extbuilder/internal/testpki"
	"github.com/extbuilder/extbuilder/test/peersim"
)

// PKI is the certificate material of one sample package.
type PKI struct {
	ServerCA *testpki.CA   // signs the chaincode server's TLS certificate: root_cert
	ClientCA *testpki.CA   // signs the peer's client certificate; the server trusts it
	Client   *testpki.Pair // the peer's client identity: client_cert, client_key
	Expired  *testpki.Pair // a client pair that expired in 2021
	Other    *testpki.Pair // another client pair, whose key matches no sample certificate
}

// Fixed dates, so that a message naming them is the same in every run.
var (
	expiredNotBefore = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	expiredNotAfter  = time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
)

// corruptCertificate is a CERTIFICATE block whose body is not a certificate
// ("not a certificate" in base64).
const corruptCertificate = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"

// headerCertificate is a CERTIFICATE block with a PEM header line, which
// the peer's certificate pool skips (its body is corruptCertificate's).
const headerCertificate = "-----BEGIN CERTIFICATE-----\nComment: retired CA, kept for reference\n\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"

// ecParameters is what openssl ecparam writes before a P-256 key.
const ecParameters = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"

// NewPKI generates the material for one package.
func NewPKI() *PKI {
	clientCA := testpki.NewCA("peer client CA")
	return &PKI{
		ServerCA: testpki.NewCA("chaincode server CA"),
		ClientCA: clientCA,
		Client:   clientCA.Client("peer0.org1.example.com"),
		Expired:  clientCA.ClientValid("expired peer client", expiredNotBefore, expiredNotAfter),
		Other:    clientCA.Client("other peer client"),
	}
}

// Values maps placeholder names to PEM text.
func (p *PKI) Values() map[string]string {
	return map[string]string{
		"root_cert":           p.ServerCA.CertPEM,
		"client_cert":         p.Client.CertPEM,
		"client_key":          p.Client.KeyPEM,
		"expired_client_cert": p.Expired.CertPEM,
		"expired_client_key":  p.Expired.KeyPEM,
		"other_client_key":    p.Other.KeyPEM,
		"corrupt_root_cert":   corruptCertificate,
		"header_root_cert":    headerCertificate,
		"ec_parameters":       ecParameters,
	}
}

// labels names each PEM for redaction.
func (p *PKI) labels() map[string]string {
	return map[string]string{
		p.ServerCA.CertPEM: "ca",
		p.ClientCA.CertPEM: "client-ca",
		p.Client.CertPEM:   "client",
		p.Client.KeyPEM:    "client",
		p.Expired.CertPEM:  "expired-client",
		p.Expired.KeyPEM:   "expired-client",
		p.Other.CertPEM:    "other-client",
		p.Other.KeyPEM:     "other-client",
		corruptCertificate: "corrupt",
		headerCertificate:  "with-headers",
		ecParameters:       "ec-parameters",
	}
}

var placeholder = regexp.MustCompile(`@@([a-z0-9_A-Z]+)@@`)

// Fill replaces the placeholders of one file (named name) by their values.
func Fill(name string, data []byte, values map[string]string) ([]byte, error) {
	var missing []string
	out := placeholder.ReplaceAllFunc(data, func(m []byte) []byte {
		key := string(placeholder.FindSubmatch(m)[1])
		v, ok := values[key]
		if key == "padding_1MiB" {
			v, ok = strings.Repeat(" ", 1<<20), true
		}
		if !ok {
			missing = append(missing, key)
			return m
		}
		if strings.HasSuffix(name, ".json") {
			quoted, _ := json.Marshal(v)
			return quoted[1 : len(quoted)-1]
		}
		return []byte(v)
	})
	if len(missing) > 0 {
		return nil, fmt.Errorf("unknown placeholder(s) %s", strings.Join(missing, ", "))
	}
	return out, nil
}

// Pack makes a package from a sample tree: metadata.json as is, src/ packed
// reproducibly as code.tar.gz with placeholders filled from values.
func Pack(tree fs.FS, values map[string]string) (*peersim.Package, error) {
	metadata, err := fs.ReadFile(tree, "metadata.json")
	if err != nil {
		return nil, err
	}
	src, err := fs.Sub(tree, "src")
	if err != nil {
		return nil, err
	}
	code, err := peersim.CodeFromFS(src, func(name string, data []byte) ([]byte, error) {
		return Fill(name, data, values)
	})
	if err != nil {
		return nil, err
	}
	return peersim.NewPackage(metadata, code)
}
