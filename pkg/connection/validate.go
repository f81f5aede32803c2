package connection

import (
	"crypto/x509"
	"strings"
	"time"

	"github.com/extbuilder/extbuilder/internal/check"
	"github.com/extbuilder/extbuilder/internal/msg"
)

// validate checks the decoded values as the peer will use them. Fields left
// as templates (CheckTemplates) are skipped: their values are not known yet.
func (i *Info) validate(r *report, now time.Time, templated map[string]bool) error {
	if !templated[fieldAddress] {
		if err := validateAddress(r, &i.Address); err != nil {
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
	if i.Domain != "" && !templated[fieldDomain] {
		if f := check.Host(i.Domain); f != nil {
			f.Hint = "give the name in the chaincode server's TLS certificate, without port or scheme"
			return r.finding(fieldDomain, f)
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
		certs, use, f := check.PoolCertificates(i.RootCert)
		if f != nil {
			return r.finding(fieldRootCert, f)
		}
		i.RootCert = keep(r, fieldRootCert, use, "certificate pool")
		for _, c := range certs {
			if now.After(c.NotAfter) {
				r.warn(fieldRootCert, "", "certificate %s expired on %s", msg.Quote(c.Subject.CommonName), c.NotAfter.UTC().Format(time.RFC3339))
			}
		}
	}
	if !authKnown || !i.ClientAuthRequired {
		return nil
	}
	return validateClientPair(r, &i.ClientCert, &i.ClientKey, now, skipped(templated, fieldClientCert), skipped(templated, fieldClientKey))
}

// keep warns about the parts of a PEM field the peer skips and returns the
// rest, which gives the peer the same certificates and key.
func keep(r *report, field string, use check.PEMUse, reader string) string {
	if len(use.Skipped) > 0 {
		r.warn(field, "", "the peer's %s skips %s; left out", reader, strings.Join(use.Skipped, ", "))
	}
	return use.Kept
}

func skipped(templated map[string]bool, name string) bool {
	return templated[name] || templated[pemFiles[name]]
}

// validateAddress checks the address as the peer's gRPC dials it, and
// writes forms it dials the same way (a port name, passthrough:///) as
// plain host:port.
func validateAddress(r *report, addr *string) error {
	canonical, note, f := check.DialTarget(*addr)
	if f != nil {
		return r.finding(fieldAddress, f)
	}
	if canonical != *addr {
		r.warn(fieldAddress, "", "%s; written as %s", note, msg.Quote(canonical))
		*addr = canonical
	}
	return nil
}

// validateClientPair checks the peer's client identity as tls.X509KeyPair
// reads it: both parts present, parsing, matching, and valid now. A part
// left as a template is skipped. What the peer skips is left out.
func validateClientPair(r *report, certPEM, keyPEM *string, now time.Time, skipCert, skipKey bool) error {
	const required = "required when client_auth_required is true"
	const reader = "key pair loading"
	if !skipCert && *certPEM == "" {
		return r.fail(fieldClientCert, "give the peer's client certificate as PEM, inline or as client_cert_file", required)
	}
	if !skipKey && *keyPEM == "" {
		return r.fail(fieldClientKey, "give the peer's client private key as PEM, inline or as client_key_file", required)
	}
	var leaf *x509.Certificate
	if !skipCert {
		certs, use, f := check.PairCertificates(*certPEM)
		if f != nil {
			return r.finding(fieldClientCert, f)
		}
		*certPEM = keep(r, fieldClientCert, use, reader)
		leaf = certs[0]
	}
	if !skipKey {
		key, use, f := check.PairKey(*keyPEM)
		if f != nil {
			return r.finding(fieldClientKey, f)
		}
		*keyPEM = keep(r, fieldClientKey, use, reader)
		if leaf != nil && !check.KeyMatches(key, leaf) {
			return r.fail(fieldClientKey, "use the key that was issued with client_cert", "does not match the public key of client_cert (%s)", msg.Quote(leaf.Subject.CommonName))
		}
	}
	if leaf == nil {
		return nil
	}
	const layout = time.RFC3339
	if now.Before(leaf.NotBefore) {
		return r.fail(fieldClientCert, "check the clocks, or issue a certificate valid now",
			"certificate %s is not valid before %s (now %s)", msg.Quote(leaf.Subject.CommonName), leaf.NotBefore.UTC().Format(layout), now.UTC().Format(layout))
	}
	if now.After(leaf.NotAfter) {
		return r.fail(fieldClientCert, "renew the peer's client certificate",
			"certificate %s expired on %s (now %s)", msg.Quote(leaf.Subject.CommonName), leaf.NotAfter.UTC().Format(layout), now.UTC().Format(layout))
	}
	return nil
}
