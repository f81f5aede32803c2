// Package check holds the checks that connection.json (pkg/connection) and
// chaincode.json (internal/launch) share: host:port addresses and TLS material in
// PEM. A check returns a *Finding saying what was expected and what was
// found; the caller names the file and the field. Findings never quote PEM.
package check

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/extbuilder/extbuilder/internal/msg"
)

// Finding is one problem with a value.
type Finding struct {
	Problem string // what was expected and what was found
	Hint    string // how to fix it, when there is something useful to say
}

func (f *Finding) Error() string {
	if f.Hint == "" {
		return f.Problem
	}
	return f.Problem + "; hint: " + f.Hint
}

func finding(hint, format string, a ...any) *Finding {
	return &Finding{Problem: fmt.Sprintf(format, a...), Hint: hint}
}

// Address checks host:port as gRPC dials it.
func Address(addr string) *Finding {
	const hint = "write host:port, e.g. \"mycc.example.com:9999\""
	if addr == "" {
		return finding(hint, "expected host:port, found an empty string")
	}
	if strings.Contains(addr, "://") {
		return finding("leave out the scheme: gRPC dials host:port, and TLS is set separately",
			"expected host:port, found a URL %s", msg.Quote(addr))
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return finding(hint, "expected host:port, found %s", msg.Quote(addr))
	}
	if host == "" {
		return finding(hint, "expected a host before the port, found %s", msg.Quote(addr))
	}
	if f := Host(host); f != nil {
		f.Hint = hint
		return f
	}
	// Digits only: Atoi alone takes "+80". (connection.json's DialTarget
	// resolves a sign or a service name first, as Go's dialer does.)
	n, err := strconv.Atoi(port)
	if err != nil || strings.Trim(port, "0123456789") != "" || n < 1 || n > 65535 {
		return finding(hint, "expected a port from 1 to 65535, found %s", msg.Quote(port))
	}
	return nil
}

// Host checks a DNS name or an IP address, as a TLS client verifies it
// against a certificate: ASCII letters, digits, '-' and '_' in dot-separated
// labels of 1 to 63 characters, 253 at most in all.
func Host(h string) *Finding {
	if ip, zone, _ := strings.Cut(h, "%"); net.ParseIP(ip) != nil && (zone == "" || strings.Contains(ip, ":")) {
		return nil // an IPv6 address may carry its zone, as in fe80::1%eth0
	}
	name := strings.TrimSuffix(h, ".")
	ok := len(name) > 0 && len(name) <= 253
	for _, label := range strings.Split(name, ".") {
		ok = ok && len(label) > 0 && len(label) <= 63
		for _, c := range []byte(label) {
			ok = ok && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_')
		}
	}
	if !ok {
		return finding("", "expected a host name or IP address, found %s", msg.Quote(h))
	}
	return nil
}

// Certificates reads one or more PEM CERTIFICATE blocks and nothing else.
func Certificates(text string) ([]*x509.Certificate, *Finding) {
	rest := []byte(text)
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			if strings.Contains(block.Type, "PRIVATE KEY") {
				return nil, finding("a private key does not belong here; never share it", "expected PEM CERTIFICATE blocks, found a private key")
			}
			return nil, finding("", "expected PEM CERTIFICATE blocks, found a %s block", msg.Quote(block.Type))
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, finding("", "certificate %d does not parse: %s", len(certs)+1, msg.Safe(strings.TrimPrefix(err.Error(), "x509: ")))
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, finding("paste the PEM text, starting with -----BEGIN CERTIFICATE-----", "expected a PEM certificate, found no PEM block")
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, finding("", "expected only PEM blocks, found other text after certificate %d", len(certs))
	}
	return certs, nil
}

// PrivateKey accepts what Go's TLS stack (and so the peer and the shims)
// accepts: the first PRIVATE KEY block, other blocks such as openssl's EC
// PARAMETERS skipped, in PKCS#1, PKCS#8 or SEC 1 form whatever its label
// says. Its findings never echo the key, nor name its block (they would read
// like key material to anyone scanning logs for it).
func PrivateKey(text string) (crypto.Signer, *Finding) {
	var block *pem.Block
	other := ""
	rest := []byte(text)
	for block == nil {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if isPrivateKeyType(b.Type) {
			block = b
		} else if other == "" {
			other = b.Type
		}
	}
	switch {
	case block == nil && other == "CERTIFICATE":
		return nil, finding("the certificate belongs in client_cert", "expected a PEM private key, found only a certificate")
	case block == nil && other != "":
		return nil, finding("", "expected a PEM private key, found only a %s block", msg.Quote(other))
	case block == nil:
		return nil, finding("paste the PEM text of the key, including its -----BEGIN and -----END lines", "expected a PEM private key, found no PEM block")
	}
	for {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if isPrivateKeyType(b.Type) {
			return nil, finding("keep only the key that matches client_cert", "expected one PEM private key, found more than one")
		}
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, finding("", "expected only PEM blocks, found other text after the private key")
	}
	if strings.HasPrefix(block.Type, "ENCRYPTED") || strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
		return nil, finding("decrypt it (e.g. openssl pkey -in key.pem -out plain.pem): the peer cannot use a password", "expected an unencrypted private key, found an encrypted one")
	}
	var key any
	var err error
	if key, err = x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
		if key, err = x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
			key, err = x509.ParseECPrivateKey(block.Bytes)
		}
	}
	signer, ok := key.(crypto.Signer)
	if err != nil || !ok {
		return nil, finding("", "expected an RSA, ECDSA or Ed25519 private key in PKCS#1, PKCS#8 or SEC 1 form, found one that does not parse")
	}
	return signer, nil
}

func isPrivateKeyType(t string) bool {
	return t == "PRIVATE KEY" || strings.HasSuffix(t, " PRIVATE KEY")
}

// KeyMatches reports whether key is the private half of cert's public key.
func KeyMatches(key crypto.Signer, cert *x509.Certificate) bool {
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(cert.PublicKey)
}
