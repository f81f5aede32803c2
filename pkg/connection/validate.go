package connection

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// validate checks the decoded values as the peer will use them. Fields left
// as templates (CheckTemplates) are skipped: their values are not known yet.
func (i *Info) validate(r *report, now time.Time, templated map[string]bool) error {
	if !templated[fieldAddress] {
		if err := validateAddress(r, i.Address); err != nil {
			return err
		}
	}
	// A templated boolean (CheckTemplates) is unknown: neither true nor false.
	tlsKnown, authKnown := !templated[fieldTLSRequired], !templated[fieldClientAuthRequired]
	tlsOff, authOff := tlsKnown && !i.TLSRequired, authKnown && !i.ClientAuthRequired
	if tlsOff {
		for _, f := range []struct{ name, value string }{
			{fieldRootCert, i.RootCert}, {fieldClientCert, i.ClientCert}, {fieldClientKey, i.ClientKey},
		} {
			if f.value != "" || skipped(templated, f.name) {
				r.warn(f.name, "set \"tls_required\": true to use TLS", "ignored by the peer because tls_required is false: the connection will not use TLS")
				break
			}
		}
		if authKnown && i.ClientAuthRequired {
			r.warn(fieldClientAuthRequired, "", "ignored by the peer because tls_required is false")
		}
	}
	if i.Domain != "" && (tlsOff || authOff) {
		r.warn(fieldDomain, "", "ignored by the peer, which applies domain only with tls_required and client_auth_required true")
	}
	if !tlsKnown || !i.TLSRequired {
		return nil
	}
	if !skipped(templated, fieldRootCert) {
		if i.RootCert == "" {
			return r.fail(fieldRootCert, "give the PEM of the CA that signed the chaincode server's TLS certificate, inline or as root_cert_file",
				"required when tls_required is true")
		}
		certs, err := parseCertificates(r, fieldRootCert, i.RootCert)
		if err != nil {
			return err
		}
		for _, c := range certs {
			if now.After(c.NotAfter) {
				r.warn(fieldRootCert, "", "certificate %s expired on %s", quote(c.Subject.CommonName), c.NotAfter.UTC().Format(time.RFC3339))
			}
		}
	}
	if !authKnown || !i.ClientAuthRequired {
		return nil
	}
	return validateClientPair(r, i.ClientCert, i.ClientKey, now, skipped(templated, fieldClientCert), skipped(templated, fieldClientKey))
}

func skipped(templated map[string]bool, name string) bool {
	return templated[name] || templated[pemFiles[name]]
}

func validateAddress(r *report, addr string) error {
	const hint = "write host:port, e.g. \"mycc.example.com:9999\""
	if addr == "" {
		return r.fail(fieldAddress, hint, "expected host:port, found an empty string")
	}
	if strings.Contains(addr, "://") {
		return r.fail(fieldAddress, "leave out the scheme: the peer dials gRPC and tls_required says whether it uses TLS",
			"expected host:port, found a URL %s", quote(addr))
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return r.fail(fieldAddress, hint, "expected host:port, found %s", quote(addr))
	}
	if host == "" {
		return r.fail(fieldAddress, hint, "expected a host before the port, found %s", quote(addr))
	}
	if strings.ContainsAny(host, "/ ?#@") || strings.IndexFunc(host, unicode.IsControl) >= 0 {
		return r.fail(fieldAddress, hint, "expected a host name or IP address, found %s", quote(host))
	}
	// Digits only: Atoi alone takes "+80", which the peer's dialer does not.
	n, err := strconv.Atoi(port)
	if err != nil || strings.Trim(port, "0123456789") != "" || n < 1 || n > 65535 {
		return r.fail(fieldAddress, hint, "expected a port from 1 to 65535, found %s", quote(port))
	}
	return nil
}

// parseCertificates reads one or more PEM CERTIFICATE blocks and nothing else.
func parseCertificates(r *report, name, text string) ([]*x509.Certificate, error) {
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
				return nil, r.fail(name, "a private key does not belong here; never share it", "expected PEM CERTIFICATE blocks, found a private key")
			}
			return nil, r.fail(name, "", "expected PEM CERTIFICATE blocks, found a %s block", quote(block.Type))
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, r.fail(name, "", "certificate %d does not parse: %s", len(certs)+1, safeMessage(strings.TrimPrefix(err.Error(), "x509: ")))
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, r.fail(name, "paste the PEM text, starting with -----BEGIN CERTIFICATE-----", "expected a PEM certificate, found no PEM block")
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, r.fail(name, "", "expected only PEM blocks, found other text after certificate %d", len(certs))
	}
	return certs, nil
}

// validateClientPair checks the peer's client identity: both parts present,
// parsing, matching, and valid now. A part left as a template is skipped.
func validateClientPair(r *report, certPEM, keyPEM string, now time.Time, skipCert, skipKey bool) error {
	const required = "required when client_auth_required is true"
	if !skipCert && certPEM == "" {
		return r.fail(fieldClientCert, "give the peer's client certificate as PEM, inline or as client_cert_file", required)
	}
	if !skipKey && keyPEM == "" {
		return r.fail(fieldClientKey, "give the peer's client private key as PEM, inline or as client_key_file", required)
	}
	var leaf *x509.Certificate
	if !skipCert {
		certs, err := parseCertificates(r, fieldClientCert, certPEM)
		if err != nil {
			return err
		}
		leaf = certs[0]
	}
	if !skipKey {
		key, err := parsePrivateKey(r, keyPEM)
		if err != nil {
			return err
		}
		pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
		if leaf != nil && (!ok || !pub.Equal(leaf.PublicKey)) {
			return r.fail(fieldClientKey, "use the key that was issued with client_cert", "does not match the public key of client_cert (%s)", quote(leaf.Subject.CommonName))
		}
	}
	if leaf == nil {
		return nil
	}
	const layout = time.RFC3339
	if now.Before(leaf.NotBefore) {
		return r.fail(fieldClientCert, "check the clocks, or issue a certificate valid now",
			"certificate %s is not valid before %s (now %s)", quote(leaf.Subject.CommonName), leaf.NotBefore.UTC().Format(layout), now.UTC().Format(layout))
	}
	if now.After(leaf.NotAfter) {
		return r.fail(fieldClientCert, "renew the peer's client certificate",
			"certificate %s expired on %s (now %s)", quote(leaf.Subject.CommonName), leaf.NotAfter.UTC().Format(layout), now.UTC().Format(layout))
	}
	return nil
}

// parsePrivateKey accepts what Go's TLS stack (and so the peer) accepts: the
// first PRIVATE KEY block, other blocks such as openssl's EC PARAMETERS
// skipped, in PKCS#1, PKCS#8 or SEC 1 form whatever its label says. Its
// messages never echo the key, nor name its block (they would read like key
// material to anyone scanning logs for it).
func parsePrivateKey(r *report, text string) (crypto.Signer, error) {
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
		return nil, r.fail(fieldClientKey, "the certificate belongs in client_cert", "expected a PEM private key, found only a certificate")
	case block == nil && other != "":
		return nil, r.fail(fieldClientKey, "", "expected a PEM private key, found only a %s block", quote(other))
	case block == nil:
		return nil, r.fail(fieldClientKey, "paste the PEM text of the key, including its -----BEGIN and -----END lines", "expected a PEM private key, found no PEM block")
	}
	for {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if isPrivateKeyType(b.Type) {
			return nil, r.fail(fieldClientKey, "keep only the key that matches client_cert", "expected one PEM private key, found more than one")
		}
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, r.fail(fieldClientKey, "", "expected only PEM blocks, found other text after the private key")
	}
	if strings.HasPrefix(block.Type, "ENCRYPTED") || strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
		return nil, r.fail(fieldClientKey, "decrypt it (e.g. openssl pkey -in key.pem -out plain.pem): the peer cannot use a password", "expected an unencrypted private key, found an encrypted one")
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
		return nil, r.fail(fieldClientKey, "", "expected an RSA, ECDSA or Ed25519 private key in PKCS#1, PKCS#8 or SEC 1 form, found one that does not parse")
	}
	return signer, nil
}

func isPrivateKeyType(t string) bool {
	return t == "PRIVATE KEY" || strings.HasSuffix(t, " PRIVATE KEY")
}
