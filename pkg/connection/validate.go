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
)

// validate checks the decoded values as the peer will use them. Fields left
// as templates (CheckTemplates) are skipped: their values are not known yet.
func (i *Info) validate(r *report, now time.Time, templated map[string]bool) error {
	if !templated[fieldAddress] {
		if err := validateAddress(r, i.Address); err != nil {
			return err
		}
	}
	if !i.TLSRequired {
		for _, f := range []struct{ name, value string }{
			{fieldRootCert, i.RootCert}, {fieldClientCert, i.ClientCert}, {fieldClientKey, i.ClientKey},
		} {
			if f.value != "" || templated[f.name] || templated[pemFiles[f.name]] {
				r.warn(f.name, "set \"tls_required\": true to use TLS", "ignored by the peer because tls_required is false: the connection will not use TLS")
				break
			}
		}
		if i.ClientAuthRequired {
			r.warn(fieldClientAuthRequired, "", "ignored by the peer because tls_required is false")
		}
	}
	if i.Domain != "" && !(i.TLSRequired && i.ClientAuthRequired) {
		r.warn(fieldDomain, "", "ignored by the peer, which applies domain only with tls_required and client_auth_required true")
	}
	if !i.TLSRequired {
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
				r.warn(fieldRootCert, "", "certificate %q expired on %s", c.Subject.CommonName, c.NotAfter.UTC().Format(time.RFC3339))
			}
		}
	}
	if !i.ClientAuthRequired || skipped(templated, fieldClientCert) || skipped(templated, fieldClientKey) {
		return nil
	}
	return validateClientPair(r, i.ClientCert, i.ClientKey, now)
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
	if strings.ContainsAny(host, "/ \t\r\n?#@") {
		return r.fail(fieldAddress, hint, "expected a host name or IP address, found %s", quote(host))
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
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
			hint := ""
			if strings.Contains(block.Type, "PRIVATE KEY") {
				hint = "a private key does not belong here; never share it"
			}
			return nil, r.fail(name, hint, "expected PEM CERTIFICATE blocks, found a %q block", block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, r.fail(name, "", "certificate %d does not parse: %s", len(certs)+1, strings.TrimPrefix(err.Error(), "x509: "))
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
// parsing, matching, and valid now.
func validateClientPair(r *report, certPEM, keyPEM string, now time.Time) error {
	const required = "required when client_auth_required is true"
	if certPEM == "" {
		return r.fail(fieldClientCert, "give the peer's client certificate as PEM, inline or as client_cert_file", required)
	}
	if keyPEM == "" {
		return r.fail(fieldClientKey, "give the peer's client private key as PEM, inline or as client_key_file", required)
	}
	certs, err := parseCertificates(r, fieldClientCert, certPEM)
	if err != nil {
		return err
	}
	leaf := certs[0]
	key, err := parsePrivateKey(r, keyPEM)
	if err != nil {
		return err
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(leaf.PublicKey) {
		return r.fail(fieldClientKey, "use the key that was issued with client_cert", "does not match the public key of client_cert (%q)", leaf.Subject.CommonName)
	}
	const layout = time.RFC3339
	if now.Before(leaf.NotBefore) {
		return r.fail(fieldClientCert, "check the clocks, or issue a certificate valid now",
			"certificate %q is not valid before %s (now %s)", leaf.Subject.CommonName, leaf.NotBefore.UTC().Format(layout), now.UTC().Format(layout))
	}
	if now.After(leaf.NotAfter) {
		return r.fail(fieldClientCert, "renew the peer's client certificate",
			"certificate %q expired on %s (now %s)", leaf.Subject.CommonName, leaf.NotAfter.UTC().Format(layout), now.UTC().Format(layout))
	}
	return nil
}

// parsePrivateKey accepts the PEM forms Go's TLS stack accepts. Its errors
// never echo the key.
func parsePrivateKey(r *report, text string) (crypto.Signer, error) {
	block, rest := pem.Decode([]byte(text))
	if block == nil {
		return nil, r.fail(fieldClientKey, "paste the PEM text, starting with -----BEGIN PRIVATE KEY-----", "expected a PEM private key, found no PEM block")
	}
	if !strings.HasSuffix(block.Type, "PRIVATE KEY") {
		return nil, r.fail(fieldClientKey, "", "expected a PEM PRIVATE KEY block, found a %q block", block.Type)
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, r.fail(fieldClientKey, "", "expected one PEM private key, found more text after it")
	}
	var key any
	var err error
	switch block.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	signer, ok := key.(crypto.Signer)
	if err != nil || !ok {
		return nil, r.fail(fieldClientKey, "", "the %s block does not parse as a private key", block.Type)
	}
	return signer, nil
}
